"""The dashboard's reads: each widget one or two SQL aggregates, whatever the data size.

Org-wide and audience-wide figures over a million customers and millions of touches are summed
from small tallies (bonding.models, kept by bonding.services): the ladder's as of its last
refresh (every minute), the touches' by closed day plus today's touches read live.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    F,
    Lookup,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)

from bonding.days import day_start, utc_day
from bonding.models import (
    DashboardAudience,
    DetractorTally,
    LadderTally,
    OwnerTouchTally,
    TallyState,
    TouchStateTally,
    TouchTally,
)
from bonding.scope import Scope
from customers import queries as customer_queries
from customers.models import Customer, FollowUp, Segment, Tier, TierChange
from nps import queries as nps_queries
from nps import score
from nps.models import Invitation, Response
from programs.models import SENT_STATES, Program, Step, Touch

PERIODS = (30, 90, 365)
# Touches counted as sent: waiting ones (a call to make, a letter to print) went out too.
SENT = [*SENT_STATES, Touch.Status.WAITING]
PROSPECT = "prospect"
ATTENTION_DAYS = 90
MOVES_DAYS = 30


def dashboard_segment(user: AbstractBaseUser) -> Segment | None:
    """The segment the user's dashboard is computed over, while they may still use it."""
    chosen = DashboardAudience.objects.filter(user_id=user.pk).values("segment_id")
    return customer_queries.segments_for(user).filter(pk__in=chosen).first()


def touches_in_states(*, now: datetime) -> QuerySet[Touch]:
    """Touches of live customers due within 7 days, failed or waiting for review."""
    return Touch.objects.filter(
        Q(status=Touch.Status.SCHEDULED, due_at__lt=now + timedelta(days=7))
        | Q(status__in=[Touch.Status.FAILED, Touch.Status.REVIEW]),
        customer__deleted_at__isnull=True,
    )


def tally_state() -> TallyState:
    return TallyState.objects.filter(pk=1).first() or TallyState()


@dataclass
class Rung:
    """One rung of the pyramid."""

    tier: Tier
    count: int
    promoted_in: int
    demoted_out: int
    lifetime_value: Decimal
    share_of_wallet: Decimal | None
    width: float = 0.0


def pyramid(scope: Scope, state: TallyState | None = None) -> list[Rung]:
    """Live customers per rung, with moves in the last 30 days; widest rung at the bottom.
    Read from the ladder tally once it has been filled, else counted live."""
    state = state or tally_state()
    if state.ladder_at is not None and not scope.live:
        per_tier = {
            row["tier"]: row
            for row in LadderTally.objects.filter(scope.customer_filter())
            .values("tier")
            .annotate(
                n=Sum("customers"),
                ltv=Sum("lifetime_value"),
                sow=Sum("share_of_wallet_sum"),
                sow_n=Sum("share_of_wallet_count"),
                up=Sum("promoted_in"),
                down=Sum("demoted_out"),
            )
            .order_by()
        }
    else:
        per_tier = _live_ladder(scope)
    rungs = []
    for tier in Tier.objects.order_by("-rank"):
        row = per_tier.get(tier.pk, {})
        rungs.append(
            Rung(
                tier=tier,
                count=row.get("n") or 0,
                promoted_in=row.get("up") or 0,
                demoted_out=row.get("down") or 0,
                lifetime_value=row.get("ltv") or Decimal(0),
                share_of_wallet=row["sow"] / row["sow_n"] if row.get("sow_n") else None,
            )
        )
    # Drawn as a pyramid: each rung's width grows towards the bottom, scaled by its count.
    for index, rung in enumerate(rungs):
        rung.width = 30 + 70 * (index + 1) / len(rungs) if rungs else 100
    return rungs


