"""Reads of the NPS app: the score and its groups, the distribution, the response rate, the
verbatims and the detractors still waiting for a call.

Every figure is SQL aggregates, no loop over responses in Python. The answers of everyone (what
marketers see) are read from the tallies that nps.services keeps in step with every write: a
few thousand counts instead of a million answers. Narrower sets (an account manager's own
customers) are counted from the answers themselves. Days and months are the organization's
(settings.TIME_ZONE), so every viewer sees the same figure for a month.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, Substr, TruncMonth
from django.utils import timezone

from customers.models import Audience, FollowUp, Tier
from customers.queries import Page, page_of, sees_everyone, visible_customers
from nps import score
from nps.models import DayTally, GroupTally, Invitation, InvitationTally, Response, Survey
from nps.services import organization_zone

GROUPINGS = ("month", "tier", "audience", "program", "owner")
_GROUP_FIELDS = {
    "tier": "tier_slug",
    "audience": "audience",
    "program": "program_id",
    "owner": "owner_id_at_answer",
}
_NO_KEY_LABELS = {
    "tier": "No tier",
    "audience": "Unknown",
    "program": "Outside programs",
    "owner": "No owner",
}
_DETRACTOR_SOURCE = "detractor:"


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


def _tallied_counts() -> dict[str, Sum]:
    """The three counts added up from tally rows (one row per score)."""
    return {
        "promoters": Sum("answers", filter=Q(score__gte=score.PROMOTER_MIN)),
        "passives": Sum(
            "answers", filter=Q(score__gte=score.PASSIVE_MIN, score__lt=score.PROMOTER_MIN)
        ),
        "detractors": Sum("answers", filter=Q(score__lt=score.PASSIVE_MIN)),
    }


def _summarize(row: dict) -> score.Summary:
    return score.summarize(
        promoters=row["promoters"] or 0,
        passives=row["passives"] or 0,
        detractors=row["detractors"] or 0,
    )


def _from_distribution(counts: list[int]) -> score.Summary:
    return score.summarize(
        promoters=sum(counts[score.PROMOTER_MIN :]),
        passives=sum(counts[score.PASSIVE_MIN : score.PROMOTER_MIN]),
        detractors=sum(counts[: score.PASSIVE_MIN]),
    )


def responses_for(user: AbstractBaseUser) -> QuerySet[Response]:
    """Answers of the customers this user may see.

    Marketers see every answer, those of customers deleted since included (they were given):
    no join with a million customers, and the figures come from the tallies. Account managers
    see their own customers' answers.
    """
    if sees_everyone(user):
        return Response.objects.all()
    return Response.objects.filter(customer__in=visible_customers(user))


def _tallied(responses_qs: QuerySet[Response] | None) -> bool:
    """Whether these are every answer, unfiltered: then the tallies hold their counts."""
    if responses_qs is None:
        return True
    query = responses_qs.query
    return (
        responses_qs.model is Response
        and not query.has_filters()
        and not query.is_sliced
        and not query.distinct
        and not query.combinator
    )


def _day_start(day: date) -> datetime:
    """The moment the organization's day begins."""
    return datetime.combine(day, time(), tzinfo=organization_zone())


def _first_whole_day(since: datetime) -> tuple[date, datetime]:
    """The first of the organization's days that begins at or after `since`, and that moment."""
    local = since.astimezone(organization_zone())
    day = local.date() if local.time() == time() else local.date() + timedelta(days=1)
    return day, _day_start(day)


def _is_month_start(since: datetime | None) -> bool:
    if since is None:
        return True
    local = since.astimezone(organization_zone())
    return local.day == 1 and local.time() == time()


def summary(
    *,
    responses_qs: QuerySet[Response] | None = None,
    since: datetime | None = None,
    audience: str | None = None,
) -> score.Summary:
    """NPS and margin of error of these answers (answered at or after `since`, and in
    `audience` when answered, when given)."""
    return _from_distribution(
        distribution(responses_qs=responses_qs, since=since, audience=audience)
    )


def _in_audience(rows: QuerySet, audience: str | None) -> QuerySet:
    return rows if audience is None else rows.filter(audience=audience)


