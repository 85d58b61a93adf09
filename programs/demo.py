"""Demo data for programs: a year of the eight-step program for the demo's buyers.

The channels' verdicts (sent, failed, to review, waiting) are the demo's to invent, as a
provider's would be; everything those verdicts leave behind (timeline lines, gift rewards,
exits, posted letters, logged calls) is written by the programs services on a clock moved to
when it happened, so the demo shows what the product does.
"""

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from customers import activity
from customers.models import Channel, Contract, Customer, FollowUp, Purchase
from customers.sayings import said
from nps.demo import SurveyTouch
from nps.models import Response
from programs import content
from programs.enrollment import enroll, exit_enrollment
from programs.models import Enrollment, LetterBatch, Program, Step, Touch
from programs.placement import frequency_cap, new_touch, send_window, zone_of
from programs.responses import follow_up_done, mark_letters_posted, record_response
from programs.settlement import settle

# The eight-step program started this long ago: its early steps have all gone out for the first
# cohorts, and their first anniversaries are still ahead.
PROGRAM_DAYS = 340
# How often a customer answers a sent touch (a reply, a click, a code used), by step kind; the
# satisfaction survey's answers are the NPS responses, seeded with the surveys.
REPLY_RATES = {
    "welcome_kit": 0.12,
    "check_in": 0.2,
    "cross_sell": 0.08,
    "gift": 0.3,
    "refer_friend": 0.1,
    "renewal": 0.45,
    "anniversary": 0.25,
}
EXIT_REASONS = (
    "Asked on the phone to leave the program",
    "Office closed: no more deliveries to this address",
)
MAILBOX_GONE = "550 5.1.1 Mailbox unavailable"
SMS_GAVE_UP = "Gave up after 6 attempts: provider timed out"
WORKER_STOPPED = "The worker stopped while sending: check whether it arrived."
# What delivery records when the phone channel has no owner to ask.
NO_OWNER = "ValidationError: {'assignee': ['This field cannot be blank.']}"
OUTCOME_FIELDS = ["status", "attempts", "last_error", "sent_at", "message_id", "unsettled"]
# The demo's program holds a fifth of its customers out, and has a stated true effect: in the
# 90 days after joining, treated customers buy 4 points more often than those held out. The
# Lift page recovers it within its interval.
DEMO_HOLDOUT_SHARE = 20
TRUE_PURCHASE_LIFT = 0.04
LIFT_WINDOW_DAYS = 90


@transaction.atomic
def seed_programs(*, customers: QuerySet[Customer], seed: int = 11) -> dict[str, int]:
    """Enroll these buyers in the eight-step program over the last year; {} if done before."""
    program = Program.objects.filter(is_prototype=True, is_active=True).order_by("id").first()
    if program is None or Enrollment.objects.filter(customer__in=customers).exists():
        return {}
    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate(now)
    program.holdout_share = DEMO_HOLDOUT_SHARE
    program.holdout_salt = f"demo-{seed}"  # the same demo draws the same holdout each time
    program.save(update_fields=["holdout_share", "holdout_salt"])
    launch = today - timedelta(days=PROGRAM_DAYS)
    launch -= timedelta(days=launch.weekday())
    # Who had bought before the program started joined it in monthly segments over the year;
    # later buyers join on the Monday after their first purchase.
    cohorts: dict[date, list[Customer]] = defaultdict(list)
    buyers = customers.filter(first_purchase_on__lt=today - timedelta(days=2)).order_by("pk")
    for customer in buyers:
        if customer.first_purchase_on < launch:
            day = launch + timedelta(days=28 * rng.randint(0, 11))
        else:
            day = customer.first_purchase_on + timedelta(
                days=7 - customer.first_purchase_on.weekday()
            )
        cohorts[min(day, today - timedelta(days=1))].append(customer)
    for day, joining in sorted(cohorts.items()):
        at = timezone.make_aware(datetime.combine(day, time(10, rng.randrange(0, 60, 5))))
        enroll(program=program, customers=joining, now=min(at, now))
    enrollments = list(Enrollment.objects.filter(program=program, customer__in=customers))
    _renewals_then(program, enrollments)
    touches = list(
        Touch.objects.filter(enrollment__in=enrollments)
        .select_related("step", "enrollment", "customer__owner")
        .order_by("due_at", "pk")
    )
    leaving = _leaving(rng, enrollments, now=now)
    due = [
        t
        for t in touches
        if t.status == Touch.Status.SCHEDULED
        and t.due_at <= min(now, leaving.get(t.enrollment_id, (now, ""))[0])
    ]
    _deliver_past(rng, due, now=now)
    for enrollment in enrollments:
        if enrollment.pk in leaving:
            ended_at, reason = leaving[enrollment.pk]
            exit_enrollment(enrollment=enrollment, reason=reason, now=ended_at)
    brought = _program_effect(rng, enrollments, now=now)
    return {"enrollments": len(enrollments), "touches": len(touches), "purchases_brought": brought}


