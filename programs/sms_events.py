"""What an SMS provider tells us: delivery reports and inbound texts, stored the moment they
arrive and worked by a task (the touch's state, consent keywords, replies on the timeline)."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from customers.activity import log_interaction
from customers.contact import normalize_phone
from customers.models import Channel, Customer, Interaction
from customers.sayings import said
from programs import announce, email_events, email_replies, inbound_mail, schedule
from programs.email_events import IN_FLIGHT, LATER
from programs.models import SENT_STATES, ProviderEvent, Touch, UnmatchedReply
from programs.responses import record_response
from programs.settlement import mark_delivered
from programs.unsubscribe import start_by_sms, stop_by_sms

logger = logging.getLogger(__name__)

# Carrier keywords (CTIA): the whole text, any case.
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP"}
# A reply answers the latest SMS touch sent to its number within this long.
REPLY_WINDOW = timedelta(days=7)
# A text's summary, as a reply to a touch's step or to no touch we can tell.
REPLY_TO_STEP = gettext_noop("SMS reply to “%(step)s”: %(body)s")
REPLY = gettext_noop("SMS reply: %(body)s")


def keyword(body: str) -> str:
    """The text as a carrier keyword: trimmed and upper case."""
    return (body or "").strip().upper()


def help_text() -> str:
    """The answer to HELP: who writes, and how to stop."""
    return (
        f"{settings.ORGANIZATION_NAME}: customer messages. Reply STOP to stop them, "
        "START to get them again."
    )


def work_event(*, event_id: int, now: datetime | None = None) -> str:
    """Apply one stored event exactly once; returns what became of it, or LATER when its touch
    is still being sent."""
    now = now or timezone.now()
    with transaction.atomic():
        # Locked, and only while unworked: two workers never both apply it.
        event = (
            ProviderEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, processed_at__isnull=True)
            .first()
        )
        if event is None:
            return "done"
        if event.kind == ProviderEvent.Kind.STATUS:
            outcome = _apply_status(event, now)
        elif event.kind == ProviderEvent.Kind.EMAIL:
            outcome = email_events.apply_event(event, now)
        elif event.kind == ProviderEvent.Kind.REPLY and event.raw is not None:
            outcome = inbound_mail.apply_posted(event, now)
        elif event.kind == ProviderEvent.Kind.REPLY:
            outcome = email_replies.apply_reply(event, now)
        else:
            outcome = _receive_text(event)
        if outcome == LATER:
            return LATER
        event.processed_at, event.outcome = now, outcome[:200]
        # A reply names its touch only once worked (by its Reply-To address).
        event.save(update_fields=["processed_at", "outcome", "touch_ref"])
        return outcome


def pending_events(
    *, older_than: timedelta | None = None, after: int = 0, limit: int = 500
) -> list[int]:
    """Events no worker has applied (the broker was down, or the touch was in flight), oldest
    first: those received over `older_than` ago, or every one with an id above `after`."""
    events = ProviderEvent.objects.filter(processed_at__isnull=True, pk__gt=after)
    if older_than is not None:
        events = events.filter(received_at__lt=timezone.now() - older_than)
    return list(events.order_by("pk").values_list("pk", flat=True)[:limit])


def drain(*, batch: int = 200) -> tuple[int, int]:
    """Work every stored event not yet worked, a batch of ids at a time (each event in its own
    transaction, so one slow event holds no other); returns (worked, waiting for their touch)."""
    worked = waiting = 0
    after = 0
    while ids := pending_events(after=after, limit=batch):
        for event_id in ids:
            if work_event(event_id=event_id) == LATER:
                waiting += 1
            else:
                worked += 1
        after = ids[-1]
    return worked, waiting


# Twilio's error codes of undelivered texts seen most (the others are shown by number).
TWILIO_ERRORS = {
    "21610": "the recipient replied STOP",
    "30003": "unreachable handset",
    "30004": "message blocked",
    "30005": "unknown handset",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "unknown error",
}


def _apply_status(event: ProviderEvent, now: datetime) -> str:
    """A delivery report: delivered and failed are final, so a late "sent" changes nothing."""
    params = event.payload
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    touch = (
        Touch.objects.select_for_update(of=("self",))
        .select_related("step", "enrollment", "customer")
        .filter(pk=event.touch_ref, channel=Channel.SMS)
        .first()
        if event.touch_ref
        else None
    )
    if touch is None:
        return "no such SMS touch"
    if touch.status in IN_FLIGHT:
        return LATER
    if touch.message_id and touch.message_id != sid:
        return "a report of an earlier attempt"  # the touch was sent again since
    if status == "delivered" and touch.status in (Touch.Status.SENT, Touch.Status.REVIEW):
        return mark_delivered(touch, now=now, message_id=sid)
    if status in ("undelivered", "failed") and touch.status in (
        Touch.Status.SENT,
        Touch.Status.REVIEW,
    ):
        code = params.get("ErrorCode", "")
        reason = f"Twilio: {status}" + (
            f", error {code} ({TWILIO_ERRORS[code]})"
            if code in TWILIO_ERRORS
            else f", error {code}"
            if code
            else ""
        )
        # Not settled: a text that never arrived leaves nothing behind.
        Touch.objects.filter(pk=touch.pk).update(
            status=Touch.Status.FAILED, message_id=sid, last_error=reason, unsettled=False
        )
        touch.status, touch.message_id, touch.last_error = Touch.Status.FAILED, sid, reason
        announce.touches_moved("touch.failed", [touch], now=now)
        return reason
    return f"{status or 'no status'} noted; the touch stays {touch.status}"


def _receive_text(event: ProviderEvent) -> str:
    """An inbound text: a keyword changes consent; anything else is a reply to log."""
    params = event.payload
    body = params.get("Body", "")
    try:
        phone = normalize_phone(params.get("From", ""), region=settings.PHONE_REGION)
    except ValidationError:
        phone = ""
    if not phone:
        return "no sender number"
    word = keyword(body)
    if word in STOP_WORDS:
        return f"stop: {stop_by_sms(phone=phone)} customer(s)"
    if word in START_WORDS:
        return f"start: {start_by_sms(phone=phone)} customer(s)"
    if word in HELP_WORDS:
        return "help answered"
    customers = Customer.objects.filter(phone=phone, deleted_at__isnull=True)
    touch = (
        Touch.objects.filter(
            customer__in=customers,
            channel=Channel.SMS,
            status__in=SENT_STATES,
            sent_at__gte=event.received_at - REPLY_WINDOW,
        )
        .select_related("step", "customer__owner")
        .order_by("-sent_at", "-id")
        .first()
    )
    customer = touch.customer if touch else customers.select_related("owner").order_by("id").first()
    if customer is None:
        UnmatchedReply.objects.create(
            phone=phone, body=body, received_at=event.received_at, event=event
        )
        return "unmatched"
    log_reply(customer=customer, body=body, received_at=event.received_at, touch=touch)
    return f"reply of customer {customer.pk}" + (f" to touch {touch.pk}" if touch else "")


def log_reply(
    *,
    customer: Customer,
    body: str,
    received_at: datetime,
    touch: Touch | None,
    by: User | None = None,
) -> Interaction:
    """A customer's text on their timeline, threaded to the touch it answers (marked
    responded), with a follow-up for the owner due the next working day."""
    summary = (
        said(REPLY_TO_STEP, field="summary", step=touch.step.name, body=body[:200])
        if touch
        else said(REPLY, field="summary", body=body[:200])
    )
    interaction = log_interaction(
        customer=customer,
        author=by,
        channel=Interaction.Kind.SMS,
        direction=Interaction.Direction.INBOUND,
        **summary,
        notes=body,
        occurred_at=received_at,
        follow_up_on=schedule.next_working_day(timezone.localdate(received_at)),
    )
    if touch is not None:
        record_response(touch=touch, now=received_at)
    return interaction


@transaction.atomic
def assign_reply(*, reply: UnmatchedReply, customer: Customer, by: User) -> bool:
    """A marketer says whose an unmatched reply (a text or an e-mail) is: it goes on that
    customer's timeline like any reply, threaded to the latest touch on its channel within the
    reply window. Only once (a conditional update): False if it was assigned or dismissed
    meanwhile. A reply whose body could not be read has no message to log: refused."""
    # Whether a reply was readable is settled when it is listed, so this check cannot race.
    if UnmatchedReply.objects.filter(inbound_mail.UNREADABLE_REPLIES, pk=reply.pk).exists():
        raise ValidationError(
            gettext("This reply could not be read, so it cannot go on a timeline: dismiss it.")
        )
    now = timezone.now()
    if not UnmatchedReply.objects.filter(
        pk=reply.pk, assigned_at__isnull=True, dismissed_at__isnull=True
    ).update(assigned_to=customer, assigned_at=now):
        return False
    touch = (
        Touch.objects.filter(
            customer=customer,
            channel=reply.channel,
            status__in=SENT_STATES,
            sent_at__gte=reply.received_at - REPLY_WINDOW,
            sent_at__lte=reply.received_at,
        )
        .select_related("step")
        .order_by("-sent_at", "-id")
        .first()
    )
    if reply.channel == Channel.EMAIL:
        email_replies.log_reply(
            customer=customer,
            text=reply.body,
            subject=reply.subject,
            received_at=reply.received_at,
            touch=touch,
            now=now,
            by=by,
        )
    else:
        log_reply(
            customer=customer, body=reply.body, received_at=reply.received_at, touch=touch, by=by
        )
    return True


@transaction.atomic
def dismiss_reply(*, reply: UnmatchedReply, by: User) -> bool:
    """Off the list without a timeline (spam, nobody's, unreadable), with who dismissed it in
    the admin's log; False if it was assigned or dismissed meanwhile."""
    if not UnmatchedReply.objects.filter(
        pk=reply.pk, assigned_at__isnull=True, dismissed_at__isnull=True
    ).update(dismissed_at=timezone.now()):
        return False
    # The admin's own record of who changed what: a reply dismissed is gone from every list,
    # and an unreadable one was never anyone's, so this line is all that says who decided.
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=[reply],
        action_flag=CHANGE,
        change_message=[{"changed": {"fields": ["dismissed at"]}}],
        single_object=True,
    )
    return True
