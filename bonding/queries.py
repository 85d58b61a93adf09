"""The dashboard's reads: each widget one or two SQL aggregates, whatever the data size."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.utils import timezone

from customers import queries as customer_queries
from customers.models import Customer, FollowUp, Tier, TierChange
from nps import queries as nps_queries
from nps import score
from nps.models import Invitation, Response
from programs.models import Program, Step, Touch

PERIODS = (30, 90, 365)


@dataclass(frozen=True)
class Scope:
    """What the dashboard looks at: a period and optional owner and audience filters."""

    user: AbstractBaseUser
    days: int = 30
    owner: str = ""
    audience: str = ""

    def customers(self) -> QuerySet[Customer]:
        customers = customer_queries.visible_customers(self.user)
        if self.owner:
            customers = customers.filter(owner__username=self.owner)
        if self.audience:
            customers = customers.filter(audience=self.audience)
        return customers

    @property
    def filtered(self) -> bool:
        return bool(self.owner or self.audience) or not customer_queries.sees_everyone(self.user)

    @property
    def since(self):
        return timezone.now() - timedelta(days=self.days)


@dataclass
class Rung:
    """One rung of the pyramid."""

    tier: Tier
    count: int
    promoted_in: int
    demoted_out: int
    lifetime_value: Decimal
    share_of_wallet: float | None
    width: float = 0.0


def pyramid(scope: Scope) -> list[Rung]:
    """Customers per rung, with moves in the last 30 days; widest rung at the bottom."""
    customers = scope.customers()
    per_tier = {
        row["tier"]: row
        for row in customers.values("tier")
        .annotate(n=Count("id"), ltv=Sum("lifetime_value"), sow=Avg("share_of_wallet"))
        .order_by()
    }
    month_ago = timezone.now() - timedelta(days=30)
    changes = TierChange.objects.filter(changed_at__gte=month_ago)
    if scope.filtered:
        changes = changes.filter(customer__in=customers)
    ins = dict(
        changes.filter(direction="up").values("to_tier").annotate(n=Count("id"))
        .order_by().values_list("to_tier", "n")
    )  # fmt: skip
    outs = dict(
        changes.filter(direction="down").values("from_tier").annotate(n=Count("id"))
        .order_by().values_list("from_tier", "n")
    )  # fmt: skip
    rungs = []
    for tier in Tier.objects.order_by("-rank"):
        row = per_tier.get(tier.pk, {})
        rungs.append(
            Rung(
                tier=tier,
                count=row.get("n", 0),
                promoted_in=ins.get(tier.pk, 0),
                demoted_out=outs.get(tier.pk, 0),
                lifetime_value=row.get("ltv") or Decimal(0),
                share_of_wallet=float(row["sow"]) if row.get("sow") is not None else None,
            )
        )
    # Drawn as a pyramid: each rung's width grows towards the bottom, scaled by its count.
    for index, rung in enumerate(rungs):
        rung.width = 30 + 70 * (index + 1) / len(rungs) if rungs else 100
    return rungs


@dataclass
class NpsWidget:
    """The current NPS with its margin, the 12-month trend and who awaits a call back."""

    current: score.Summary
    trend: list[tuple[str, score.Summary]]
    response_rate: float | None
    detractors_waiting: list[FollowUp] = field(default_factory=list)
    detractors_waiting_count: int = 0


def nps_widget(scope: Scope) -> NpsWidget:
    # Everyone's answers are read from the NPS tallies (counts, whatever the number of
    # answers); a filtered scope counts its own customers' answers and invitations.
    responses = invitations = None
    if scope.filtered:
        customers = scope.customers()
        responses = Response.objects.filter(customer__in=customers)
        invitations = Invitation.objects.filter(customer__in=customers)
    current = nps_queries.summary(responses_qs=responses, since=scope.since)
    months = nps_queries.monthly(responses_qs=responses, months=12)
    trend = [(group.key, group.summary) for group in months if group.summary.responses]
    rate = nps_queries.response_rate(since=scope.since, invitations_qs=invitations)
    waiting = FollowUp.objects.filter(source__startswith="detractor:", done_at__isnull=True)
    if scope.filtered:
        waiting = waiting.filter(customer__in=scope.customers())
    return NpsWidget(
        current=current,
        trend=trend,
        response_rate=rate.rate,
        detractors_waiting=list(
            waiting.select_related("customer", "assignee").order_by("due_at")[:8]
        ),  # fmt: skip
        detractors_waiting_count=waiting.count(),
    )


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


def programs_widget(scope: Scope) -> ProgramsWidget:
    touches = Touch.objects.all()
    if scope.filtered:
        touches = touches.filter(customer__in=scope.customers())
    rows = (
        touches.filter(sent_at__gte=scope.since, step__program__is_active=True)
        .values("step")
        .annotate(
            sent=Count("id", filter=Q(status__in=["sent", "waiting"])),
            responded=Count("id", filter=Q(responded_at__isnull=False)),
        )
        .order_by()
    )
    by_step = {row["step"]: row for row in rows}
    funnels: dict[int, ProgramFunnel] = {}
    for step in (
        Step.objects.filter(program__is_active=True)
        .select_related("program")
        .order_by("program__name", "program_id", "order")
    ):
        funnel = funnels.setdefault(step.program_id, ProgramFunnel(program=step.program, steps=[]))
        row = by_step.get(step.pk, {})
        sent, responded = row.get("sent", 0), row.get("responded", 0)
        funnel.steps.append({"step": step, "sent": sent, "responded": responded,
                             "rate": responded / sent if sent else None})  # fmt: skip
    now = timezone.now()
    due = dict(
        touches.filter(status="scheduled", due_at__lt=now + timedelta(days=7))
        .values("channel").annotate(n=Count("id")).order_by().values_list("channel", "n")
    )  # fmt: skip
    trouble = touches.filter(status__in=["failed", "review"]).values("status").annotate(
        n=Count("id")).order_by()  # fmt: skip
    trouble = {row["status"]: row["n"] for row in trouble}
    return ProgramsWidget(
        funnels=list(funnels.values()),
        due_next_week=due,
        failed=trouble.get("failed", 0),
        review=trouble.get("review", 0),
    )


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
        .values_list("lifetime_value", flat=True)[99:100]  # fmt: skip
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


def attention_split(scope: Scope) -> AttentionSplit:
    touches = Touch.objects.filter(
        sent_at__gte=timezone.now() - timedelta(days=90), status__in=["sent", "waiting"]
    )
    if scope.filtered:
        touches = touches.filter(customer__in=scope.customers())
    counts = touches.aggregate(
        current=Count("id", filter=~Q(customer__tier__slug="prospect")),
        prospects=Count("id", filter=Q(customer__tier__slug="prospect")),
    )
    return AttentionSplit(
        current=counts["current"],
        prospects=counts["prospects"],
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


def dashboard(scope: Scope) -> Dashboard:
    """Every widget of the marketer's dashboard for one scope."""
    return Dashboard(
        scope=scope,
        pyramid=pyramid(scope),
        nps=nps_widget(scope),
        programs=programs_widget(scope),
        value=value_widget(scope),
        attention=attention_split(scope),
    )