def _program_effect(rng: random.Random, enrollments: list[Enrollment], *, now: datetime) -> int:
    """Purchases that give the program its stated true effect on the purchase rate.

    The history bought at random, whatever the group; here whichever side is short of the
    stated difference is topped up with purchases in the window (on the treated side, what the
    program brought), so treated customers whose window has ended buy TRUE_PURCHASE_LIFT more
    often than the held out, to within one customer.
    """
    window = timedelta(days=LIFT_WINDOW_DAYS)
    ended = [
        e
        for e in enrollments
        if e.enrolled_at <= now - window
        and e.group in (Enrollment.Group.TREATED, Enrollment.Group.HOLDOUT)
    ]
    bought_on: dict[int, list[date]] = defaultdict(list)
    for customer_id, on in Purchase.objects.filter(
        customer_id__in={e.customer_id for e in ended}, amount__gt=0
    ).values_list("customer_id", "purchased_on"):
        bought_on[customer_id].append(on)

    def bought(e: Enrollment) -> bool:
        start = timezone.localdate(e.enrolled_at)
        return any(start <= on < start + window for on in bought_on[e.customer_id])

    treated = [e for e in ended if e.group == Enrollment.Group.TREATED]
    control = [e for e in ended if e.group == Enrollment.Group.HOLDOUT]
    if not treated or not control:
        return 0
    treated_rate = sum(map(bought, treated)) / len(treated)
    control_rate = sum(map(bought, control)) / len(control)
    if treated_rate < control_rate + TRUE_PURCHASE_LIFT:
        side, short = treated, (control_rate + TRUE_PURCHASE_LIFT - treated_rate) * len(treated)
    else:
        side, short = control, (treated_rate - TRUE_PURCHASE_LIFT - control_rate) * len(control)
    idle = [e for e in side if not bought(e)]
    chosen = rng.sample(idle, min(len(idle), round(short)))
    purchases = [
        Purchase(
            customer_id=e.customer_id,
            amount=rng.choice((35, 60, 90, 140)),
            purchased_on=timezone.localdate(e.enrolled_at) + timedelta(days=rng.randint(5, 80)),
            product_category="Accessories",
        )
        for e in chosen
    ]
    activity.record_purchases(purchases=purchases)
    activity.convert_first_purchases(customer_ids={p.customer_id for p in purchases}, now=now)
    return len(purchases)


def _renewals_then(program: Program, enrollments: list[Enrollment]) -> None:
    """The renewal step counts from the contract that ran when the customer joined; enroll, run
    today, sees only the contracts still pending, so those renewed (or lapsed) since were asked
    about then."""
    step = program.steps.filter(anchor=Step.Anchor.CONTRACT_END).order_by("order").first()
    if step is None:
        return
    asked = set(
        Touch.objects.filter(step=step, enrollment__in=enrollments).values_list(
            "enrollment_id", flat=True
        )
    )
    joined = {e.customer_id: e for e in enrollments if e.pk not in asked}
    running: dict[int, Contract] = {}
    for contract in (
        Contract.objects.filter(customer_id__in=joined)
        .exclude(renewal_status=Contract.Renewal.PENDING)
        .select_related("customer")
        .order_by("ends_on", "pk")
    ):
        enrolled_on = timezone.localdate(joined[contract.customer_id].enrolled_at)
        if contract.starts_on <= enrolled_on <= contract.ends_on:
            running.setdefault(contract.customer_id, contract)
    window = send_window()
    cap = frequency_cap()
    touches = []
    for customer_id, contract in running.items():
        enrollment = joined[customer_id]
        # Placed as enrollment places a step, as of the day the customer joined.
        touch = new_touch(
            enrollment,
            step,
            contract.customer,
            1,
            contract.ends_on,
            zone_of(contract.customer),
            window,
            cap,
            [],
            enrollment.enrolled_at,
        )
        touch.created_at = enrollment.enrolled_at
        if enrollment.group != Enrollment.Group.TREATED and touch.status == Touch.Status.SCHEDULED:
            # A control enrollment's touch is held, as enroll holds it: never sent.
            touch.status = Touch.Status.HELD
        touches.append(touch)
    Touch.objects.bulk_create(touches)


