"""The customer list's search, filters and sort orders, shared by the pages and the API."""

import django_filters
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, Q, QuerySet, Value, When
from django.db.models.functions import Collate, Concat, Upper

from customers.models import Account, Audience, BondStage, Customer, Relationship, Tier
from customers.queries import with_open_complaints
from customers.roles import ACCOUNT_MANAGERS

# Churn risk bands as the list shows them: where to look first.
RISK_BANDS = {"low": (0, 33), "medium": (34, 66), "high": (67, 100)}


def name_keys() -> tuple:
    """Surname and first name as the index customer_surname_search holds them.

    Upper case like the search's icontains; on PostgreSQL compared byte by byte (collation
    "C"), where the customers whose surname begins with a word are one range of the index.
    """
    surname, first_name = Upper("last_name"), Upper("first_name")
    if connection.vendor == "postgresql":
        return Collate(surname, "C"), Collate(first_name, "C")
    return surname, first_name


def surname_starts_with(term: str) -> Q:
    """Customers whose surname begins with `term` (on an alias `surname_key` of name_keys()).

    In byte order the surnames beginning with a word are those from the word up to the word
    followed by the last code point: one range of the index. The word is upper-cased by the
    database, like the search's icontains, so these customers always match the search too.
    """
    word = Upper(Value(term))
    low, high = word, Concat(word, Value(chr(0x10FFFF)))
    if connection.vendor == "postgresql":
        low, high = Collate(low, "C"), Collate(high, "C")
    return Q(surname_key__gte=low, surname_key__lte=high)


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
        self.search_terms = value.split()[:5]
        for term in self.search_terms:
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

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # The search goes last, so that what the other filters leave is at hand for a one-word
        # search's best matches (best_match_groups).
        data = self.form.cleaned_data
        searches = [name for name in data if self.filters[name].method == "search"]
        for name in [name for name in data if name not in searches]:
            queryset = self.filters[name].filter(queryset, data[name])
        self.unsearched = queryset
        for name in searches:
            queryset = self.filters[name].filter(queryset, data[name])
        return queryset

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        if self.form.cleaned_data.get("ordering"):
            # A stable tiebreak, so pages never repeat or skip rows.
            return queryset.order_by(*queryset.query.order_by, "id")
        if getattr(self, "search_terms", None):
            # Best match first, in one ORDER BY (exports and segments read it whole); the list
            # reads the same order group by group, see best_match_groups().
            surname, first_name = name_keys()
            return (
                queryset.alias(surname_key=surname)
                .alias(best_match=Case(When(self._best_match(), then=Value(0)), default=Value(1)))
                .order_by("best_match", surname, first_name, "id")
            )
        return queryset.order_by("-churn_risk", "id")

    def _best_match(self) -> Q:
        """Customers whose surname begins with one of the search words."""
        condition = Q()
        for term in self.search_terms:
            condition |= surname_starts_with(term)
        return condition

    def best_match_groups(self) -> list[QuerySet]:
        """The list's rows in the order of `qs`, as querysets to read one after the other.

        A search without a chosen sort lists first the customers whose surname begins with a
        search word, then every other match, each group by name. Read as one sorted query, a
        common surname (10,000 Ashtons) means fetching and sorting every match; as two, the
        first page of a one-word search is ~50 entries of the index customer_surname_search,
        and the other matches (few, or none read at all) are sorted only when a page gets there.
        """
        matches = super().qs  # runs the filters, the search among them
        if self.form.cleaned_data.get("ordering") or not getattr(self, "search_terms", None):
            return [self.qs]
        surname, first_name = name_keys()
        matches = matches.alias(surname_key=surname)
        if len(self.search_terms) == 1:
            # A surname beginning with the word contains it: the search's own conditions would
            # only make PostgreSQL guess too few rows and sort them all instead.
            best = self.unsearched.alias(surname_key=surname)
            best = best.filter(surname_starts_with(self.search_terms[0]))
            best = best.order_by(surname, first_name, "id")
        else:
            # Several words match few customers: sorting them all beats walking the index.
            best = matches.filter(self._best_match()).order_by(*self._sorted_by_name())
        rest = matches.exclude(self._best_match()).order_by(*self._sorted_by_name())
        return [best, rest]

    @staticmethod
    def _sorted_by_name() -> list:
        # The order of name_keys(), but not the index's expressions: sorting the matches found
        # by the trigram indexes must not turn into a walk of every name in the index, which
        # PostgreSQL would pick for a rare word it guesses common.
        keys = [Concat(Upper(name), Value("")) for name in ("last_name", "first_name")]
        if connection.vendor == "postgresql":
            keys = [Collate(key, "C") for key in keys]
        return [*keys, "id"]