def distribution(
    *,
    responses_qs: QuerySet[Response] | None = None,
    since: datetime | None = None,
    audience: str | None = None,
) -> list[int]:
    """How many answered 0, 1, ... 10 (at or after `since`, and in `audience` when answered,
    when given): eleven counts from one grouped query (and, from the tallies, one more for a
    `since` inside a day)."""
    if not _tallied(responses_qs):
        answers = _in_audience(responses_qs, audience)
        answers = answers if since is None else answers.filter(answered_at__gte=since)
        return _score_counts(answers)
    edge = [0] * 11
    if _is_month_start(since):
        tally = _whole_months(since, audience)
    else:
        tally = _in_audience(DayTally.objects.all(), audience)
        day, day_starts = _first_whole_day(since)
        tally = tally.filter(day__gte=day)
        if since < day_starts:  # the rest of the day `since` falls in
            answers = Response.objects.filter(answered_at__gte=since, answered_at__lt=day_starts)
            edge = _score_counts(_in_audience(answers, audience))
    counts = dict(
        tally.order_by().values_list("score").annotate(n=Sum("answers")).values_list("score", "n")
    )
    return [counts.get(value, 0) + edge[value] for value in range(11)]


def _score_counts(answers: QuerySet[Response]) -> list[int]:
    counts = dict(
        answers.order_by().values_list("score").annotate(n=Count("id")).values_list("score", "n")
    )
    return [counts.get(value, 0) for value in range(11)]


def grouped(
    *,
    responses_qs: QuerySet[Response] | None = None,
    by: str,
    since: datetime | None = None,
    audience: str | None = None,
    owner: int | None = None,
) -> list[Group]:
    """NPS per month, tier, audience, program or owner (of the answers given at or after
    `since`, in `audience` and recorded with `owner` when given), from one grouped query (plus
    at most one query for the groups' names). Months run in order, tiers up the ladder, the
    rest by size."""
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}, not {by!r}")
    # One owner's whole months are in the tally's owner grouping; anything else of theirs is
    # counted from their answers.
    owner_tallied = by == "month" and audience is None and _is_month_start(since)
    if owner is not None and not (owner_tallied and _tallied(responses_qs)):
        answers = Response.objects.all() if responses_qs is None else responses_qs
        responses_qs = answers.filter(owner_id_at_answer=owner)
    if _tallied(responses_qs) and _is_month_start(since) and (audience is None or by == "month"):
        counted = _tallied_groups(by, since, audience, owner)
    else:
        answers = Response.objects.all() if responses_qs is None else responses_qs
        answers = _in_audience(answers, audience)
        if since is not None:
            answers = answers.filter(answered_at__gte=since)
        key = (
            TruncMonth("answered_at", tzinfo=organization_zone())
            if by == "month"
            else F(_GROUP_FIELDS[by])
        )
        rows = (
            answers.order_by()
            .annotate(group_key=key)
            .values("group_key")
            .annotate(**_category_counts())
            .order_by("group_key")
        )
        counted = [(row["group_key"], _summarize(row)) for row in rows]
    if by == "month":
        return [Group(_month_key(key), f"{key:%b %Y}", summary) for key, summary in counted]
    names, order = _labels(by, [key for key, _ in counted if key not in (None, "")])
    groups = [Group(key, _label(by, key, names), summary) for key, summary in counted]
    if order is not None:
        return sorted(groups, key=lambda g: (g.key not in order, order.get(g.key, 0), g.label))
    return sorted(groups, key=lambda g: (-g.summary.responses, g.label))


def _tallied_groups(
    by: str, since: datetime | None, audience: str | None = None, owner: int | None = None
) -> list[tuple[Any, score.Summary]]:
    """(key, summary) per group from the tallies, keys typed as on the answers."""
    if by == "month":
        rows = (
            _whole_months(since, audience, owner)
            .order_by()
            .values("month")
            .annotate(**_tallied_counts())
            .order_by("month")
        )
        counted = [(row["month"], _summarize(row)) for row in rows]
        return [(month, summary) for month, summary in counted if summary.responses]
    tally = GroupTally.objects.filter(grouping=by)
    if since is not None:
        tally = tally.filter(month__gte=since.astimezone(organization_zone()).date())
    rows = tally.order_by().values("key").annotate(**_tallied_counts()).order_by("key")
    typed = int if by in ("program", "owner") else str
    counted = [
        (typed(row["key"]) if row["key"] else _empty_key(by), _summarize(row)) for row in rows
    ]
    # Groups whose answers all moved elsewhere keep rows of zeros: they are not groups.
    return [(key, summary) for key, summary in counted if summary.responses]


def _whole_months(
    since: datetime | None, audience: str | None, owner: int | None = None
) -> QuerySet[GroupTally]:
    """Tally rows of whole months (from the month `since` begins): those of the audience
    grouping, which counts every answer once, and a few hundred rows a year; or one owner's
    of the owner grouping (answers recorded with them)."""
    if owner is not None:
        tally = GroupTally.objects.filter(grouping="owner", key=str(owner))
    else:
        tally = GroupTally.objects.filter(grouping="audience")
    if audience is not None:
        tally = tally.filter(key=audience)
    if since is not None:
        tally = tally.filter(month__gte=since.astimezone(organization_zone()).date())
    return tally


