"""What the ladder, bond, value and churn rules read about each customer, gathered in a fixed
number of queries for any number of customers (`gather_facts`), or without any for a customer
just created (`new_customer_facts`); and the purchase histories the value model is fitted on."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from customers import churn, ladder, value
from customers.models import (
    Complaint,
    ConsentChange,
    Contract,
    Customer,
    Interaction,
    Purchase,
    Referral,
)


@dataclass(frozen=True)
class CustomerFacts:
    """What the ladder, bond and churn rules need to know about one customer."""

    ladder: ladder.LadderFacts
    churn: churn.ChurnFacts
    lifetime_value: Decimal
    spend_12m: Decimal
    first_purchase_on: date | None
    last_purchase_on: date | None
    purchase_days: int  # distinct days with a purchase: BG/NBD counts buying occasions
    mean_value: float  # mean spend per buying occasion


def ladder_thresholds() -> ladder.Thresholds:
    """The ladder's numbers with the organization's settings applied: the defaults, and the
    tenure that makes a client (settings.LADDER_CLIENT_MIN_TENURE_MONTHS; 0 leaves it off)."""
    return ladder.Thresholds(client_min_tenure_months=settings.LADDER_CLIENT_MIN_TENURE_MONTHS)


def gather_facts(customers: list[Customer], *, today: date) -> dict[int, CustomerFacts]:
    """The facts of many customers at once: one grouped query per table, never one per row."""
    ids = [customer.pk for customer in customers]
    # The qualification window: what a customer did before it no longer earns a rung.
    year_ago = today - timedelta(days=settings.LADDER_WINDOW_DAYS)
    purchases = {
        row["customer_id"]: row
        for row in Purchase.objects.filter(customer_id__in=ids)
        .values("customer_id")
        .annotate(
            count=Count("id"),
            days=Count("purchased_on", distinct=True),
            total=Sum("amount"),
            count_12m=Count("id", filter=Q(purchased_on__gt=year_ago)),
            spend_12m=Sum("amount", filter=Q(purchased_on__gt=year_ago)),
            first=Min("purchased_on"),
            last=Max("purchased_on"),
        )
    }
    contracts = {
        row["customer_id"]: row["ends"]
        for row in Contract.objects.filter(
            customer_id__in=ids, starts_on__lte=today, ends_on__gte=today
        )
        .exclude(renewal_status=Contract.Renewal.CANCELLED)
        .values("customer_id")
        .annotate(ends=Min("ends_on"))
    }
    referrals = {
        row["referrer_id"]: row
        for row in Referral.objects.filter(referrer_id__in=ids)
        .values("referrer_id")
        .annotate(
            # An open code handed out by a program is not a referral until someone is named
            # or converts with it.
            made=Count(
                "id",
                filter=~Q(status=Referral.Status.INVITED, referred_name="", referred_email=""),
            ),
            converted=Count(
                "id",
                filter=Q(status=Referral.Status.CONVERTED)
                & (Q(converted_at__isnull=True) | Q(converted_at__date__gt=year_ago)),
            ),
        )
    }
    open_complaint_dates: dict[int, list[date]] = defaultdict(list)
    resolved_12m: dict[int, int] = defaultdict(int)
    for customer_id, status, opened_at in (
        Complaint.objects.filter(customer_id__in=ids)
        .filter(Q(status=Complaint.Status.OPEN) | Q(resolved_at__date__gt=year_ago))
        .values_list("customer_id", "status", "opened_at")
    ):
        if status == Complaint.Status.OPEN:
            open_complaint_dates[customer_id].append(timezone.localdate(opened_at))
        else:
            resolved_12m[customer_id] += 1
    two_way = Q(direction=Interaction.Direction.INBOUND) | Q(
        channel__in=[
            Interaction.Kind.MEETING,
            Interaction.Kind.SUPPORT,
            Interaction.Kind.CALL,
            Interaction.Kind.CHAT,
        ]
    )
    interactions = {
        row["customer_id"]: row
        for row in Interaction.objects.filter(customer_id__in=ids)
        .values("customer_id")
        .annotate(
            last=Max("occurred_at"),
            last_two_way=Max("occurred_at", filter=two_way),
            last_event=Max("occurred_at", filter=Q(channel=Interaction.Kind.EVENT)),
        )
    }
    latest_sentiment = (
        dict(
            Interaction.objects.filter(customer_id__in=ids)
            .order_by("customer_id", "-occurred_at", "-id")
            .distinct("customer_id")
            .values_list("customer_id", "sentiment")
        )
        if _supports_distinct_on()
        else _latest_sentiment_portable(ids)
    )
    consented = set(
        ConsentChange.objects.filter(customer_id__in=ids, granted=True)
        .order_by()
        .values_list("customer_id", flat=True)
        .distinct()
    )
    return _facts(
        customers,
        today=today,
        purchases=purchases,
        contracts=contracts,
        referrals=referrals,
        open_complaint_dates=open_complaint_dates,
        resolved_12m=resolved_12m,
        interactions=interactions,
        latest_sentiment=latest_sentiment,
        consented=consented,
    )


def new_customer_facts(customer: Customer, *, today: date, consented: bool) -> CustomerFacts:
    """The facts of a customer just created: nothing bought, said, signed or referred yet, and
    consent given or not; no query (create_customer places them with these)."""
    return _facts(
        [customer],
        today=today,
        purchases={},
        contracts={},
        referrals={},
        open_complaint_dates=defaultdict(list),
        resolved_12m=defaultdict(int),
        interactions={},
        latest_sentiment={},
        consented={customer.pk} if consented else set(),
    )[customer.pk]


def _facts(
    customers: list[Customer],
    *,
    today: date,
    purchases: dict[int, dict],
    contracts: dict[int, date],
    referrals: dict[int, dict],
    open_complaint_dates: dict[int, list[date]],
    resolved_12m: dict[int, int],
    interactions: dict[int, dict],
    latest_sentiment: dict[int, str],
    consented: set[int],
) -> dict[int, CustomerFacts]:
    """Each customer's facts from the grouped rows gather_facts read."""
    facts = {}
    for customer in customers:
        bought = purchases.get(customer.pk, {})
        talked = interactions.get(customer.pk, {})
        referred = referrals.get(customer.pk, {})
        contract_ends = contracts.get(customer.pk)
        nps_on = timezone.localdate(customer.nps_latest_at) if customer.nps_latest_at else None
        last_two_way = _day(talked.get("last_two_way"))
        if nps_on and customer.nps_latest is not None:
            # Answering a survey is a two-way exchange too.
            last_two_way = max(filter(None, [last_two_way, nps_on]))
        last_purchase = bought.get("last")
        purchase_days = bought.get("days", 0)
        total = bought.get("total") or Decimal(0)
        gaps = (
            (last_purchase - bought["first"]).days / (purchase_days - 1)
            if purchase_days > 1
            else None
        )
        facts[customer.pk] = CustomerFacts(
            ladder=ladder.LadderFacts(
                today=today,
                purchase_count=bought.get("count", 0),
                purchases_12m=bought.get("count_12m", 0),
                spend_12m=max(bought.get("spend_12m") or Decimal(0), Decimal(0)),
                has_active_contract=contract_ends is not None,
                latest_nps=customer.nps_latest if nps_on else None,
                latest_nps_on=nps_on,
                converted_referrals=referred.get("converted", 0),
                referrals_made=referred.get("made", 0),
                open_complaints=len(open_complaint_dates[customer.pk]),
                stated_preferences=customer.pk in consented,
                last_two_way_on=last_two_way,
                last_community_on=_day(talked.get("last_event")),
                manual_tier_slug=customer.tier.slug if customer.manual_tier_until else None,
                manual_until=customer.manual_tier_until,
                customer_since=bought.get("first"),
            ),
            churn=churn.ChurnFacts(
                today=today,
                days_since_last_purchase=(
                    max((today - last_purchase).days, 0) if last_purchase else None
                ),
                usual_gap_days=gaps,
                purchase_count=bought.get("count", 0),
                probability_alive=customer.probability_alive,
                latest_nps_score=customer.nps_latest if nps_on else None,
                latest_nps_date=nps_on,
                open_complaints=tuple(open_complaint_dates[customer.pk]),
                resolved_complaints_12m=resolved_12m[customer.pk],
                days_since_last_interaction=(
                    max((today - _day(talked["last"])).days, 0) if talked.get("last") else None
                ),
                last_interaction_sentiment=latest_sentiment.get(customer.pk),
                has_active_contract=contract_ends is not None,
                contract_ends_in_days=(contract_ends - today).days if contract_ends else None,
            ),
            lifetime_value=value.lifetime_value(amounts=[total]),
            spend_12m=max(bought.get("spend_12m") or Decimal(0), Decimal(0)),
            first_purchase_on=bought.get("first"),
            last_purchase_on=last_purchase,
            purchase_days=purchase_days,
            mean_value=float(total) / purchase_days if purchase_days else 0.0,
        )
    return facts


