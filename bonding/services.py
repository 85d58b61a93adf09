"""Writes of the project itself: API tokens, and the dashboard's tallies."""

import logging
import secrets
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Count, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext

from bonding.days import day_start, utc_day
from bonding.models import (
    ApiToken,
    DashboardAudience,
    DetractorTally,
    LadderTally,
    OwnerTouchTally,
    TallyState,
    TouchDay,
    TouchStateTally,
    TouchTally,
    hash_key,
)
from bonding.queries import PROSPECT, SENT, touches_in_states
from customers.models import Customer, Segment, TierChange
from nps import queries as nps_queries
from programs.models import Touch

logger = logging.getLogger(__name__)

KEY_PREFIX = "bnd_"


@transaction.atomic
def issue_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it with the key, which is never shown again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": gettext("Name the token after what will use it.")})
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], key_hash=hash_key(key), prefix=key[:10]
    )
    logger.info("api token %s issued to user %s", token.pk, user.pk)
    return token, key


@transaction.atomic
def revoke_token(*, token: ApiToken) -> bool:
    """Revoke a token at once; returns False when it already was."""
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        logger.info("api token %s revoked", token.pk)
    return bool(revoked)


# The dashboard's tallies. The touch tally holds whole UTC days: the longest period (365 days)
# plus the day it starts in and the day before, which a period starting mid-day reads in part.
TALLY_DAYS = 367
# Writes are stamped before they commit: look for changes a little before the last check.
CHANGE_MARGIN = timedelta(minutes=10)


def _state() -> TallyState:
    state, _ = TallyState.objects.select_for_update().get_or_create(pk=1)
    return state


def refresh_dashboard_tallies(*, now: datetime | None = None) -> None:
    """Bring both tallies up to date (the demo and the benchmark call this once)."""
    refresh_ladder_tally(now=now)
    refresh_touch_tally(now=now)


@transaction.atomic
def refresh_ladder_tally(*, now: datetime | None = None) -> int:
    """Count live customers per tier, audience and owner again, with their value and the tier
    moves of the last 30 days, their touches due soon, failed or for review, and their
    detractors awaiting a call; returns how many ladder rows there are."""
    now = now or timezone.now()
    state = _state()
    rows: dict[tuple, LadderTally] = {}

    def row(tier, audience, owner) -> LadderTally:
        key = (tier, audience, owner)
        if key not in rows:
            rows[key] = LadderTally(
                tier_id=tier,
                audience=audience,
                owner_id=owner,
                customers=0,
                lifetime_value=0,
                share_of_wallet_sum=0,
                share_of_wallet_count=0,
            )
        return rows[key]

    live = Customer.objects.filter(deleted_at__isnull=True)
    for r in (
        live.values("tier", "audience", "owner")
        .annotate(
            n=Count("id"),
            ltv=Sum("lifetime_value"),
            sow=Sum("share_of_wallet"),
            sow_n=Count("share_of_wallet"),
        )
        .order_by()
    ):
        tally = row(r["tier"], r["audience"], r["owner"])
        tally.customers, tally.lifetime_value = r["n"], r["ltv"] or 0
        tally.share_of_wallet_sum, tally.share_of_wallet_count = r["sow"] or 0, r["sow_n"]
    moves = TierChange.objects.filter(
        changed_at__gte=now - timedelta(days=30), customer__deleted_at__isnull=True
    )
    for direction, tier_field, column in (
        ("up", "to_tier", "promoted_in"),
        ("down", "from_tier", "demoted_out"),
    ):
        for r in (
            moves.filter(direction=direction, **{f"{tier_field}__isnull": False})
            .values(tier_field, "customer__audience", "customer__owner")
            .annotate(n=Count("id"))
            .order_by()
        ):
            tally = row(r[tier_field], r["customer__audience"], r["customer__owner"])
            setattr(tally, column, r["n"])
    LadderTally.objects.all().delete()
    LadderTally.objects.bulk_create(rows.values(), batch_size=1000)
    TouchStateTally.objects.all().delete()
    TouchStateTally.objects.bulk_create(
        TouchStateTally(
            audience=r["customer__audience"],
            owner_id=r["customer__owner"],
            status=r["status"],
            channel=r["channel"],
            touches=r["n"],
        )
        for r in touches_in_states(now=now)
        .values("customer__audience", "customer__owner", "status", "channel")
        .annotate(n=Count("*"))
        .order_by()
    )
    DetractorTally.objects.all().delete()
    DetractorTally.objects.bulk_create(
        DetractorTally(
            audience=r["customer__audience"], owner_id=r["customer__owner"], waiting=r["n"]
        )
        for r in nps_queries.detractor_follow_ups()
        .values("customer__audience", "customer__owner")
        .annotate(n=Count("*"))
        .order_by()
    )
    state.ladder_at = now
    state.save(update_fields=["ladder_at"])
    return len(rows)


