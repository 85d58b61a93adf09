"""Reads of the NPS app: the score and its groups, the distribution, the response rate, the
verbatims and the detractors still waiting for a call.

Every figure is one SQL aggregate: no function here loops over responses in Python.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import CharField, Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Concat, TruncMonth
from django.utils import timezone

from customers.models import Audience, FollowUp, Tier
from customers.queries import Page, page_of, sees_everyone, visible_customers
from nps import score
from nps.models import Invitation, Response, Survey

GROUPINGS = ("month", "tier", "audience", "program", "owner")
_GROUP_KEYS = {
    "month": TruncMonth("answered_at"),
    "tier": F("tier_slug"),
    "audience": F("audience"),
    "program": F("program_id"),
    "owner": F("owner_id_at_answer"),
}
_NO_KEY_LABELS = {
    "tier": "No tier",
    "audience": "Unknown",
    "program": "Outside programs",
    "owner": "No owner",
}


class Group(NamedTuple):
    """One group of answers: its key (month "YYYY-MM", tier slug, audience, program or owner
    id), what to call it, and its NPS."""

    key: Any
    label: str
    summary: score.Summary


def _category_counts() -> dict[str, Count]:
    """The three counts as aggregate expressions, from the score itself (as score.py does)."""
    return {
        "promoters": Count("id", filter=Q(score__gte=score.PROMOTER_MIN)),
        "passives": Count(
            "id", filter=Q(score__gte=score.PASSIVE_MIN, score__lt=score.PROMOTER_MIN)
        ),
        "detractors": Count("id", filter=Q(score__lt=score.PASSIVE_MIN)),
    }


def responses_for(user: AbstractBaseUser) -> QuerySet[Response]:
    """Answers of the customers this user may see.

    Marketers see every answer, those of customers deleted since included (they were given):
    no join with a million customers. Account managers see their own customers' answers.
    """
    if sees_everyone(user):
        return Response.objects.all()
    return Response.objects.filter(customer__in=visible_customers(user))


def summary(*, responses_qs: QuerySet[Response]) -> score.Summary:
    """NPS and margin of error of these answers, from one aggregate query."""
    counts = responses_qs.order_by().aggregate(**_category_counts())
    return score.summarize(**counts)


def grouped(*, responses_qs: QuerySet[Response], by: str) -> list[Group]:
    """NPS per month, tier, audience, program or owner, from one grouped query (plus at most one
    query for the groups' names). Months run in order, tiers up the ladder, the rest by size."""
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}, not {by!r}")
    rows = list(
        responses_qs.order_by()
        .annotate(group_key=_GROUP_KEYS[by])
        .values("group_key")
        .annotate(**_category_counts())
        .order_by("group_key")
    )
    counted = [
        (
            row["group_key"],
            score.summarize(
                promoters=row["promoters"], passives=row["passives"], detractors=row["detractors"]
            ),
        )
        for row in rows
    ]
    if by == "month":
        return [Group(_month_key(key), f"{key:%b %Y}", summary) for key, summary in counted]
    names, order = _labels(by, [key for key, _ in counted if key not in (None, "")])
    groups = [Group(key, _label(by, key, names), summary) for key, summary in counted]
    if order is not None:
        return sorted(groups, key=lambda g: (g.key not in order, order.get(g.key, 0), g.label))
    return sorted(groups, key=lambda g: (-g.summary.responses, g.label))


def _label(by: str, key: Any, names: dict) -> str:
    if key in (None, ""):
        return _NO_KEY_LABELS[by]
    return names.get(key) or f"{by.capitalize()} {key}"


def _month_key(moment: datetime | date) -> str:
    return f"{moment:%Y-%m}"


def _labels(by: str, keys: list) -> tuple[dict, dict | None]:
    """Names for the keys of a grouping (one query at most) and, for tiers, the ladder order."""
    if by == "audience":
        return dict(Audience.choices), None
    if not keys:
        return {}, None
    if by == "tier":
        tiers = Tier.objects.filter(slug__in=keys).values_list("slug", "name", "rank")
        rows = list(tiers)
        return {slug: name for slug, name, _ in rows}, {slug: rank for slug, _, rank in rows}
    if by == "owner":
        users = get_user_model().objects.filter(pk__in=keys).values_list("pk", "username")
        return dict(users), None
    # Programs sit above nps: looked up by name, never imported.
    try:
        program = apps.get_model("programs", "Program")
    except LookupError:
        return {}, None
    return dict(program.objects.filter(pk__in=keys).values_list("pk", "name")), None


def monthly(
    *, responses_qs: QuerySet[Response], months: int = 12, today: date | None = None
) -> list[Group]:
    """NPS per month over the last `months` months (this one included), months without an
    answer included as empty groups, in the viewer's time zone."""
    first = _first_month(months=months, today=today)
    start = timezone.make_aware(datetime(first.year, first.month, 1))
    found = {
        group.key: group
        for group in grouped(responses_qs=responses_qs.filter(answered_at__gte=start), by="month")
    }
    empty = score.summarize(promoters=0, passives=0, detractors=0)
    result = []
    for offset in range(months):
        month = _add_months(first, offset)
        key = _month_key(month)
        result.append(found.get(key) or Group(key, f"{month:%b %Y}", empty))
    return result


