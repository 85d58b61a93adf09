"""The customer list's search, filters and sort orders, shared by the pages and the API."""

from datetime import timedelta

import django_filters
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Collate, Concat, Upper
from django.forms.utils import flatatt
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from customers.contact import normalize_phone
from customers.models import (
    Account,
    Audience,
    BondStage,
    Customer,
    Purchase,
    Relationship,
    Segment,
    Tier,
    TierChange,
)
from customers.queries import visible_customers, with_open_complaints
from customers.roles import ACCOUNT_MANAGERS

# The list's sorts whose indexes run (-field, id); the others run (field, id).
DESCENDING_INDEXES = {"churn_risk", "lifetime_value", "predicted_value_12m"}

# Churn risk bands as the list shows them: where to look first.
RISK_BANDS = {"low": (0, 33), "medium": (34, 66), "high": (67, 100)}


def name_keys() -> tuple:
    """Surname and first name as the indexes customer_surname_search and
    customer_first_name_search hold them.

    Upper case like the search's icontains; on PostgreSQL compared byte by byte (collation
    "C"), where the names beginning with a word are one range of an index.
    """
    surname, first_name = Upper("last_name"), Upper("first_name")
    if connection.vendor == "postgresql":
        return Collate(surname, "C"), Collate(first_name, "C")
    return surname, first_name


def begins_with(key: str, term: str) -> Q:
    """Customers whose name `key` (an alias of one of name_keys()) begins with `term`.

    In byte order the names beginning with a word are those from the word up to the word
    followed by the last code point: one range of the index. The word is upper-cased by the
    database, like the search's icontains, so these customers always match the search too.
    """
    word = Upper(Value(term))
    low, high = word, Concat(word, Value(chr(0x10FFFF)))
    if connection.vendor == "postgresql":
        low, high = Collate(low, "C"), Collate(high, "C")
    return Q(**{f"{key}__gte": low, f"{key}__lte": high})


def sorted_by(*names: str) -> list:
    """The order of name_keys(), but not the indexes' expressions: sorting the matches found by
    the trigram indexes must not turn into a walk of every name in an index, which PostgreSQL
    would pick for a rare word it guesses common."""
    keys = [Concat(Upper(name), Value("")) for name in names]
    if connection.vendor == "postgresql":
        keys = [Collate(key, "C") for key in keys]
    return [*keys, "id"]


