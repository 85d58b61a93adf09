"""Reads for the marketers' program pages: the list, funnels, failures, what is due, letters."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_noop

from customers import preferences
from customers.models import Channel, Customer, Referral
from customers.queries import Page, page_of
from customers.sayings import translated
from nps.models import Invitation
from programs import content, inbound_mail
from programs.models import (
    SENT_STATES,
    Enrollment,
    LetterBatch,
    Program,
    ProviderEvent,
    Step,
    Touch,
    UnmatchedReply,
    UnsubscribeToken,
)
from programs.review import REMOVABLE

NEEDS_ATTENTION = [Touch.Status.FAILED, Touch.Status.REVIEW]
IN_FLIGHT = [Touch.Status.SCHEDULED, Touch.Status.CLAIMED, Touch.Status.SENDING]


def _count_of(queryset: QuerySet, outer: str = "program") -> Coalesce:
    """A correlated COUNT(*) subquery: one figure per outer row, without multiplying joins."""
    counted = queryset.filter(**{outer: OuterRef("pk")}).order_by().values(outer)
    return Coalesce(
        Subquery(counted.annotate(n=Count("*")).values("n"), output_field=IntegerField()), 0
    )


def week_start(now: datetime | None = None) -> datetime:
    """Monday 00:00 of the current week, in the viewer's time zone."""
    today = timezone.localdate(now or timezone.now())
    monday = today - timedelta(days=today.weekday())
    return timezone.make_aware(datetime.combine(monday, datetime.min.time()))


def program_list(*, now: datetime | None = None) -> list[Program]:
    """Every program with its active enrollments, touches sent this week and failures, in one
    query."""
    since = week_start(now)
    return list(
        Program.objects.annotate(
            active_enrollments=_count_of(Enrollment.objects.filter(status="active")),
            sent_this_week=_count_of(
                Touch.objects.filter(
                    status__in=[*SENT_STATES, Touch.Status.WAITING], sent_at__gte=since
                ),
                outer="step__program",
            ),
            needs_attention=_count_of(
                Touch.objects.filter(status__in=NEEDS_ATTENTION), outer="step__program"
            ),
            step_count=_count_of(Step.objects.all()),
        ).order_by("name", "id")
    )


def program_for(pk: int) -> Program:
    return get_object_or_404(Program.objects.prefetch_related("tiers"), pk=pk)


def steps_of(program: Program) -> list[Step]:
    return list(program.steps.order_by("order", "id"))


@dataclass(frozen=True)
class FunnelRow:
    """One step of a program and how its touches fared."""

    step: Step
    scheduled: int
    waiting: int
    sent: int
    failed: int
    skipped: int
    responded: int
    # Planned for the control group, never sent.
    held: int = 0
    # Of the sent: those the provider reported delivered (e-mail and SMS providers that say).
    delivered: int = 0
    # Why the skipped ones were skipped: [(reason, how many)], most first.
    skip_reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def response_rate(self) -> float | None:
        """Responded over sent, or None before anything was sent."""
        return self.responded / self.sent if self.sent else None


def funnel(program: Program) -> list[FunnelRow]:
    """Per step: scheduled, waiting, sent (and of those delivered), failed, skipped (with why),
    responded; two grouped queries."""

    def count(*statuses: str) -> Count:
        return Count("touches", filter=Q(touches__status__in=statuses))

    steps = (
        Step.objects.filter(program=program)
        .annotate(
            n_scheduled=count(*IN_FLIGHT),
            n_waiting=count(Touch.Status.WAITING),
            n_sent=count(*SENT_STATES),
            n_failed=count(*NEEDS_ATTENTION),
            n_skipped=count(Touch.Status.SKIPPED),
            n_held=count(Touch.Status.HELD, Touch.Status.WITHHELD),
            n_delivered=count(Touch.Status.DELIVERED),
            n_responded=Count("touches", filter=Q(touches__responded_at__isnull=False)),
        )
        .order_by("order", "id")
    )
    reasons = skip_reasons(program)
    return [
        FunnelRow(
            step=step,
            scheduled=step.n_scheduled,
            waiting=step.n_waiting,
            sent=step.n_sent,
            failed=step.n_failed,
            skipped=step.n_skipped,
            responded=step.n_responded,
            held=step.n_held,
            delivered=step.n_delivered,
            skip_reasons=reasons.get(step.pk, []),
        )
        for step in steps
    ]


def skip_reasons(program: Program) -> dict[int, list[tuple[str, int]]]:
    """Per step id: why its touches were skipped, [(reason, how many)], most first; a reason
    the code wrote with a fixed text reads in the reader's language, any other as stored."""
    rows = (
        Touch.objects.filter(step__program=program, status=Touch.Status.SKIPPED)
        .order_by()
        .values_list("step_id", "last_error")
        .annotate(n=Count("*"))
    )
    reasons: dict[int, list[tuple[str, int]]] = {}
    for step_id, reason, n in sorted(rows, key=lambda row: -row[2]):
        said = translated(reason or gettext_noop("No reason recorded."))
        reasons.setdefault(step_id, []).append((said, n))
    return reasons