def _live_ladder(scope: Scope) -> dict[int, dict]:
    """The pyramid's figures from the raw rows (before the ladder tally's first refresh)."""
    customers = scope.customers()
    per_tier = {
        row["tier"]: row
        for row in customers.values("tier")
        .annotate(
            n=Count("id"),
            ltv=Sum("lifetime_value"),
            sow=Sum("share_of_wallet"),
            sow_n=Count("share_of_wallet"),
        )
        .order_by()
    }
    changes = TierChange.objects.filter(
        changed_at__gte=scope.now - timedelta(days=MOVES_DAYS), customer__in=customers
    )
    for direction, tier_field, key in (("up", "to_tier", "up"), ("down", "from_tier", "down")):
        for tier, n in (
            changes.filter(direction=direction)
            .values(tier_field)
            .annotate(n=Count("id"))
            .order_by()
            .values_list(tier_field, "n")
        ):
            per_tier.setdefault(tier, {})[key] = n
    return per_tier


@dataclass
class NpsWidget:
    """The current NPS with its margin, the 12-month trend and who awaits a call back."""

    current: score.Summary
    trend: list[tuple[str, score.Summary]]
    response_rate: float | None
    detractors_waiting: list[FollowUp] = field(default_factory=list)
    detractors_waiting_count: int = 0
    # When the count was tallied (None: counted now).
    waiting_at: datetime | None = None
    # A marketer's view of one owner: the answers and invitations recorded while the customer
    # was theirs (an account manager's own view counts their customers now).
    by_owner: bool = False


def nps_widget(scope: Scope, state: TallyState | None = None) -> NpsWidget:
    # Everyone's answers, or one audience's (the audience as answered and as invited), are
    # read from the NPS tallies: counts, whatever the number of answers. An account manager's
    # own are their current customers' answers and invitations, as the NPS pages and the API
    # count them (indexes on the customer cover what is counted). A marketer's view of one
    # owner is what was recorded with that owner, each a range of an index on the owner.
    responses = invitations = owner = None
    audience = scope.audience or None
    if scope.live or not scope.sees_everyone:
        # A segment's answers are its customers' now, like an account manager's own.
        mine = (
            scope.customers()
            if scope.live
            else Customer.objects.filter(deleted_at__isnull=True, owner_id=scope.one_owner_id)
        )
        responses = Response.objects.filter(_of_customers(mine))
        invitations = Invitation.objects.filter(_of_customers(mine))
        # Each of their answers read once for both figures: one probe of the index a customer.
        current, months = nps_queries.recent_and_monthly(
            responses_qs=responses, since=scope.since, months=12, audience=audience
        )
    else:
        if scope.owner_id is not None:
            owner = scope.owner_id
            responses = Response.objects.filter(owner_id_at_answer=owner)
            invitations = Invitation.objects.filter(owner_id=owner)
        current = nps_queries.summary(responses_qs=responses, since=scope.since, audience=audience)
        # Whole months of one owner's come from the tally's owner grouping.
        months = nps_queries.monthly(months=12, audience=audience, owner=owner)
    trend = [(group.key, group.summary) for group in months if group.summary.responses]
    rate = nps_queries.response_rate(
        since=scope.since, invitations_qs=invitations, audience=audience
    )
    waiting, count, waiting_at = detractors_waiting(scope, state or tally_state())
    return NpsWidget(
        current=current,
        trend=trend,
        response_rate=rate.rate,
        detractors_waiting=waiting,
        detractors_waiting_count=count,
        waiting_at=waiting_at,
        by_owner=owner is not None,
    )


class _AmongIds(Lookup):
    """`column = ANY(ARRAY(subquery))`: one index scan that walks the ids in order."""

    lookup_name = "among_ids"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = compiler.compile(self.rhs)  # "(SELECT ...)"
        return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]


def _of_customers(customers: QuerySet[Customer]) -> Q | Lookup:
    """Rows (answers, invitations) of these customers. On PostgreSQL their ids in order, as
    an array: the customer index is walked once, several times faster at tens of thousands of
    customers than a nested loop probing it once a customer."""
    if connection.vendor != "postgresql":
        return Q(customer__in=customers)
    return _AmongIds(F("customer_id"), Subquery(customers.order_by("pk").values("pk")))