@transaction.atomic
def refresh_touch_tally(*, now: datetime | None = None) -> int:
    """Tally every day closed since the last run (all of them, however long beat was down),
    and tally again each earlier day whose touches changed since: a touch answered, a waiting
    touch done (its sent_at moves to that moment), a touch deleted, a customer whose tier or
    audience changed or who was deleted. Today is tallied up to now. Returns how many closed
    days were tallied."""
    now = now or timezone.now()
    today = utc_day(now)
    first = today - timedelta(days=TALLY_DAYS)
    state = _state()
    until = max(state.touches_until or first, first)
    dirty = {until + timedelta(days=n) for n in range((today - until).days)}
    if state.touches_until and state.touches_checked_at:
        since = state.touches_checked_at - CHANGE_MARGIN
        tallied = Touch.objects.filter(
            status__in=SENT, sent_at__gte=day_start(first), sent_at__lt=day_start(until)
        ).annotate(day=TruncDate("sent_at", tzinfo=UTC))
        # Two reads, each on its own small index: answered since, customers changed since.
        for changed in (Q(responded_at__gte=since), Q(customer__updated_at__gte=since)):
            days = tallied.filter(changed).values_list("day", flat=True).distinct().order_by()
            dirty.update(days)
        # A day whose count differs lost a touch (deleted, or done later) or gained one; the
        # count is read from the touch_sent index alone.
        counts = dict(
            tallied.values("day").annotate(n=Count("*")).values_list("day", "n").order_by()
        )
        kept = dict(TouchDay.objects.filter(day__gte=first).values_list("day", "touches"))
        dirty.update(d for d in counts.keys() | kept.keys() if counts.get(d, 0) != kept.get(d, 0))
    _tally_days(sorted(day for day in dirty if first <= day < today))
    # Today so far, again every run: the page reads live only what was sent since.
    _tally_days([today], through=now)
    for model in (TouchTally, OwnerTouchTally, TouchDay):
        model.objects.filter(day__lt=first).delete()
    state.touches_until, state.touches_checked_at = today, now
    state.save(update_fields=["touches_until", "touches_checked_at"])
    return len(dirty)


def _day_ranges(days: list[date]) -> Q:
    """sent_at within the given days, consecutive days read as one range."""
    ranges: list[list[date]] = []
    for day in days:
        if ranges and ranges[-1][1] == day:
            ranges[-1][1] = day + timedelta(days=1)
        else:
            ranges.append([day, day + timedelta(days=1)])
    q = Q()
    for start, end in ranges:
        q |= Q(sent_at__gte=day_start(start), sent_at__lt=day_start(end))
    return q


def _tally_days(days: list[date], *, through: datetime | None = None) -> None:
    """Replace the tallies of these days with counts of their touches, in one read: the day's
    total (TouchDay) and its splits come from the same snapshot. With `through`, the one day
    is tallied up to that moment only (today), and has no total."""
    if not days:
        return
    sent = Touch.objects.filter(_day_ranges(days), status__in=SENT)
    if through is not None:
        sent = sent.filter(sent_at__lt=through)
    rows = (
        sent.annotate(
            day=TruncDate("sent_at", tzinfo=UTC),
            prospect=Case(
                When(customer__tier__slug=PROSPECT, then=Value(True)), default=Value(False)
            ),
            gone=Case(
                When(customer__deleted_at__isnull=False, then=Value(True)), default=Value(False)
            ),
        )
        .values("day", "step", "customer__audience", "customer__owner", "prospect", "gone")
        .annotate(sent=Count("*"), responded=Count("id", filter=Q(responded_at__isnull=False)))
        .order_by()
    )
    totals: dict[date, int] = dict.fromkeys(days, 0)
    org: dict[tuple, TouchTally] = {}
    owners = []
    for r in rows.iterator(chunk_size=5000):
        totals[r["day"]] += r["sent"]
        if r["gone"]:
            continue
        key = (r["day"], r["step"], r["customer__audience"], r["prospect"])
        tally = org.get(key)
        if tally is None:
            tally = org[key] = TouchTally(
                day=key[0], step_id=key[1], audience=key[2], prospect=key[3], sent=0, responded=0
            )
        tally.sent += r["sent"]
        tally.responded += r["responded"]
        owners.append(
            OwnerTouchTally(
                day=r["day"],
                owner_id=r["customer__owner"],
                step_id=r["step"],
                audience=r["customer__audience"],
                prospect=r["prospect"],
                sent=r["sent"],
                responded=r["responded"],
            )
        )
    for model in (TouchTally, OwnerTouchTally, TouchDay):
        model.objects.filter(day__in=days).delete()
    TouchTally.objects.bulk_create(org.values(), batch_size=2000)
    OwnerTouchTally.objects.bulk_create(owners, batch_size=2000)
    if through is not None:
        return
    TouchDay.objects.bulk_create(
        [TouchDay(day=day, touches=n) for day, n in totals.items()], batch_size=2000
    )


def choose_dashboard_audience(*, user: User, segment: Segment | None) -> None:
    """Remember the segment the user's dashboard is computed over (None: everyone)."""
    if segment is None:
        DashboardAudience.objects.filter(user=user).delete()
        return
    DashboardAudience.objects.update_or_create(user=user, defaults={"segment": segment})