def enrollment_counts(program: Program) -> dict[str, int]:
    """How many enrollments of the program are active, completed and exited; and of them all,
    how many are held out (this program's holdout and the global control group)."""
    counts = dict.fromkeys(Enrollment.Status.values, 0)
    rows = (
        program.enrollments.order_by()
        .values_list("status")
        .annotate(n=Count("*"), held_out=Count("id", filter=~Q(group=Enrollment.Group.TREATED)))
    )
    counts["held_out"] = 0
    for status, n, held_out in rows:
        counts[status] = n
        counts["held_out"] += held_out
    return counts


def failures(*, program: Program | None = None, number: int = 1, size: int = 50) -> Page:
    """Failed touches and those a person must check, newest first."""
    touches = Touch.objects.filter(status__in=NEEDS_ATTENTION)
    if program is not None:
        touches = touches.filter(step__program=program)
    touches = touches.select_related("step__program", "customer").only(
        "id",
        "status",
        "channel",
        "due_at",
        "attempts",
        "last_error",
        "sent_at",
        "step__name",
        "step__program__name",
        "customer__first_name",
        "customer__last_name",
        "customer__email",
    )
    return page_of(touches.order_by("-due_at", "-id"), number=number, size=size)


def unmatched_replies(*, number: int = 1, size: int = 50) -> Page:
    """Replies (texts and e-mails) from senders no customer has, neither assigned nor
    dismissed, newest first; `unreadable` marks those that can only be dismissed."""
    replies = (
        UnmatchedReply.objects.filter(assigned_at__isnull=True, dismissed_at__isnull=True)
        .annotate(
            unreadable=ExpressionWrapper(
                inbound_mail.UNREADABLE_REPLIES, output_field=BooleanField()
            )
        )
        .only("id", "channel", "phone", "email", "subject", "body", "received_at")
    )
    return page_of(replies.order_by("-received_at", "-id"), number=number, size=size)


def due_by_channel(
    *, program: Program | None = None, days: int = 7, now: datetime | None = None
) -> list[tuple[str, int]]:
    """Scheduled touches due in the next `days` days, per channel, every channel listed."""
    now = now or timezone.now()
    touches = Touch.objects.filter(
        status=Touch.Status.SCHEDULED, due_at__gte=now, due_at__lt=now + timedelta(days=days)
    )
    if program is not None:
        touches = touches.filter(step__program=program)
    counts = dict(touches.order_by().values_list("channel").annotate(n=Count("*")))
    return [(label, counts.get(value, 0)) for value, label in Channel.choices]


def letter_batches(*, number: int = 1, size: int = 25) -> Page:
    """Letter batches, newest first, each with how many letters it holds."""
    batches = LetterBatch.objects.annotate(letter_count=Count("touches")).order_by(
        "-created_at", "-id"
    )
    return page_of(batches, number=number, size=size)


@dataclass(frozen=True)
class Letter:
    """One printed letter: who it goes to and what it says (or why it cannot be rendered)."""

    touch: Touch
    customer: Customer
    address_lines: list[str]
    text: str
    error: str = ""


def letters_of(batch: LetterBatch) -> list[Letter]:
    """The batch's letters rendered for printing, in a fixed number of queries.

    The context is content.context_for's, gathered for all letters at once (purchases,
    unsubscribe links and referral codes in one query each) rather than per letter.
    """
    touches = list(
        batch.touches.select_related("step", "customer__owner", "customer__tier").order_by(
            "customer__last_name", "customer__first_name", "id"
        )
    )
    ids = {touch.customer_id for touch in touches}
    bought = content.categories_bought(ids)
    tokens = dict(
        UnsubscribeToken.objects.filter(customer_id__in=ids, channel=Channel.LETTER).values_list(
            "customer_id", "token"
        )
    )
    codes: dict[int, str] = {}
    for referrer_id, code in Referral.objects.filter(
        referrer_id__in=ids, status=Referral.Status.INVITED, referred_name="", referred_email=""
    ).values_list("referrer_id", "code"):
        codes.setdefault(referrer_id, code)  # newest first, as content.open_referral_code
    categories = content.known_categories()
    choose = preferences.preference_tokens(customer_ids=ids)
    letters = []
    for touch in touches:
        customer, step = touch.customer, touch.step
        token = tokens.get(customer.pk)
        context = content.values_for(
            step=step,
            customer=customer,
            survey_url=content.survey_url(
                step=step, customer=customer, touch=touch, channel=Channel.LETTER
            ),
            referral_code=(codes.get(customer.pk) or content.open_referral_code(customer))
            if step.kind == Step.Kind.REFER_FRIEND
            else "",
            categories_not_bought=[c for c in categories if c not in bought[customer.pk]],
            unsubscribe_url=f"{settings.SITE_URL}/u/{token}/"
            if token
            else content.unsubscribe_url(customer, Channel.LETTER),
            preferences_url=content.preferences_url(choose[customer.pk]),
        )
        try:
            text = content.render(step.letter_body or step.email_body, context, autoescape=False)
            error = ""
        except content.ContentError as problem:
            text, error = "", " ".join(problem.said())
        lines = [line.strip() for line in customer.postal_address.splitlines() if line.strip()]
        letters.append(
            Letter(touch=touch, customer=customer, address_lines=lines, text=text, error=error)
        )
    return letters