def _first_month(*, months: int, today: date | None) -> date:
    """The first day of the earliest of the last `months` months (this one included)."""
    today = today or timezone.localdate()
    return _add_months(today.replace(day=1), -(months - 1))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def distribution(*, responses_qs: QuerySet[Response]) -> list[int]:
    """How many answered 0, 1, ... 10: eleven counts from one grouped query."""
    counts = dict(
        responses_qs.order_by()
        .values_list("score")
        .annotate(n=Count("id"))
        .values_list("score", "n")
    )
    return [counts.get(value, 0) for value in range(11)]


@dataclass(frozen=True)
class ResponseRate:
    """Invitations sent since a moment, how many of them were answered, and the share."""

    invitations: int
    responses: int

    @property
    def rate(self) -> float | None:
        return score.response_rate(responses=self.responses, invitations=self.invitations)


def response_rate(
    *, since: datetime, invitations_qs: QuerySet[Invitation] | None = None
) -> ResponseRate:
    """Invitations sent since `since` and how many of those were answered, in one query."""
    invitations = Invitation.objects.all() if invitations_qs is None else invitations_qs
    counts = (
        invitations.filter(sent_at__gte=since)
        .order_by()
        .aggregate(invitations=Count("id"), responses=Count("response"))
    )
    return ResponseRate(invitations=counts["invitations"], responses=counts["responses"])


def verbatims(
    *,
    category: str | None = None,
    search: str | None = None,
    responses_qs: QuerySet[Response] | None = None,
    number: int = 1,
    size: int = 20,
) -> Page:
    """Answers that say something (why, or what would earn a 10), newest first, one page."""
    responses = Response.objects.all() if responses_qs is None else responses_qs
    responses = responses.exclude(why="", improve="")
    if category:
        responses = responses.filter(category=category)
    for term in (search or "").split()[:5]:
        responses = responses.filter(Q(why__icontains=term) | Q(improve__icontains=term))
    responses = responses.select_related("customer").only(
        "id", "score", "category", "why", "improve", "answered_at", "customer__id",
        "customer__first_name", "customer__last_name", "customer__email",
    )  # fmt: skip
    return page_of(responses.order_by("-answered_at", "-id"), number=number, size=size)


def open_detractors(
    *, responses_qs: QuerySet[Response] | None = None, limit: int = 50
) -> list[Response]:
    """Detractors whose follow-up is still open, soonest due first, with the customer and their
    owner (and the follow-up's due time as `follow_up_due`), in one query."""
    responses = Response.objects.all() if responses_qs is None else responses_qs
    open_follow_up = FollowUp.objects.filter(
        customer_id=OuterRef("customer_id"),  # the (customer, due_at) index narrows it first
        done_at__isnull=True,
        source=Concat(Value("detractor:"), Cast(OuterRef("pk"), output_field=CharField())),
    ).order_by("due_at")
    return list(
        responses.filter(category=Response.Category.DETRACTOR, customer__deleted_at__isnull=True)
        .annotate(follow_up_due=Subquery(open_follow_up.values("due_at")[:1]))
        .filter(follow_up_due__isnull=False)
        .select_related("customer__owner")
        .order_by("follow_up_due", "id")[:limit]
    )


def survey_rows() -> list[Survey]:
    """Every survey with how many were invited and how many answered, in one query."""
    invited = (
        Invitation.objects.filter(survey=OuterRef("pk"))
        .order_by()
        .values("survey")
        .annotate(n=Count("id"))
        .values("n")
    )
    answered = (
        Response.objects.filter(survey=OuterRef("pk"))
        .order_by()
        .values("survey")
        .annotate(n=Count("id"))
        .values("n")
    )
    return list(
        Survey.objects.annotate(invited=Subquery(invited), answered=Subquery(answered)).order_by(
            "-is_active", "name", "id"
        )
    )


@dataclass(frozen=True)
class Dashboard:
    """The survey dashboard's figures over one window: the NPS, its months, the 0-10 spread,
    the groups, the response rate and the detractors still waiting for a call."""

    overall: score.Summary
    months: list[Group]
    distribution: list[int]
    groups: dict[str, list[Group]]
    rate: ResponseRate
    detractors: list[Response]


def dashboard(
    *, responses_qs: QuerySet[Response], months: int = 12, today: date | None = None
) -> Dashboard:
    """Every figure of the survey dashboard, a fixed number of queries whatever the data."""
    first = _first_month(months=months, today=today)
    start = timezone.make_aware(datetime(first.year, first.month, 1))
    trend = monthly(responses_qs=responses_qs, months=months, today=today)
    window = responses_qs.filter(answered_at__gte=start)
    return Dashboard(
        overall=summary(responses_qs=window),
        months=trend,
        distribution=distribution(responses_qs=window),
        groups={
            by: grouped(responses_qs=window, by=by)
            for by in ("tier", "audience", "program", "owner")
        },
        rate=response_rate(since=start),
        detractors=open_detractors(responses_qs=responses_qs),
    )