def _leaving(
    rng: random.Random, enrollments: list[Enrollment], *, now: datetime
) -> dict[int, tuple[datetime, str]]:
    """A few customers left the program along the way: {enrollment id: (when, why)}."""
    old = [e for e in enrollments if e.enrolled_at < now - timedelta(days=60)]
    leaving = {}
    for enrollment in rng.sample(old, min(len(old), max(1, len(enrollments) // 50))):
        days = rng.randint(20, (now - enrollment.enrolled_at).days - 1)
        reason = rng.choice(EXIT_REASONS)
        ended_at = enrollment.enrolled_at + timedelta(days=days, hours=rng.randint(1, 6))
        leaving[enrollment.pk] = (ended_at, reason)
    return leaving


def _deliver_past(rng: random.Random, due: list[Touch], *, now: datetime) -> None:
    """What the channels and the account managers made of every touch already due: sent,
    failed, to review, waiting (a letter to post, a call to make) or answered; settled by the
    services day by day."""
    by_channel: dict[str, list[Touch]] = defaultdict(list)
    for touch in due:
        by_channel[touch.channel].append(touch)
    for touch in by_channel[Channel.EMAIL] + by_channel[Channel.SMS]:
        touch.attempts = 1
        if touch.channel == Channel.EMAIL and rng.random() < 0.02:
            touch.status, touch.last_error = Touch.Status.FAILED, MAILBOX_GONE
            continue
        if touch.channel == Channel.SMS and rng.random() < 0.015:
            touch.status, touch.last_error, touch.attempts = Touch.Status.FAILED, SMS_GAVE_UP, 6
            continue
        # Recorded sent and unsettled, as the delivery loop records it; settled below.
        touch.status, touch.unsettled = Touch.Status.SENT, True
        touch.sent_at = min(touch.due_at + timedelta(seconds=rng.randint(20, 240)), now)
        touch.message_id = (
            content.message_id_for(touch.pk, touch.occurrence)
            if touch.channel == Channel.EMAIL
            else f"file-{rng.getrandbits(128):032x}"
        )
    # The sweeper found two e-mails whose worker died mid-send: a person must check them.
    lately = [
        t
        for t in by_channel[Channel.EMAIL]
        if t.status == Touch.Status.SENT and t.due_at > now - timedelta(days=30)
    ]
    for touch in rng.sample(lately, min(2, len(lately))):
        touch.status, touch.last_error, touch.sent_at = Touch.Status.REVIEW, WORKER_STOPPED, None
        touch.message_id, touch.unsettled = "", False
    mailed = by_channel[Channel.EMAIL] + by_channel[Channel.SMS]
    for touch in mailed:
        Touch.objects.filter(pk=touch.pk).update(
            **{name: getattr(touch, name) for name in OUTCOME_FIELDS}
        )
    # Each line and reward is dated by its touch's sending: one settling for them all.
    sent = [t for t in mailed if t.status == Touch.Status.SENT]
    if sent:
        settle(sent, now=max(t.sent_at for t in sent))
    _post_letters(rng, by_channel[Channel.LETTER], now=now)
    _make_calls(rng, by_channel[Channel.PHONE], now=now)
    _answer(rng, due, now=now)


def _answer(rng: random.Random, due: list[Touch], *, now: datetime) -> None:
    """Some customers answered what they were sent (a reply, a click, a code used)."""
    sent = Touch.objects.filter(pk__in=[t.pk for t in due], status=Touch.Status.SENT)
    for touch_id, kind, sent_at in sent.order_by("due_at", "pk").values_list(
        "pk", "step__kind", "sent_at"
    ):
        if rng.random() < REPLY_RATES.get(kind, 0):
            answered = sent_at + timedelta(hours=rng.expovariate(1 / 30))
            if answered < now:
                Touch.objects.filter(pk=touch_id).update(responded_at=answered)


def _post_letters(rng: random.Random, letters: list[Touch], *, now: datetime) -> None:
    """Letters wait in weekly batches, printed and posted; the latest wait in the open batch."""
    if not letters:
        return
    recent = sum(1 for t in letters if t.due_at > now - timedelta(days=4))
    waiting = letters[len(letters) - min(len(letters), max(2, recent)) :]
    weeks: dict[date, list[Touch]] = defaultdict(list)
    for touch in letters[: len(letters) - len(waiting)]:
        day = timezone.localdate(touch.due_at)
        weeks[day - timedelta(days=day.weekday())].append(touch)
    groups = [weeks[monday] for monday in sorted(weeks)] + [waiting]
    for group in groups:
        created = group[0].due_at + timedelta(minutes=1)
        batch = LetterBatch.objects.create(created_at=created)
        for touch in group:
            # The letter channel's verdict: waiting in the batch until it is posted.
            Touch.objects.filter(pk=touch.pk).update(
                status=Touch.Status.WAITING,
                attempts=1,
                sent_at=touch.due_at,
                message_id=f"letter-batch-{batch.pk}",
            )
        batch.touches.add(*group)
        if group is not waiting:
            posted = group[-1].due_at + timedelta(hours=rng.randint(20, 70))
            mark_letters_posted(
                batch=batch, now=max(min(posted, now - timedelta(hours=1)), created)
            )


def _make_calls(rng: random.Random, calls: list[Touch], *, now: datetime) -> None:
    """Each call became a follow-up for the owner; the older ones were made and logged, the
    latest still waits."""
    ask = [t for t in calls if t.step.kind != Step.Kind.SATISFACTION_SURVEY]
    waiting = [t for t in ask if t.due_at > now - timedelta(days=2)] or ask[-1:]
    waiting_ids = {w.pk for w in waiting}
    for touch in calls:
        follow_up = _ask_to_call(touch, asked_at=touch.due_at + timedelta(minutes=1))
        if follow_up is None or touch.pk in waiting_ids:
            continue
        made = follow_up.created_at + timedelta(seconds=rng.randint(20, 240))
        logged = max(
            min(made + timedelta(hours=rng.uniform(2, 70)), now - timedelta(minutes=1)), made
        )
        activity.complete_follow_up(follow_up=follow_up, by=follow_up.assignee, now=logged)
        # What the receiver does once the seed commits, now: later steps of the seed read the
        # touch as sent.
        follow_up_done(follow_up=follow_up, now=logged)


def _ask_to_call(touch: Touch, *, asked_at: datetime) -> FollowUp | None:
    """What the phone channel does (the rendered call script on the owner's list), on the
    demo's clock; a touch whose customer has no owner fails as the channel would fail it."""
    if touch.customer.owner is None:
        Touch.objects.filter(pk=touch.pk).update(
            status=Touch.Status.FAILED, attempts=1, last_error=NO_OWNER
        )
        return None
    subject, script = touch.step.name, ""
    # A survey call's script holds its survey link, whose invitation the NPS seeder makes at
    # the moment the touch went out: it is not rendered here.
    if touch.step.kind != Step.Kind.SATISFACTION_SURVEY:
        try:
            message = content.message_for(
                touch=touch, customer=touch.customer, channel=Channel.PHONE
            )
        except ValidationError as error:
            Touch.objects.filter(pk=touch.pk).update(
                status=Touch.Status.FAILED, attempts=1, last_error=f"ValidationError: {error}"
            )
            return None
        subject, script = message.subject, message.text
    follow_up = activity.schedule_follow_up(
        customer=touch.customer,
        assignee=touch.customer.owner,
        due_at=asked_at + timedelta(days=2),
        **said(gettext_noop("Call: %(subject)s"), field="reason", subject=subject),
        source=f"touch:{touch.pk}",
        notes=script,
        now=asked_at,
    )
    Touch.objects.filter(pk=touch.pk).update(
        status=Touch.Status.WAITING,
        attempts=1,
        sent_at=asked_at,
        message_id=f"follow-up-{follow_up.pk}",
    )
    return follow_up


def survey_touches(*, customers: QuerySet[Customer]) -> list[SurveyTouch]:
    """The satisfaction-survey touches sent to these customers: the NPS seeder invites through
    them, as delivery does."""
    return [
        SurveyTouch(touch_id=pk, customer_id=customer_id, channel=channel, sent_at=at, program_id=p)
        for pk, customer_id, channel, at, p in Touch.objects.filter(
            customer__in=customers,
            step__kind=Step.Kind.SATISFACTION_SURVEY,
            status=Touch.Status.SENT,
        )
        .order_by("sent_at", "pk")
        .values_list("pk", "customer_id", "channel", "sent_at", "step__program_id")
    ]


def mark_survey_answers(*, customers: QuerySet[Customer]) -> int:
    """The touches whose survey these customers answered count as responded from the answer's
    time, as the programs' receiver of a recorded answer does."""
    marked = 0
    answers = list(
        Response.objects.filter(
            customer__in=customers, invitation__touch_id__isnull=False
        ).values_list("invitation__touch_id", "answered_at")
    )
    touches = Touch.objects.in_bulk([touch_id for touch_id, _ in answers])
    for touch_id, answered_at in answers:
        if touch_id in touches:
            marked += record_response(touch=touches[touch_id], now=answered_at)
    return marked