def customer_touches(customer: Customer, *, number: int = 1, size: int = 25) -> Page:
    """A customer's touches across programs, latest due first, for the 360 page."""
    touches = Touch.objects.filter(customer=customer).select_related("step__program")
    return page_of(touches.order_by("-due_at", "-id"), number=number, size=size)


def preview_customers(*, limit: int = 25) -> list[Customer]:
    """A few live customers to preview a step's content with."""
    return list(
        Customer.objects.filter(deleted_at__isnull=True)
        .only("id", "first_name", "last_name", "email")
        .order_by("last_name", "first_name", "id")[:limit]
    )


def enrolled_since(program: Program, since: datetime) -> int:
    """Enrollments of the program made from `since` on: a queued segment's progress."""
    return program.enrollments.filter(enrolled_at__gte=since).count()


@dataclass
class ProgramDeletion:
    """What deleting a program would do: enrollments ended, touches cancelled, touches that
    were sent or are in flight (any of which keeps the program)."""

    active_enrollments: int
    scheduled_touches: int
    started_touches: int


def program_deletion(program: Program) -> ProgramDeletion:
    """Count what deleting this program would end, in two queries."""
    touches = Touch.objects.filter(step__program=program).aggregate(
        scheduled=Count("id", filter=Q(status=Touch.Status.SCHEDULED)),
        started=Count("id", filter=~Q(status__in=REMOVABLE)),
    )
    active = Enrollment.objects.filter(program=program, status=Enrollment.Status.ACTIVE).count()
    return ProgramDeletion(active, touches["scheduled"], touches["started"])


# Mailbox providers (Gmail, Yahoo) throttle and then refuse senders whose spam complaints
# reach 0.3 % of what they deliver.
COMPLAINT_RATE_LIMIT = 0.003


@dataclass(frozen=True)
class Deliverability:
    """E-mail sent in a window and what the providers reported of it."""

    sent: int
    complaints: int
    hard_bounces: int
    soft_bounces: int

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.sent if self.sent else None

    @property
    def bounce_rate(self) -> float | None:
        return self.hard_bounces / self.sent if self.sent else None

    @property
    def complaint_percent(self) -> float | None:
        rate = self.complaint_rate
        return None if rate is None else rate * 100

    @property
    def bounce_percent(self) -> float | None:
        rate = self.bounce_rate
        return None if rate is None else rate * 100

    @property
    def over_complaint_limit(self) -> bool:
        rate = self.complaint_rate
        return rate is not None and rate >= COMPLAINT_RATE_LIMIT


def deliverability(*, since: datetime) -> Deliverability:
    """The dashboard's deliverability line, in two queries: e-mails sent since then (program
    touches, those bounced since included, and survey invitations e-mailed on their own), and
    the complaints and bounces providers reported (of either)."""
    # No ORDER BY (the models' default one is dropped): SQLite refuses it inside a UNION.
    touches = (
        Touch.objects.filter(
            channel=Channel.EMAIL,
            status__in=[*SENT_STATES, Touch.Status.FAILED],
            sent_at__gte=since,
        )
        .order_by()
        .values("pk")
    )
    # A survey a program step sent is its touch already: only those sent on their own.
    invitations = (
        Invitation.objects.filter(emailed_at__gte=since, touch_id__isnull=True)
        .order_by()
        .values("pk")
    )
    sent = touches.union(invitations, all=True).count()
    kind = "payload__event_type"
    events = ProviderEvent.objects.filter(
        kind=ProviderEvent.Kind.EMAIL, received_at__gte=since
    ).aggregate(
        complaints=Count("pk", filter=Q(**{kind: "complained"})),
        hard=Count(
            "pk", filter=Q(**{f"{kind}__in": ["bounced", "rejected"]}) & ~Q(payload__soft=True)
        ),
        soft=Count("pk", filter=Q(payload__soft=True)),
    )
    return Deliverability(
        sent=sent,
        complaints=events["complaints"],
        hard_bounces=events["hard"],
        soft_bounces=events["soft"],
    )
