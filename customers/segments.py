"""Writes of saved segments: save the customer list's filter under a name, forget it, and note
each segment's count once a day for its trend."""

from datetime import date

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext

from customers.filters import CustomerFilter, as_query, segment_customers
from customers.models import ListColumns, Segment, SegmentCount
from customers.queries import LIST_COLUMNS

# Parameters of the list that are not part of what a segment means.
NOT_A_FILTER = {"page", "segment", "columns"}


def clean_known(query: str | QueryDict) -> dict[str, list[str]]:
    """The list's filters in `query` that are set, unchecked: the rest of the query dropped."""
    data = QueryDict(query) if isinstance(query, str) else query
    known = set(CustomerFilter.base_filters) - NOT_A_FILTER
    kept = {
        name: [value for value in values if value.strip()]
        for name, values in data.lists()
        if name in known
    }
    return {name: values for name, values in kept.items() if values}


def clean_filters(query: str | QueryDict) -> dict[str, list[str]]:
    """The list's filters in `query` as a segment keeps them; ValidationError naming a bad one."""
    kept = clean_known(query)
    checked = CustomerFilter(as_query(kept))
    if not checked.is_valid():
        raise ValidationError(
            {name: [str(message) for message in errors] for name, errors in checked.errors.items()}
        )
    return kept


def save_segment(*, owner: User, name: str, query: str | QueryDict, now=None) -> Segment:
    """Save the list's filter `query` as the owner's segment `name` (names are the owner's own)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": [gettext("Give the segment a name.")]})
    if len(name) > 120:
        raise ValidationError({"name": [gettext("At most 120 characters.")]})
    filters = clean_filters(query)
    stamp = now or timezone.now()
    try:
        with transaction.atomic():
            return Segment.objects.create(
                owner=owner, name=name, filters=filters, created_at=stamp, updated_at=stamp
            )
    except IntegrityError:
        raise ValidationError(
            {"name": [gettext("You already have a segment with this name.")]}
        ) from None


def delete_segment(*, segment: Segment) -> None:
    """Forget a segment; programs enrolling it continuously stop (their rows go with it)."""
    segment.delete()


def record_counts(*, today: date | None = None) -> int:
    """Note every segment's count for today (once a day, by beat); returns how many were noted.

    Counted exactly, off any request: the trend is what the segment held, not a bound.
    """
    day = today or timezone.localdate()
    noted = 0
    for segment in Segment.objects.select_related("owner"):
        count = segment_customers(segment).order_by().count()
        SegmentCount.objects.update_or_create(
            segment=segment, day=day, defaults={"customers": count}
        )
        noted += 1
    return noted


def choose_columns(*, user: User, columns: list[str]) -> list[str]:
    """Remember the customer list's columns the user wants; ValidationError for an unknown one."""
    unknown = sorted(set(columns) - set(LIST_COLUMNS))
    if unknown:
        raise ValidationError(
            {"columns": [gettext("No such column: %(names)s.") % {"names": ", ".join(unknown)}]}
        )
    kept = [column for column in LIST_COLUMNS if column in columns]
    ListColumns.objects.update_or_create(user=user, defaults={"columns": kept})
    return kept