def _empty_key(by: str) -> Any:
    """The key of answers in no group, as the answers hold it: no id, or a blank text."""
    return None if by in ("program", "owner") else ""


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


def month_start(months: int = 12, today: date | None = None) -> datetime:
    """The moment the earliest of the last `months` months (this one included) began, in the
    organization's time zone."""
    first = _first_month(months=months, today=today)
    return _day_start(first)


def month_keys(months: int = 12, today: date | None = None) -> list[tuple[str, str]]:
    """("YYYY-MM", "Mon YYYY") of each of the last `months` months, this one last."""
    first = _first_month(months=months, today=today)
    moments = [_add_months(first, offset) for offset in range(months)]
    return [(_month_key(month), f"{month:%b %Y}") for month in moments]


def monthly(
    *,
    responses_qs: QuerySet[Response] | None = None,
    months: int = 12,
    today: date | None = None,
    audience: str | None = None,
    owner: int | None = None,
) -> list[Group]:
    """NPS per month over the last `months` months (this one included), months without an
    answer included as empty groups (in `audience`, recorded with `owner`, when given)."""
    first = _first_month(months=months, today=today)
    window = {"by": "month", "since": _day_start(first), "audience": audience, "owner": owner}
    found = {group.key: group for group in grouped(responses_qs=responses_qs, **window)}
    empty = score.summarize(promoters=0, passives=0, detractors=0)
    result = []
    for offset in range(months):
        month = _add_months(first, offset)
        key = _month_key(month)
        result.append(found.get(key) or Group(key, f"{month:%b %Y}", empty))
    return result


def recent_and_monthly(
    *,
    responses_qs: QuerySet[Response],
    since: datetime,
    months: int = 12,
    today: date | None = None,
    audience: str | None = None,
) -> tuple[score.Summary, list[Group]]:
    """A narrow set of answers (one account manager's customers'): their NPS since `since`
    and per month over the last `months` months, as summary() and monthly() count them, from
    one grouped read in which each answer is read once."""
    first = _first_month(months=months, today=today)
    months_start = _day_start(first)
    answers = _in_audience(responses_qs, audience).filter(answered_at__gte=min(since, months_start))
    rows = (
        answers.order_by()
        .annotate(month=TruncMonth("answered_at", tzinfo=organization_zone()))
        .values("month", "score")
        .annotate(
            in_months=Count("id", filter=Q(answered_at__gte=months_start)),
            recent=Count("id", filter=Q(answered_at__gte=since)),
        )
    )
    spread = [0] * 11
    per_month: dict[str, list[int]] = {}
    for row in rows:
        spread[row["score"]] += row["recent"]
        per_month.setdefault(_month_key(row["month"]), [0] * 11)[row["score"]] += row["in_months"]
    trend = []
    for offset in range(months):
        month = _add_months(first, offset)
        counts = per_month.get(_month_key(month), [0] * 11)
        trend.append(Group(_month_key(month), f"{month:%b %Y}", _from_distribution(counts)))
    return _from_distribution(spread), trend


def _first_month(*, months: int, today: date | None) -> date:
    """The first day of the earliest of the last `months` months (this one included)."""
    today = today or timezone.localdate(timezone=organization_zone())
    return _add_months(today.replace(day=1), -(months - 1))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class ResponseRate:
    """Invitations sent since a moment, how many of them were answered, and the share."""

    invitations: int
    responses: int

    @property
    def rate(self) -> float | None:
        return score.response_rate(responses=self.responses, invitations=self.invitations)


def response_rate(
    *,
    since: datetime,
    invitations_qs: QuerySet[Invitation] | None = None,
    audience: str | None = None,
) -> ResponseRate:
    """Invitations sent since `since` (to `audience` when given) and how many of those were
    answered: from the tallies for every invitation (plus the rest of the day `since` falls
    in), else in one query."""
    if invitations_qs is not None:
        return _counted_rate(_in_audience(invitations_qs, audience).filter(sent_at__gte=since))
    day, day_starts = _first_whole_day(since)
    tallied = _in_audience(InvitationTally.objects.filter(day__gte=day), audience).aggregate(
        invitations=Sum("invited"), responses=Sum("answered")
    )
    edge = ResponseRate(0, 0)
    if since < day_starts:
        invitations = Invitation.objects.filter(sent_at__gte=since, sent_at__lt=day_starts)
        edge = _counted_rate(_in_audience(invitations, audience))
    return ResponseRate(
        invitations=(tallied["invitations"] or 0) + edge.invitations,
        responses=(tallied["responses"] or 0) + edge.responses,
    )