def _day(moment: datetime | None) -> date | None:
    return timezone.localdate(moment) if moment else None


def _supports_distinct_on() -> bool:
    from django.db import connection

    return connection.features.can_distinct_on_fields


def _latest_sentiment_portable(ids: list[int]) -> dict[int, str]:
    """SQLite has no DISTINCT ON: keep the newest interaction per customer in Python."""
    latest: dict[int, str] = {}
    for customer_id, sentiment in (
        Interaction.objects.filter(customer_id__in=ids)
        .order_by("customer_id", "-occurred_at", "-id")
        .values_list("customer_id", "sentiment")
    ):
        latest.setdefault(customer_id, sentiment)
    return latest


def purchase_histories(*, today: date) -> dict:
    """Every buying customer's BG/NBD and Gamma-Gamma inputs, from one grouped query.

    Weeks as the unit; frequency counts repeat buying days; mean value is per buying day.
    """
    import numpy as np

    rows = list(
        Purchase.objects.filter(customer__deleted_at__isnull=True, purchased_on__lte=today)
        .values("customer_id")
        .annotate(
            days=Count("purchased_on", distinct=True),
            total=Sum("amount"),
            spend_12m=Sum("amount", filter=Q(purchased_on__gt=today - timedelta(days=365))),
            first=Min("purchased_on"),
            last=Max("purchased_on"),
        )
        .values_list("days", "total", "spend_12m", "first", "last")
    )
    if not rows:
        empty = np.zeros(0)
        return dict.fromkeys(("frequency", "recency", "age", "mean_value", "spend_12m"), empty)
    days, total, spend_12m, first, last = zip(*rows, strict=True)
    days_array = np.array(days, dtype=float)
    first_ordinal = np.array([d.toordinal() for d in first], dtype=float)
    last_ordinal = np.array([d.toordinal() for d in last], dtype=float)
    return {
        "frequency": days_array - 1,
        "recency": (last_ordinal - first_ordinal) / 7,
        "age": (today.toordinal() - first_ordinal) / 7,
        "mean_value": np.array([float(t or 0) for t in total]) / days_array,
        "spend_12m": np.array([max(float(s or 0), 0.0) for s in spend_12m]),
    }
