"""The customer list's filter that only programs can answer: enrolled in a program, or never.

Customers cannot import programs, so programs adds it to the list's filters (and so to saved
segments) when the app is ready. One select for both ways, "in:<id>" and "out:<id>": one query
of the programs per page, not one per select.
"""

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy

from customers.filters import PlainSelect, add_list_filter
from programs.models import Enrollment, Program


def program_choices() -> list[tuple[str, str]]:
    programs = list(Program.objects.order_by("name", "id").values_list("id", "name"))
    return [
        *((f"in:{pk}", f"Enrolled in {name}") for pk, name in programs),
        *((f"out:{pk}", f"Never enrolled in {name}") for pk, name in programs),
    ]


def by_enrollment(queryset: QuerySet, name: str, value: str) -> QuerySet:
    """Customers who have been enrolled in the program (still in it or not), or never were."""
    if not value:
        return queryset
    way, program_id = value.split(":")
    enrollments = Enrollment.objects.filter(program_id=int(program_id), customer=OuterRef("pk"))
    return queryset.filter(Exists(enrollments) if way == "in" else ~Exists(enrollments))


def add_program_filter() -> None:
    add_list_filter(
        "program",
        django_filters.ChoiceFilter(
            choices=program_choices,
            method=by_enrollment,
            label=gettext_lazy("Program"),
            empty_label=gettext_lazy("Any program"),
            widget=PlainSelect,
        ),
    )
