"""The NPS demo: a year of survey invitations, answers and detractor calls for the demo
customers. The invitations are made by `services.invite` with its clock moved back; the words
customers say come from demo_answers.json."""

import json
import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from customers import activity, valuation
from customers.models import (
    Audience,
    BondChange,
    Channel,
    Complaint,
    Customer,
    Referral,
    Reward,
    TierChange,
    TimelineEntry,
)
from nps import mail, score, services
from nps.models import Invitation, Response, Survey

# The customers seeder's external ids start so: only its customers are surveyed.
DEMO_PREFIX = "demo-"
# The marketer's monthly pulse: each month a slice of the buyers not asked lately is invited.
PULSE_SHARE = 0.25
PULSE_MONTHS = 12
# A detractor's follow-up is still open when the answer is this recent; older ones were done.
OPEN_DETRACTOR_DAYS = 7
# What customers say, by kind of answer (a data file: words, not code).
ANSWERS = json.loads(Path(__file__).with_name("demo_answers.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SurveyTouch:
    """A program touch that asked a customer the survey: the programs seeder names them, since
    programs sit above nps."""

    touch_id: int
    customer_id: int
    channel: str
    sent_at: datetime
    program_id: int


@dataclass
class _Answer:
    """One invitation of the demo survey, and the answer it got if any."""

    invitation: Invitation
    customer: Customer
    answered_at: datetime | None = None
    score: int = 0
    why: str = ""
    improve: str = ""


@transaction.atomic
def seed_surveys(*, touches: Iterable[SurveyTouch] = (), seed: int = 13) -> dict[str, int]:
    """A year of NPS invitations, answers and detractor calls; {} if surveyed before. The
    program `touches` that asked the survey get their invitations too."""
    survey = Survey.objects.filter(is_active=True).order_by("id").first()
    demo = Customer.objects.filter(external_id__startswith=DEMO_PREFIX, deleted_at__isnull=True)
    if survey is None or Invitation.objects.filter(customer__in=demo).exists():
        return {}
    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate(now)
    buyers = {
        c.pk: c
        for c in demo.filter(first_purchase_on__isnull=False)
        .select_related("tier", "owner")
        .order_by("pk")
    }
    by_touch = {touch.touch_id: touch for touch in touches if touch.customer_id in buyers}
    answers = _invite(rng, survey, buyers, by_touch.values(), now=now, today=today)
    answered = [a for a in answers if a.answered_at]
    programs = {pk: touch.program_id for pk, touch in by_touch.items()}
    responses = _responses(rng, survey, answered, programs)
    _close_the_loop(rng, survey, answered, responses, now=now)
    marks = {
        model: model.objects.aggregate(last=Max("pk"))["last"] or 0
        for model in (TierChange, BondChange, TimelineEntry)
    }
    valuation.refresh_everyone(today=today)
    _date_moves_to_answers(marks)
    services.rebuild_tallies()  # the answers were bulk-written, around the services
    return {"invitations": len(answers), "responses": len(responses)}


def _invite(
    rng: random.Random,
    survey: Survey,
    buyers: dict[int, Customer],
    touches: Iterable[SurveyTouch],
    *,
    now: datetime,
    today: date,
) -> list[_Answer]:
    """The monthly pulse and the program's satisfaction step, oldest first, each customer asked
    at most once per fatigue window; who answered, when, and what."""
    moments: list[tuple[datetime, int, SurveyTouch | None]] = []
    for month in range(PULSE_MONTHS):
        day = today - timedelta(days=6 + 30 * month)
        moments.append((timezone.make_aware(datetime.combine(day, time(10))), 0, None))
    for touch in sorted(touches, key=lambda t: (t.sent_at, t.touch_id)):
        moments.append((touch.sent_at, 1, touch))
    moments.sort(key=lambda m: (m[0], m[1]))
    referrers = dict(
        Referral.objects.filter(referrer_id__in=buyers, status=Referral.Status.CONVERTED)
        .order_by()
        .values("referrer_id")
        .annotate(n=Count("id"))
        .values_list("referrer_id", "n")
    )
    fans = {pk for pk, n in referrers.items() if n >= 2}
    complaints: dict[int, str] = {}
    unhappy: set[int] = set()
    for customer_id, category, status in (
        Complaint.objects.filter(customer_id__in=buyers)
        .order_by("opened_at", "pk")
        .values_list("customer_id", "category", "status")
    ):
        complaints[customer_id] = category  # the latest is what they remember
        if status == Complaint.Status.OPEN:
            unhappy.add(customer_id)
    moods = _moods(buyers, fans, unhappy)
    fatigue = timedelta(days=settings.SURVEY_FATIGUE_DAYS)
    asked: dict[int, datetime] = {}
    answers = []
    for at, _, touch in moments:
        if touch is None:
            pool = [
                c
                for c in buyers.values()
                if c.consent_email and c.first_purchase_on < timezone.localdate(at)
            ]
            # Outside the window as the service counts it (asked exactly a window ago is inside).
            fresh = [c for c in pool if c.pk not in asked or at - asked[c.pk] > fatigue]
            # The top referrers are always asked: the marketer wants to hear from them.
            chosen = [c for c in fresh if c.pk in fans]
            others = [c for c in fresh if c.pk not in fans]
            chosen += rng.sample(others, min(len(others), round(len(pool) * PULSE_SHARE)))
            outcome = services.invite(
                survey=survey, customers=chosen, channel=Channel.EMAIL, now=at
            )
        else:
            # Asked too recently: the service records the skip, the step was a plain check-in.
            customer = buyers[touch.customer_id]
            outcome = services.invite(
                survey=survey,
                customers=[customer],
                channel=touch.channel,
                touch_ids={customer.pk: touch.touch_id},
                now=at,
            )
        for invitation in outcome.invited:
            customer = buyers[invitation.customer_id]
            asked[customer.pk] = invitation.sent_at
            mood, complaint = moods[customer.pk], complaints.get(customer.pk, "")
            answers.append(_answer(rng, invitation, customer, mood, complaint, now=now))
    return answers


def _moods(
    buyers: dict[int, Customer], fans: set[int], unhappy: set[int]
) -> dict[int, tuple[float, float, float]]:
    """Each customer's chances of answering as a promoter, a passive and a detractor."""
    moods = {}
    for pk, customer in buyers.items():
        slug = customer.tier.slug if customer.tier else ""
        if pk in fans:
            mood = (0.9, 0.1, 0.0)
        elif pk in unhappy:
            mood = (0.1, 0.25, 0.65)
        elif customer.churn_risk >= 60:
            mood = (0.2, 0.35, 0.45)
        elif customer.churn_risk >= 34:
            mood = (0.35, 0.37, 0.28)
        elif slug in ("client", "advocate", "raving-fan"):
            mood = (0.65, 0.25, 0.1)
        elif slug == "repeat":
            mood = (0.55, 0.3, 0.15)
        else:
            mood = (0.42, 0.35, 0.23)
        moods[pk] = mood
    return moods


def _answer(
    rng: random.Random,
    invitation: Invitation,
    customer: Customer,
    mood: tuple[float, float, float],
    complaint: str,
    *,
    now: datetime,
) -> _Answer:
    """Whether and when the customer answers, and what they say."""
    answer = _Answer(invitation=invitation, customer=customer)
    # Draw everything first, so the clock only decides what has happened by now.
    kind = rng.choices(("promoter", "passive", "detractor"), weights=mood)[0]
    values, weights = ANSWERS["scores"][kind]["values"], ANSWERS["scores"][kind]["weights"]
    score_value = rng.choices(values, weights=weights)[0]
    likely = 0.9 if mood[0] >= 0.9 else 0.28 if customer.audience == Audience.B2B else 0.36
    answers = rng.random() < likely
    if invitation.channel == Channel.LETTER:
        delay = timedelta(days=rng.uniform(3, 14))
    else:
        soon, later, late = rng.uniform(0.1, 6), rng.uniform(6, 48), rng.uniform(48, 240)
        delay = timedelta(hours=rng.choice((soon, later, late)))
    why, improve = _verbatims(rng, kind, customer, complaint)
    at = invitation.sent_at + delay
    if answers and at < min(now, invitation.expires_at):
        answer.answered_at, answer.score, answer.why, answer.improve = at, score_value, why, improve
    return answer


def _verbatims(
    rng: random.Random, kind: str, customer: Customer, complaint: str
) -> tuple[str, str]:
    """Short words, as customers type them: often a reason, sometimes what would earn a 10."""
    if kind == "promoter":
        pool = ANSWERS["promoter_why_b2b" if customer.audience == Audience.B2B else "promoter_why"]
        why, improve = rng.choice(pool), rng.choice(ANSWERS["promoter_improve"])
        said = rng.random() < 0.75, rng.random() < 0.35
    elif kind == "passive":
        why, improve = rng.choice(ANSWERS["passive_why"]), rng.choice(ANSWERS["passive_improve"])
        said = rng.random() < 0.8, rng.random() < 0.6
    else:
        why = ANSWERS["detractor_because"].get(complaint) or rng.choice(ANSWERS["detractor_why"])
        improve = rng.choice(ANSWERS["detractor_improve"])
        said = rng.random() < 0.9, rng.random() < 0.7
    return why if said[0] else "", improve if said[1] else ""


def _responses(
    rng: random.Random, survey: Survey, answered: list[_Answer], programs: dict[int, int]
) -> list[Response]:
    """The answers, with the tier, owner, program and audience of the moment they were given."""
    tiers: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    for customer_id, changed_at, before, after in (
        TierChange.objects.filter(customer_id__in={a.customer.pk for a in answered})
        .order_by("changed_at", "pk")
        .values_list("customer_id", "changed_at", "from_tier__slug", "to_tier__slug")
    ):
        tiers[customer_id].append((changed_at, before or "", after))
    responses = []
    for answer in answered:
        customer, at = answer.customer, answer.answered_at
        history = tiers[customer.pk]
        index = bisect_right([moment for moment, _, _ in history], at)
        if index:
            tier = history[index - 1][2]
        else:  # before the first recorded move: where that move started from
            tier = history[0][1] if history else (customer.tier.slug if customer.tier else "")
        stated = survey.ask_preferred_channel and rng.random() < 0.7
        responses.append(
            Response(
                invitation=answer.invitation,
                survey=survey,
                customer=customer,
                score=answer.score,
                category=score.category(answer.score),
                why=answer.why,
                improve=answer.improve,
                preferred_channel=customer.preferred_channel if stated else "",
                tier_slug=tier,
                owner_id_at_answer=customer.owner_id,
                program_id=programs.get(answer.invitation.touch_id),
                audience=customer.audience,
                answered_at=at,
                updated_at=at,
            )
        )
    return Response.objects.bulk_create(responses)


def _close_the_loop(
    rng: random.Random,
    survey: Survey,
    answered: list[_Answer],
    responses: list[Response],
    *,
    now: datetime,
) -> None:
    """What record_response leaves behind, dated when it happened: the latest score on the
    customer, the timeline, the premium, and a call for each detractor."""
    latest: dict[int, Customer] = {}
    for answer in sorted(answered, key=lambda a: a.answered_at):
        customer = answer.customer
        customer.nps_latest, customer.nps_latest_at = answer.score, answer.answered_at
        latest[customer.pk] = customer
    # An UPDATE per row: ten times faster than bulk_update's CASE per field and row on SQLite.
    for customer in latest.values():
        Customer.objects.filter(pk=customer.pk).update(
            nps_latest=customer.nps_latest, nps_latest_at=customer.nps_latest_at
        )
    manager = User.objects.filter(username="manager").first()
    detractors = sorted(
        (r for r in responses if r.category == "detractor"), key=lambda r: r.answered_at
    )
    # Each owner's latest detractor still waits for a call, and so does every recent one.
    latest_of = {r.owner_id_at_answer: r.pk for r in detractors}
    waiting = set(latest_of.values()) | {
        r.pk for r in detractors if r.answered_at >= now - timedelta(days=OPEN_DETRACTOR_DAYS)
    }
    entries = []
    for response in responses:
        detail = "\n".join(t for t in (response.why, response.improve) if t)
        entries.append(
            TimelineEntry(
                customer_id=response.customer_id,
                kind=TimelineEntry.Kind.SURVEY,
                **services.answered_line(response.score, response.category),
                detail=detail,
                occurred_at=response.answered_at,
                source_id=response.pk,
            )
        )
    TimelineEntry.objects.bulk_create(entries)
    # The premium and the detractor's call, by the services record_response calls, on the clock
    # of the answer.
    for response in responses:
        if survey.premium:
            activity.give_reward(
                customer=response.customer,
                kind=Reward.Kind.PREMIUM,
                **services.premium_reason(survey),
                given_at=response.answered_at,
            )
        if response.category != "detractor":
            continue
        follow_up = activity.schedule_follow_up(
            customer=response.customer,
            assignee=response.customer.owner,
            due_at=response.answered_at + timedelta(hours=mail.DETRACTOR_FOLLOW_UP_HOURS),
            **services.detractor_reason(response.score),
            source=f"detractor:{response.pk}",
            notes="\n".join(t for t in (response.why, response.improve) if t),
            now=response.answered_at,
            may_wait_for_owner=True,
        )
        called = response.answered_at + timedelta(hours=rng.uniform(3, 60))
        if response.pk not in waiting:
            activity.complete_follow_up(
                follow_up=follow_up, by=response.customer.owner or manager, now=min(called, now)
            )


# The rules that moved a customer because of a survey answer: such a move dates from the answer.
NPS_RULES = (
    "raving-fan.referrals_and_promoter",
    "advocate.promoter",
    "hold.detractor",
    "advocacy.promoter",
)


def _date_moves_to_answers(marks: dict) -> None:
    """Date the tier and bond moves the answers caused to the answer, after any earlier move."""
    now = timezone.now()
    for model, kind in (
        (TierChange, TimelineEntry.Kind.TIER),
        (BondChange, TimelineEntry.Kind.BOND),
    ):
        moves = list(
            model.objects.filter(pk__gt=marks[model], rule__in=NPS_RULES).select_related("customer")
        )
        before = dict(
            model.objects.filter(
                customer_id__in=[m.customer_id for m in moves], pk__lte=marks[model]
            )
            .order_by()
            .values("customer_id")
            .annotate(last=Max("changed_at"))
            .values_list("customer_id", "last")
        )
        for move in moves:
            after = before.get(move.customer_id)
            at = move.customer.nps_latest_at
            if after:
                at = max(at, after + timedelta(minutes=1))
            move.changed_at = min(at, now)
        model.objects.bulk_update(moves, ["changed_at"])
        when = {move.pk: move.changed_at for move in moves}
        entries = list(
            TimelineEntry.objects.filter(pk__gt=marks[TimelineEntry], kind=kind, source_id__in=when)
        )
        for entry in entries:
            entry.occurred_at = when[entry.source_id]
        TimelineEntry.objects.bulk_update(entries, ["occurred_at"])