def detractors_waiting(
    scope: Scope, state: TallyState, *, limit: int = 8
) -> tuple[list[FollowUp], int, datetime | None]:
    """The detractors' follow-ups still open (of live customers in scope), soonest due first,
    how many there are, and as of when that count is (None: now).

    One owner's are those assigned to them (the owner gets the follow-up) of their customers:
    a few from the open follow-ups' assignee index. Everyone's or an audience's are counted in
    the per-minute tally; the first `limit` are read walking the open detractors' due index."""
    waiting = nps_queries.detractor_follow_ups().filter(_on_customer(scope.customer_filter()))
    owner = scope.one_owner_id
    if owner is not None:
        waiting = waiting.filter(assignee_id=owner)
    soonest = list(waiting.select_related("customer", "assignee").order_by("due_at", "id")[:limit])
    if owner is not None or not _states_tallied(state) or scope.live:
        return soonest, waiting.count(), None
    count = DetractorTally.objects.filter(scope.customer_filter()).aggregate(n=Sum("waiting"))
    return soonest, count["n"] or 0, state.ladder_at


@dataclass
class ProgramFunnel:
    """One active program's steps this period: sent and responded."""

    program: Program
    steps: list[dict]


@dataclass
class ProgramsWidget:
    funnels: list[ProgramFunnel]
    due_next_week: dict[str, int]
    failed: int
    review: int
    # The funnels count touches sent since then; the due, failed and review counts are as of
    # `states_at` when read from the tally (None: counted now).
    since: datetime | None = None
    states_at: datetime | None = None


@dataclass
class TouchCounts:
    """Sent (or waiting) touches of live customers in scope, per step and prospect-or-not:
    in the period (sent, responded) and in the attention split's 90 days (sent)."""

    rows: dict[tuple[int, bool], dict[str, int]]

    def step(self, step_id: int) -> tuple[int, int]:
        sent = responded = 0
        for prospect in (False, True):
            row = self.rows.get((step_id, prospect), {})
            sent += row.get("sent", 0)
            responded += row.get("responded", 0)
        return sent, responded

    def attention(self, *, prospect: bool) -> int:
        return sum(row["attention"] for (_, p), row in self.rows.items() if p == prospect)


def window_start(scope: Scope, days: int) -> datetime:
    """The touches' windows are whole UTC days: "last 30 days" is today and the 30 before."""
    return day_start(utc_day(scope.now) - timedelta(days=days))


