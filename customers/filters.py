"""The customer list's search, filters and sort orders, shared by the pages and the API."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet

from customers.models import Account, Audience, BondStage, Customer, Relationship, Tier
from customers.queries import with_open_complaints
from customers.roles import ACCOUNT_MANAGERS

# Churn risk bands as the list shows them: where to look first.
RISK_BANDS = {"low": (0, 33), "medium": (34, 66), "high": (67, 100)}


def owners(request=None) -> QuerySet:
    """The people who may own customers (django-filter passes the request)."""
    return (
        get_user_model()
        .objects.filter(Q(groups__name=ACCOUNT_MANAGERS) | Q(is_staff=True), is_active=True)
        .distinct()
        .order_by("username")
        .only("id", "username", "first_name", "last_name")
    )


class CustomerFilter(django_filters.FilterSet):
    """Search by name, e-mail, phone or account; filter by rung, owner, kind and risk."""

    q = django_filters.CharFilter(method="search", label="Search")
    tier = django_filters.ModelChoiceFilter(
        queryset=Tier.objects.all(), to_field_name="slug", empty_label="Any tier"
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=owners, to_field_name="username", empty_label="Anyone"
    )
    audience = django_filters.ChoiceFilter(choices=Audience.choices, empty_label="Any audience")
    relationship = django_filters.ChoiceFilter(
        choices=Relationship.choices, empty_label="Any relationship"
    )
    bond = django_filters.ChoiceFilter(
        field_name="bond_stage", choices=BondStage.choices, empty_label="Any bond"
    )
    risk = django_filters.ChoiceFilter(
        method="by_risk",
        choices=[(band, band.capitalize()) for band in RISK_BANDS],
        empty_label="Any churn risk",
        label="Churn risk",
    )
    open_complaint = django_filters.BooleanFilter(
        method="by_open_complaint", label="Has an open complaint"
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("churn_risk", "churn_risk"),
            ("lifetime_value", "lifetime_value"),
            ("predicted_value_12m", "predicted_value_12m"),
            ("last_name", "name"),
            ("updated_at", "updated_at"),
        ),
        field_labels={
            "churn_risk": "Churn risk",
            "lifetime_value": "Lifetime value",
            "predicted_value_12m": "Predicted value",
            "last_name": "Name",
            "updated_at": "Last change",
        },
        label="Sort by",
    )

    class Meta:
        model = Customer
        fields = ["q", "tier", "owner", "audience", "relationship", "bond", "risk"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Every word must match somewhere: "ann lee" finds Ann Lee, not every Ann.
        for term in value.split()[:5]:
            # A list, not a subquery: inside the OR a subquery makes PostgreSQL guess half the
            # table matches and walk the churn-risk index instead of the trigram indexes.
            # Accounts match where a word of their name starts with the term ("acme", "tools"
            # find "Acme Tools"), at most 50 of them: a surname must not pull in hundreds.
            accounts = list(
                Account.objects.filter(
                    Q(name__istartswith=term) | Q(name__icontains=f" {term}")
                ).values_list("id", flat=True)[:50]
            )
            queryset = queryset.filter(
                Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
                | Q(email__icontains=term)
                | Q(phone__icontains=term)
                | Q(account_id__in=accounts)
            )
        return queryset

    def by_risk(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        low, high = RISK_BANDS[value]
        return queryset.filter(churn_risk__gte=low, churn_risk__lte=high)

    def by_open_complaint(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        if value:
            return with_open_complaints(queryset)
        return queryset.exclude(pk__in=with_open_complaints(Customer.objects.all()).values("pk"))

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        if not self.form.cleaned_data.get("ordering") and self.form.cleaned_data.get("q"):
            # Sorting by an expression keeps PostgreSQL on the trigram indexes: it finds the
            # matches first and sorts only them, instead of walking every customer by risk.
            queryset = queryset.order_by((F("churn_risk") + 0).desc(), "id")
        elif not self.form.cleaned_data.get("ordering"):
            queryset = queryset.order_by("-churn_risk", "id")
        else:
            # A stable tiebreak, so pages never repeat or skip rows.
            queryset = queryset.order_by(*queryset.query.order_by, "id")
        return queryset