def _counted_rate(invitations: QuerySet[Invitation]) -> ResponseRate:
    # The answer's invitation_id, not its id: its unique index answers without the table.
    counts = invitations.order_by().aggregate(
        invitations=Count("id"), responses=Count("response__invitation")
    )
    return ResponseRate(invitations=counts["invitations"], responses=counts["responses"])


def verbatims(
    *,
    category: str | None = None,
    search: str | None = None,
    theme: int | None = None,
    responses_qs: QuerySet[Response] | None = None,
    number: int = 1,
    size: int = 20,
) -> Page:
    """Answers that say something (why, or what would earn a 10), newest first, one page; of
    one theme when given."""
    responses = Response.objects.all() if responses_qs is None else responses_qs
    responses = responses.exclude(why="", improve="")
    if category:
        responses = responses.filter(category=category)
    if theme is not None:
        responses = responses.filter(theme_mentions__theme_id=theme)
    for term in (search or "").split()[:5]:
        responses = responses.filter(Q(why__icontains=term) | Q(improve__icontains=term))
    responses = responses.select_related("customer").only(
        "id",
        "score",
        "category",
        "why",
        "improve",
        "answered_at",
        "customer__id",
        "customer__first_name",
        "customer__last_name",
        "customer__email",
    )
    return page_of(responses.order_by("-answered_at", "-id"), number=number, size=size)


def detractor_follow_ups() -> QuerySet[FollowUp]:
    """Detractors' follow-ups not yet done, of live customers (source "detractor:<answer>")."""
    return FollowUp.objects.filter(
        source__startswith=_DETRACTOR_SOURCE,
        done_at__isnull=True,
        customer__deleted_at__isnull=True,
    )


def open_detractors(
    *, responses_qs: QuerySet[Response] | None = None, limit: int = 50
) -> list[Response]:
    """Detractors whose follow-up is still open, soonest due first, with the customer and their
    owner (and the follow-up's due time as `follow_up_due`), in one query.

    It starts from the open follow-ups (a small partial index), not from every detractor."""
    responses = Response.objects.all() if responses_qs is None else responses_qs
    waiting = detractor_follow_ups()
    if not _tallied(responses_qs):
        waiting = waiting.filter(customer_id__in=responses.values("customer_id"))
    # The follow-up's source is "detractor:<response id>".
    response_ids = (
        waiting.order_by("due_at", "id")
        .annotate(response_id=Cast(Substr("source", len(_DETRACTOR_SOURCE) + 1), BigIntegerField()))
        .values("response_id")[:limit]
    )
    open_follow_up = FollowUp.objects.filter(
        customer_id=OuterRef("customer_id"),  # the (customer, due_at) index narrows it first
        done_at__isnull=True,
        source=Concat(Value(_DETRACTOR_SOURCE), Cast(OuterRef("pk"), output_field=CharField())),
    ).order_by("due_at")
    return list(
        responses.filter(pk__in=Subquery(response_ids), category=Response.Category.DETRACTOR)
        .annotate(follow_up_due=Subquery(open_follow_up.values("due_at")[:1]))
        .select_related("customer__owner")
        .order_by("follow_up_due", "id")
    )


def survey_rows() -> list[Survey]:
    """Every survey with how many were invited and how many answered, in one query (from the
    tallies)."""
    per_survey = InvitationTally.objects.filter(survey=OuterRef("pk")).order_by().values("survey")
    invited = per_survey.annotate(n=Sum("invited")).values("n")
    answered = per_survey.annotate(n=Sum("answered")).values("n")
    return list(
        Survey.objects.annotate(
            invited=Coalesce(Subquery(invited), 0), answered=Coalesce(Subquery(answered), 0)
        ).order_by("-is_active", "name", "id")
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
    start = month_start(months=months, today=today)
    spread = distribution(responses_qs=responses_qs, since=start)
    return Dashboard(
        overall=_from_distribution(spread),
        months=monthly(responses_qs=responses_qs, months=months, today=today),
        distribution=spread,
        groups={
            by: grouped(responses_qs=responses_qs, by=by, since=start)
            for by in ("tier", "audience", "program", "owner")
        },
        rate=response_rate(since=start),
        detractors=open_detractors(responses_qs=responses_qs),
    )