def touch_counts(scope: Scope, state: TallyState | None = None) -> TouchCounts:
    """Two reads: the tally (closed days, and today up to its last refresh), and the touches
    sent since live. One owner's scope reads the owner tally."""
    state = state or tally_state()
    today = utc_day(scope.now)
    period_start = utc_day(window_start(scope, scope.days))
    attention_start = utc_day(window_start(scope, ATTENTION_DAYS))
    # The tally holds the days before `until` (today, unless beat is late); the rest is live.
    earliest = min(period_start, attention_start)
    until = max(min(state.touches_until or earliest, today), earliest)
    if scope.live:
        # A segment's touches are all read live, over the whole window.
        until = earliest
    # The refresh also tallies its own day up to the moment it ran: read live only after it.
    tally_to, live_from = until, day_start(until)
    checked = state.touches_checked_at
    if not scope.live and state.touches_until == until and checked and utc_day(checked) == until:
        tally_to, live_from = until + timedelta(days=1), checked
    rows: dict[tuple[int, bool], dict[str, int]] = {}

    def add(step: int, prospect: bool, **counts: int | None) -> None:
        row = rows.setdefault((step, prospect), {"sent": 0, "responded": 0, "attention": 0})
        for key, n in counts.items():
            row[key] += n or 0

    tally_model = OwnerTouchTally if scope.one_owner else TouchTally
    # A segment's customers are no group of the tally: none of it is read.
    tally = (
        tally_model.objects.none()
        if scope.live
        else tally_model.objects.filter(scope.customer_filter())
    )
    in_period, in_attention = Q(day__gte=period_start), Q(day__gte=attention_start)
    for row in (
        tally.filter(day__gte=earliest, day__lt=tally_to)
        .values("step", "prospect")
        .annotate(
            period_sent=Sum("sent", filter=in_period),
            period_responded=Sum("responded", filter=in_period),
            attention_sent=Sum("sent", filter=in_attention),
        )
        .order_by()
    ):
        add(
            row["step"],
            row["prospect"],
            sent=row["period_sent"],
            responded=row["period_responded"],
            attention=row["attention_sent"],
        )

    period = Q(sent_at__gte=max(day_start(period_start), live_from))
    attention = Q(sent_at__gte=max(day_start(attention_start), live_from))
    touches = Touch.objects.filter(
        sent_at__gte=live_from, status__in=SENT, customer__deleted_at__isnull=True
    )
    if scope.filtered:
        touches = touches.filter(_on_customer(scope.customer_filter()))
    for row in (
        touches.annotate(
            prospect=Case(
                When(customer__tier__slug=PROSPECT, then=Value(True)), default=Value(False)
            )
        )
        .values("step", "prospect")
        .annotate(
            sent=Count("id", filter=period),
            responded=Count("id", filter=period & Q(responded_at__isnull=False)),
            attention=Count("id", filter=attention),
        )
        .order_by()
    ):
        add(
            row["step"],
            row["prospect"],
            sent=row["sent"],
            responded=row["responded"],
            attention=row["attention"],
        )
    return TouchCounts(rows=rows)


def _on_customer(q: Q) -> Q:
    """A filter on customers' columns, applied through a touch's customer (one join)."""
    children = [
        _on_customer(child) if isinstance(child, Q) else (f"customer__{child[0]}", child[1])
        for child in q.children
    ]
    return Q(*children, _connector=q.connector, _negated=q.negated)


def programs_widget(
    scope: Scope, counts: TouchCounts | None = None, state: TallyState | None = None
) -> ProgramsWidget:
    counts = counts or touch_counts(scope, state)
    funnels: dict[int, ProgramFunnel] = {}
    for step in (
        Step.objects.filter(program__is_active=True)
        .select_related("program")
        .order_by("program__name", "program_id", "order")
    ):
        funnel = funnels.setdefault(step.program_id, ProgramFunnel(program=step.program, steps=[]))
        sent, responded = counts.step(step.pk)
        funnel.steps.append(
            {
                "step": step,
                "sent": sent,
                "responded": responded,
                "rate": responded / sent if sent else None,
            }
        )
    state = state or tally_state()
    due, trouble = touch_states(scope, state)
    # The busiest programs first: a new, quiet program does not push the main one down.
    busiest = sorted(
        funnels.values(), key=lambda f: (-sum(s["sent"] for s in f.steps), f.program.name)
    )
    return ProgramsWidget(
        funnels=busiest,
        due_next_week=due,
        failed=trouble.get("failed", 0),
        review=trouble.get("review", 0),
        since=window_start(scope, scope.days),
        states_at=state.ladder_at if _states_tallied(state) and not scope.live else None,
    )


def _states_tallied(state: TallyState) -> bool:
    """Whether the per-minute tally of touch states and waiting detractors has been filled."""
    return state.ladder_at is not None