class PlainSelect(forms.Select):
    """A select that writes its options itself: through Django's template for each option, the
    200 account managers of the owner filter cost ~30 ms of every list page."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, mark_safe(" selected") if str(key) in chosen else "", label)
                for key, label in self.choices
            ),
        )
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html('<select name="{}"{}>{}</select>', name, attributes, options)


def owners(request=None) -> QuerySet:
    """The people who may own customers (django-filter passes the request)."""
    return (
        get_user_model()
        .objects.filter(Q(groups__name=ACCOUNT_MANAGERS) | Q(is_staff=True), is_active=True)
        .distinct()
        .order_by("username")
        .only("id", "username", "first_name", "last_name")
    )


class OwnerField(forms.ModelChoiceField):
    """Owners by their display name, as everywhere else (the username when they have none)."""

    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


class OwnerFilter(django_filters.ModelChoiceFilter):
    field_class = OwnerField


class WholeNumberFilter(django_filters.NumberFilter):
    """A number filter that takes whole numbers only (days, NPS scores)."""

    field_class = forms.IntegerField


class CustomerFilter(django_filters.FilterSet):
    """Search by name, e-mail, phone or account; filter by rung, owner, kind and risk."""

    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search"))
    tier = django_filters.ModelChoiceFilter(
        queryset=Tier.objects.all(),
        to_field_name="slug",
        empty_label=gettext_lazy("Any tier"),
        widget=PlainSelect,
    )
    owner = OwnerFilter(
        queryset=owners,
        to_field_name="username",
        empty_label=gettext_lazy("Anyone"),
        widget=PlainSelect,
    )
    audience = django_filters.ChoiceFilter(
        choices=Audience.choices, empty_label=gettext_lazy("Any audience")
    )
    relationship = django_filters.ChoiceFilter(
        choices=Relationship.choices, empty_label=gettext_lazy("Any relationship")
    )
    bond = django_filters.ChoiceFilter(
        field_name="bond_stage", choices=BondStage.choices, empty_label=gettext_lazy("Any bond")
    )
    risk = django_filters.ChoiceFilter(
        method="by_risk",
        choices=[(band, band.capitalize()) for band in RISK_BANDS],
        empty_label=gettext_lazy("Any churn risk"),
        label=gettext_lazy("Churn risk"),
    )
    open_complaint = django_filters.BooleanFilter(
        method="by_open_complaint", label=gettext_lazy("Has an open complaint")
    )
    dropping = django_filters.BooleanFilter(
        method="by_dropping", label=gettext_lazy("At risk of dropping a tier")
    )
    tier_moved_days = WholeNumberFilter(
        method="by_tier_moved",
        label=gettext_lazy("Tier moved in the last days"),
        min_value=1,
        max_value=3650,
    )
    bought = django_filters.CharFilter(
        method="by_bought", label=gettext_lazy("Bought the category")
    )
    not_bought = django_filters.CharFilter(
        method="by_not_bought", label=gettext_lazy("Never bought the category")
    )
    nps_min = WholeNumberFilter(
        field_name="nps_latest",
        lookup_expr="gte",
        label=gettext_lazy("Latest NPS from"),
        min_value=0,
        max_value=10,
    )
    nps_max = WholeNumberFilter(
        field_name="nps_latest",
        lookup_expr="lte",
        label=gettext_lazy("Latest NPS up to"),
        min_value=0,
        max_value=10,
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
        label=gettext_lazy("Sort by"),
    )

    class Meta:
        model = Customer
        fields = ["q", "tier", "owner", "audience", "relationship", "bond", "risk"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Every word must match somewhere: "ann lee" finds Ann Lee, not every Ann.
        self.search_terms = value.split()[:5]
        words = Q()
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
            words &= (
                Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
                | Q(email__icontains=term)
                | Q(phone__icontains=term)
                | Q(account_id__in=accounts)
            )
        # A phone number as people write it, "(415) 555-2671" or "020 7946 0018", is stored
        # in E.164 (+14155552671): look it up in that form too.
        try:
            phone = normalize_phone(value, region=settings.PHONE_REGION)
        except ValidationError:
            phone = ""
        return queryset.filter(words | Q(phone=phone) if phone else words)

    def by_risk(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        low, high = RISK_BANDS[value]
        return queryset.filter(churn_risk__gte=low, churn_risk__lte=high)

    def by_open_complaint(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        if value:
            return with_open_complaints(queryset)
        return queryset.exclude(pk__in=with_open_complaints(Customer.objects.all()).values("pk"))

    def by_dropping(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(tier_at_risk_until__isnull=not value)

    def by_tier_moved(self, queryset: QuerySet, name: str, value: int | None) -> QuerySet:
        if value is None:
            return queryset
        since = timezone.now() - timedelta(days=value)
        moves = TierChange.objects.filter(customer=OuterRef("pk"), changed_at__gte=since)
        return queryset.filter(Exists(moves))

    def by_bought(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Exists(self._purchases_in(value)))

    def by_not_bought(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(~Exists(self._purchases_in(value)))

    @staticmethod
    def _purchases_in(category: str) -> QuerySet:
        # Both sides upper-cased by the database (as iexact would), the category by the very
        # expression of the index purchase_customer_upper_cat, so that index answers it.
        return Purchase.objects.alias(category_key=Upper("product_category")).filter(
            customer=OuterRef("pk"), category_key=Upper(Value(category.strip()))
        )

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
            return queryset.order_by(*self._chosen_order(queryset.query.order_by))
        if getattr(self, "search_terms", None):
            # Best match first, in one ORDER BY (exports and segments read it whole); the list
            # reads the same order group by group, see best_match_groups().
            surname, first_name = name_keys()
            surname_first = ~self._begins("first_name_key") | self._begins("surname_key")
            return (
                queryset.alias(surname_key=surname, first_name_key=first_name)
                .alias(
                    best_match=Case(
                        When(self._begins("surname_key"), then=Value(0)),
                        When(self._begins("first_name_key"), then=Value(1)),
                        default=Value(2),
                    ),
                    name_1=Case(When(surname_first, then=surname), default=first_name),
                    name_2=Case(When(surname_first, then=first_name), default=surname),
                )
                .order_by("best_match", "name_1", "name_2", "id")
            )
        return queryset.order_by("-churn_risk", "id")

    def _chosen_order(self, fields) -> list:
        """The sort the user chose, as expressions, and the id as a stable tiebreak, so pages
        never repeat or skip rows."""
        keys, tiebreak = [], "id"
        for field in fields:
            name, descending = field.lstrip("-"), field.startswith("-")
            # By name means by the keys of the index customer_surname_search.
            expressions = list(name_keys()) if name == "last_name" else [F(name)]
            if getattr(self, "search_terms", None):
                # COALESCE(x, x) is x but not the indexes' x: a search sorts its matches, found
                # by the trigram indexes, rather than walk a sort index until enough match,
                # which PostgreSQL picks for a rare word it guesses common (seconds).
                expressions = [Coalesce(e, e) for e in expressions]
            keys += [e.desc() if descending else e.asc() for e in expressions]
            # The id runs the way the field's index reads, forwards or backwards: the other way,
            # 400,000 prospects tied at a lifetime value of 0 would be sorted by id first.
            if descending != (name in DESCENDING_INDEXES):
                tiebreak = "-id"
        return [*keys, tiebreak]

    def _begins(self, key: str) -> Q:
        """Customers whose name `key` begins with one of the search words."""
        condition = Q()
        for term in self.search_terms:
            condition |= begins_with(key, term)
        return condition

    def best_match_groups(self) -> list[QuerySet]:
        """The list's rows in the order of `qs`, as querysets to read one after the other.

        A search without a chosen sort lists first the customers whose surname begins with a
        search word (by surname), then those whose first name does (by first name), then
        every other match (by surname). Read as one sorted query, a common name (13,000
        Ashtons) means fetching and sorting every match; as groups, the first page of a
        one-word search is ~50 entries of the index customer_surname_search (or
        customer_first_name_search), and the other matches are sorted only when a page gets
        there.
        """
        matches = super().qs  # runs the filters, the search among them
        if self.form.cleaned_data.get("ordering") or not getattr(self, "search_terms", None):
            return [self.qs]
        surname, first_name = name_keys()
        keys = {"surname_key": surname, "first_name_key": first_name}
        matches = matches.alias(**keys)
        by_surname, by_first_name = self._begins("surname_key"), self._begins("first_name_key")
        if len(self.search_terms) == 1:
            # A name beginning with the word contains it: the search's own conditions would
            # only make PostgreSQL guess too few rows and sort them all instead.
            unsearched = self.unsearched.alias(**keys)
            best = [
                unsearched.filter(by_surname).order_by(surname, first_name, "id"),
                unsearched.filter(by_first_name)
                .exclude(by_surname)
                .order_by(first_name, surname, "id"),
            ]
        else:
            # Several words match few customers: sorting them all beats walking an index.
            best = [
                matches.filter(by_surname).order_by(*sorted_by("last_name", "first_name")),
                matches.filter(by_first_name)
                .exclude(by_surname)
                .order_by(*sorted_by("first_name", "last_name")),
            ]
        rest = matches.exclude(by_surname).exclude(by_first_name)
        return [*best, rest.order_by(*sorted_by("last_name", "first_name"))]


def add_list_filter(name: str, list_filter: django_filters.Filter) -> None:
    """Offer one more filter on the customer list (and wherever its filters are read).

    For the apps above customers, which know facts customers cannot import (a program's
    enrollments): they add their filters in `AppConfig.ready`, with a callable `method`.
    """
    classes = [CustomerFilter]
    while classes:
        filter_class = classes.pop()
        filter_class.base_filters[name] = list_filter
        classes.extend(filter_class.__subclasses__())


def as_query(filters: dict[str, list[str]]) -> QueryDict:
    """A segment's filters as the list's query parameters."""
    data = QueryDict(mutable=True)
    for name, values in filters.items():
        data.setlist(name, values)
    return data


def segment_filter(segment: Segment) -> CustomerFilter:
    """The customer list's filter a segment saved, over the customers its author sees."""
    return CustomerFilter(as_query(segment.filters), queryset=visible_customers(segment.owner))


def segment_customers(segment: Segment) -> QuerySet[Customer]:
    """The segment's customers in the list's order; none when a saved filter no longer holds
    (a tier or program it named was deleted)."""
    filters = segment_filter(segment)
    if not filters.is_valid():
        return Customer.objects.none()
    return filters.qs