def touch_states(scope: Scope, state: TallyState) -> tuple[dict[str, int], dict[str, int]]:
    """Touches of live customers due in the next 7 days by channel; failed and for review.
    Read from the tally of the last refresh; before the first one, counted live, each from a
    small partial index of the touches (COUNT(*) needs no column the index lacks)."""
    if _states_tallied(state) and not scope.live:
        due, trouble = {}, {}
        for row in TouchStateTally.objects.filter(scope.customer_filter()).values(
            "status", "channel", "touches"
        ):
            if row["status"] == Touch.Status.SCHEDULED:
                due[row["channel"]] = due.get(row["channel"], 0) + row["touches"]
            else:
                trouble[row["status"]] = trouble.get(row["status"], 0) + row["touches"]
        return due, trouble
    touches = Touch.objects.filter(customer__deleted_at=None)
    if scope.filtered:
        touches = touches.filter(_on_customer(scope.customer_filter()))
    due = dict(
        touches.filter(status="scheduled", due_at__lt=scope.now + timedelta(days=7))
        .values("channel")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("channel", "n")
    )
    trouble = dict(
        touches.filter(status__in=["failed", "review"])
        .values("status")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("status", "n")
    )
    return due, trouble


@dataclass
class ValueWidget:
    top: list[Customer]
    at_risk: list[Customer]


def value_widget(scope: Scope, *, limit: int = 8) -> ValueWidget:
    """The highest-value customers, and high-value customers most likely to leave."""
    customers = customer_queries.customer_rows(scope.customers())
    top = list(customers.order_by("-lifetime_value", "id")[:limit])
    # "High value": in the top fifth by lifetime value; taken as at least the 80th percentile
    # of the top 500, which an index answers at once.
    threshold = (
        scope.customers()
        .order_by("-lifetime_value")
        .values_list("lifetime_value", flat=True)[99:100]
    )
    floor = next(iter(threshold), Decimal(0))
    at_risk = list(
        customers.filter(lifetime_value__gte=floor, churn_risk__gte=34).order_by(
            "-churn_risk", "id"
        )[:limit]
    )
    return ValueWidget(top=top, at_risk=at_risk)


@dataclass
class AttentionSplit:
    """Where the touches went: current customers versus prospects, against the target."""

    current: int
    prospects: int
    target_current_share: float

    @property
    def current_share(self) -> float | None:
        total = self.current + self.prospects
        return self.current / total if total else None


def attention_split(scope: Scope, counts: TouchCounts | None = None) -> AttentionSplit:
    """Touches sent (or waiting) to live customers in the last 90 days, by whether the
    customer is a prospect now."""
    counts = counts or touch_counts(scope)
    return AttentionSplit(
        current=counts.attention(prospect=False),
        prospects=counts.attention(prospect=True),
        target_current_share=settings.TARGET_CURRENT_CUSTOMER_SHARE,
    )


@dataclass
class Dashboard:
    scope: Scope
    pyramid: list[Rung]
    nps: NpsWidget
    programs: ProgramsWidget
    value: ValueWidget
    attention: AttentionSplit
    # When the ladder tally was last refreshed (None: counted live).
    ladder_at: datetime | None = None


@contextmanager
def one_snapshot(*, read_only: bool = True):
    """Every read of the page sees the same moment: else a tally refresh that commits between
    two of them would count the touches of its last minute twice, in the tally and live.

    Read only, unless the page writes its segment's members to a temporary table (see
    Scope.segment_members): PostgreSQL allows no CREATE in a read-only transaction."""
    if connection.in_atomic_block or connection.vendor != "postgresql":
        # A caller's transaction (tests) decides. SQLite opens every transaction with BEGIN
        # IMMEDIATE here (settings), which would hold the write lock for the whole page: the
        # embedded install reads without one, and may count a refresh's last minute twice.
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            mode = " READ ONLY" if read_only else ""
            cursor.execute(f"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ{mode}")
        yield


def dashboard(scope: Scope) -> Dashboard:
    """Every widget of the marketer's dashboard for one scope."""
    with one_snapshot(read_only=not scope.live):
        return _dashboard(scope)


def _dashboard(scope: Scope) -> Dashboard:
    state = tally_state()
    counts = touch_counts(scope, state)
    return Dashboard(
        scope=scope,
        pyramid=pyramid(scope, state),
        nps=nps_widget(scope, state),
        programs=programs_widget(scope, counts, state),
        value=value_widget(scope),
        attention=attention_split(scope, counts),
        ladder_at=None if scope.live else state.ladder_at,
    )
