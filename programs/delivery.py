"""Delivery: sending a batch of claimed touches, each claimed, sent, retried or finished alone."""

import logging
import random
from collections import defaultdict
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from customers.models import Channel, Customer
from customers.sayings import english, kept_as_text, ngettext_noop
from programs import announce, content, schedule
from programs.channels import Message, Outcome, PermanentError, TransientError, UncertainError
from programs.channels import email as email_channel
from programs.channels import letter as letter_channel
from programs.channels import phone as phone_channel
from programs.channels import sms as sms_channel
from programs.enrollment import exit_enrollment
from programs.models import SENT_STATES, Enrollment, Step, Touch
from programs.placement import (
    COUNTED,
    address_for,
    chosen_topics,
    first_consented,
    frequency_cap,
    send_window,
    topic_refusal,
    zone_of,
)
from programs.settlement import settle
from programs.sql import ADDRESS_COLUMNS, CLAIM_TO_SEND, RECORD_SENT, RECORD_SENT_MANY, run

logger = logging.getLogger(__name__)


CHANNELS: dict[str, ModuleType] = {
    Channel.EMAIL: email_channel,
    Channel.SMS: sms_channel,
    Channel.LETTER: letter_channel,
    Channel.PHONE: phone_channel,
}


def deliver(*, touch_ids: list[int], resume: dict | None = None) -> dict[str, int]:
    """Send a batch of claimed touches over one channel session each; each touch is claimed
    and its outcome committed on its own, so one failure never holds back the others.

    What the batch needs is read once (touches with step, enrollment and customer; recent
    sends for the frequency cap; links and codes for the templates, made in bulk), and what
    the sent touches leave behind (timeline, rewards, next anniversaries, completed
    enrollments) is written once at the end.

    When the database goes away mid-batch this raises DeliveryInterrupted with what the
    retry needs (`resume`): the touches the batch sent ([id, message id, sent at]), recorded
    first, and the one it held in sending without handing it over, taken back to be sent.
    Nothing then waits for the lease or the sweeper.
    """
    resume = resume or {}
    sent: list[Touch] = []
    try:
        return _deliver(touch_ids, resume, sent)
    except DATABASE_LOST as error:
        carried = {pk: [pk, message_id, at] for pk, message_id, at in resume.get("sent", [])}
        for touch in sent:
            sent_at = touch.sent_at or timezone.now()  # set by _send for every touch it sent
            carried[touch.pk] = [touch.pk, touch.message_id, sent_at.isoformat()]
        unsent = [*resume.get("unsent", []), *getattr(error, "unsent", [])]
        raise DeliveryInterrupted(
            resume={"sent": list(carried.values()), "unsent": unsent}
        ) from error


def _deliver(touch_ids: list[int], resume: dict, sent: list[Touch]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    if resume.get("unsent"):
        # Held in sending but never handed to the provider: claimed again, sent below.
        Touch.objects.filter(pk__in=resume["unsent"], status=Touch.Status.SENDING).update(
            status=Touch.Status.CLAIMED, attempts=F("attempts") - 1
        )
    touches = [
        touch
        for touch in Touch.objects.filter(pk__in=touch_ids)
        .select_related("enrollment", "customer__owner", "customer__tier")
        .order_by("id")
        # Only claimed ones are ours to send. Filtered here, not in SQL, so the rows are read
        # by their ids (see CLAIM_TO_SEND).
        if touch.status == Touch.Status.CLAIMED
    ]
    # A batch is a few steps: each read once, not joined to every touch with all its content.
    steps = Step.objects.select_related("program__goal_tier").in_bulk(
        {touch.step_id for touch in touches}
    )
    for touch in touches:
        touch.step = steps[touch.step_id]
    earlier = _record_sent_before(resume.get("sent", []))
    if not touches:
        if earlier:
            settle(earlier)
        return {}
    now = timezone.now()
    recent = _recent_sends({touch.customer_id for touch in touches}, now)
    # Links, codes and invitations only for touches the batch's reads say will go out: a
    # skipped touch should leave no survey invitation behind. The others take the slow path.
    chosen = chosen_topics(touches)
    ready = [touch for touch in touches if _may_send(touch, recent, chosen)]
    facts = content.gather_facts(ready)
    ready_ids = {touch.pk for touch in ready}
    by_channel: dict[str, list[Touch]] = defaultdict(list)
    for touch in touches:
        by_channel[touch.channel].append(touch)
    for channel, group in by_channel.items():
        module = CHANNELS[channel]
        unrecorded = None
        width = module.connections() if hasattr(module, "connections") else 1
        with module.open() as session:
            if width > 1:
                # Several connections to the provider at once (programs/delivery_pool.py).
                from programs.delivery_pool import Pool

                Pool(
                    module=module,
                    session=session,
                    facts=facts,
                    ready_ids=ready_ids,
                    recent=recent,
                    counts=counts,
                    sent=sent,
                ).deliver(width, group)
                continue
            try:
                for touch in group:
                    outcome, unrecorded = _deliver_one(
                        touch,
                        module,
                        session,
                        facts if touch.pk in ready_ids else None,
                        recent,
                        unrecorded,
                    )
                    counts[outcome] += 1
                    if outcome == Touch.Status.SENT:
                        sent.append(touch)
            finally:
                if unrecorded is not None:
                    _record_sent(unrecorded)
    if sent or earlier:
        # A crash before this leaves the sent touches unsettled: the sweeper settles them.
        settle([*earlier, *sent])
    return dict(counts)


# Errors of a lost database connection (a restart, a failover, the network): the batch is
# retried once it is back instead of waiting for the lease to run out.
DATABASE_LOST = (OperationalError, InterfaceError)


class DeliveryInterrupted(Exception):
    """The database went away mid-batch; `resume` tells the retry what the batch had sent
    ({"sent": [[id, message id, sent at]]}) and held unsent ({"unsent": [id]})."""

    def __init__(self, *, resume: dict) -> None:
        super().__init__(f"database lost mid-batch after {len(resume['sent'])} sent")
        self.resume = resume


def _record_sent_before(sent_before: list) -> list[Touch]:
    """Record the touches an interrupted run of this batch sent (still in sending: a touch
    the sweeper sent to review meanwhile keeps that verdict); returns them for settling."""
    if not sent_before:
        return []
    for pk, message_id, sent_at in sent_before:
        params = [
            Touch.Status.SENT,
            datetime.fromisoformat(sent_at),
            message_id,
            pk,
            Touch.Status.SENDING,
        ]
        run(RECORD_SENT, params)
    return list(
        Touch.objects.filter(
            pk__in=[pk for pk, _, _ in sent_before], status__in=SENT_STATES, unsettled=True
        ).select_related("step", "enrollment", "customer")
    )


def _may_send(touch: Touch, recent: dict[int, int], chosen: dict[int, set[int]]) -> bool:
    """Whether the batch's reads let this touch go out now on its channel (its claim then
    checks consent, deletion and the enrollment again, at that instant)."""
    customer = touch.customer
    goal = touch.step.program.goal_tier
    return bool(
        customer.has_consent(touch.channel)
        and not customer.deleted_at
        and touch.enrollment.status == Enrollment.Status.ACTIVE
        and address_for(customer, touch.channel)
        and recent.get(customer.pk, 0) < frequency_cap(customer.frequency).max_touches
        and not (goal and customer.tier and customer.tier.rank >= goal.rank)
        # A step limited to a topic: the slow path skips it, saying why.
        and (touch.step.topic_id is None or touch.step.topic_id in chosen.get(customer.pk, ()))
    )


def _recent_sends(customer_ids: set[int], now: datetime) -> dict[int, int]:
    """How many touches each customer was sent within the cap's period, across all programs."""
    period_start = now - frequency_cap().period
    counted = {*SENT_STATES, Touch.Status.WAITING, Touch.Status.SENDING}
    recent: dict[int, int] = defaultdict(int)
    # Read by customer and sorted out here: a filter on the status could lead the planner to
    # an index of every sent touch (see CLAIM_TO_SEND).
    for customer_id, status in Touch.objects.filter(
        customer_id__in=customer_ids, sent_at__gt=period_start
    ).values_list("customer_id", "status"):
        if status in counted:
            recent[customer_id] += 1
    return recent


def _claim_to_send(touch: Touch, lease: datetime, unrecorded: Touch | list[Touch] | None) -> bool:
    """Claimed -> sending by a conditional update that also re-reads, at this instant, that
    the customer still consents to the channel, is not deleted, still has the address the
    message is for, is under the frequency cap, and the enrollment is active.

    1 row: this worker owns the touch and may send it. 0 rows: another worker (or the
    sweeper) has it, or something changed since the batch was read: the slow path decides.
    On PostgreSQL the same statement records the touch (or touches) sent just before
    (`unrecorded`).
    """
    sql = CLAIM_TO_SEND[touch.channel]
    cap = frequency_cap(touch.customer.frequency)
    address = (
        [address_for(touch.customer, touch.channel)] if touch.channel in ADDRESS_COLUMNS else []
    )
    params = [
        Touch.Status.SENDING,
        lease,
        touch.pk,
        Touch.Status.CLAIMED,
        touch.customer_id,
        *address,
        touch.enrollment_id,
        Enrollment.Status.ACTIVE,
        touch.customer_id,
        touch.pk,
        timezone.now() - cap.period,
        cap.max_touches,
    ]
    recorded = [unrecorded] if isinstance(unrecorded, Touch) else list(unrecorded or [])
    if recorded and connection.vendor == "postgresql":
        if len(recorded) == 1:
            sql = f"WITH sent AS ({RECORD_SENT} RETURNING id) {sql}"
            params = [*_sent_params(recorded[0]), *params]
        else:
            sql = f"WITH sent AS ({RECORD_SENT_MANY} RETURNING t.id) {sql}"
            params = [*_many_sent_params(recorded), *params]
    else:
        for touch_sent in recorded:
            _record_sent(touch_sent)
    claimed = run(sql, params) == 1
    for touch_sent in recorded:
        touch_sent.status, touch_sent.lease_expires_at = Touch.Status.SENT, None
    return claimed


def _deliver_one(
    touch: Touch, module, session, facts, recent: dict[int, int], unrecorded: Touch | None
) -> tuple[str, Touch | None]:
    """Send one touch of the batch: (what became of it, the sent touch not yet recorded).

    A sent touch is recorded together with the next touch's claim, one statement instead of
    two. Until then it stays in sending, as while it was being sent: a crash meanwhile sends
    it to review like any touch the provider may have, and only one touch per worker is ever
    in that state.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.TOUCH_LEASE_SECONDS)
    customer = touch.customer
    claimed = (
        facts is not None
        # The cap again: an earlier touch of this batch may have been sent to the customer.
        and recent.get(customer.pk, 0) < frequency_cap(customer.frequency).max_touches
        and _claim_to_send(touch, lease, unrecorded)
    )
    if not claimed:
        if unrecorded is not None and unrecorded.status == Touch.Status.SENDING:
            _record_sent(unrecorded)
        outcome = _deliver_one_slowly(touch, module, session)
        if outcome in (Touch.Status.SENT, Touch.Status.WAITING):
            recent[customer.pk] = recent.get(customer.pk, 0) + 1
        return outcome, None
    touch.attempts += 1
    touch.status = Touch.Status.SENDING
    outcome = _send(touch, customer, touch.channel, module, session, facts, now)
    if outcome in (Touch.Status.SENT, Touch.Status.WAITING):
        recent[customer.pk] = recent.get(customer.pk, 0) + 1
    return outcome, touch if outcome == Touch.Status.SENT else None


def _deliver_one_slowly(touch: Touch, module, session) -> str:
    """A touch the fast path could not claim: read afresh, claim it if it is still ours, and
    decide (skip, fall back, defer for the cap, exit the enrollment) one query at a time."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.TOUCH_LEASE_SECONDS)
    # Claimed -> sending by a conditional update: 1 row means this worker owns the touch,
    # 0 means another worker (or the sweeper) has it, so stop.
    if not Touch.objects.filter(pk=touch.pk, status=Touch.Status.CLAIMED).update(
        status=Touch.Status.SENDING, lease_expires_at=lease, attempts=F("attempts") + 1
    ):
        return "taken"
    touch.refresh_from_db(fields=["attempts", "status"])
    customer = Customer.objects.select_related("owner", "tier").get(pk=touch.customer_id)
    refusal = _refusal_at_send_time(touch, customer, now)
    if refusal == "cap":
        return _defer(touch, customer, now)
    if refusal:
        return _finish(touch, Touch.Status.SKIPPED, error=refusal)
    channel = touch.channel
    if not customer.has_consent(channel) or not address_for(customer, channel):
        fallback = first_consented(touch.step, customer)
        if fallback is None:
            if channel == Channel.EMAIL and customer.email_suspended_reason:
                return _finish(
                    touch,
                    Touch.Status.SKIPPED,
                    error=english(EMAIL_SUSPENDED, reason=customer.email_suspended_reason),
                )
            return _finish(
                touch,
                Touch.Status.SKIPPED,
                error=gettext_noop("Consent withdrawn on every channel."),
            )
        if fallback != channel:
            # Fall back to another consented channel: hand the touch to that channel's batch.
            Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(
                channel=fallback,
                status=Touch.Status.SCHEDULED,
                due_at=now,
                lease_expires_at=None,
                attempts=touch.attempts - 1,
            )
            return "fallback"
    touch.customer = customer
    outcome = _send(touch, customer, channel, module, session, None, now)
    if outcome == Touch.Status.SENT:
        _record_sent(touch)
    return outcome


def _send(touch: Touch, customer: Customer, channel: str, module, session, facts, now) -> str:
    """Render and send a touch this worker holds in sending. Failures are recorded here; a
    sent touch gets its message id and time, for the caller to record."""
    try:
        message = content.message_for(touch=touch, customer=customer, channel=channel, facts=facts)
        outcome = module.send(message, session)
    except Exception as error:
        return _not_sent(touch, error, now)
    return _handed_over(touch, message, outcome)


def _not_sent(touch: Touch, error: Exception, now: datetime) -> str:
    """Record why a touch held in sending was not sent (or may have been)."""
    if isinstance(error, TransientError):
        return _retry(touch, str(error), now)
    if isinstance(error, PermanentError):
        return _finish(touch, Touch.Status.FAILED, error=str(error))
    if isinstance(error, UncertainError):
        # Like a crash while sending: the provider may have it, so a person decides.
        logger.warning("touch %s to review: %s", touch.pk, error)
        return _finish(touch, Touch.Status.REVIEW, error=str(error))
    if isinstance(error, DATABASE_LOST):
        # Not the touch's fault, and raised before the message was handed over: the retry
        # takes the touch back and sends it.
        error.unsent = [touch.pk]  # type: ignore[union-attr]  # read back by deliver()
        raise error
    # A bug or a template error: fail this touch, not the batch.
    logger.error("touch %s failed", touch.pk, exc_info=error)
    return _finish(touch, Touch.Status.FAILED, error=f"{type(error).__name__}: {error}")


def _handed_over(touch: Touch, message: Message, outcome: Outcome) -> str:
    """A touch the provider took: its message id and time, for the caller to record."""
    if outcome.waiting:
        return _finish(touch, Touch.Status.WAITING, message_id=outcome.message_id)
    touch.sent_at, touch.message_id = timezone.now(), outcome.message_id[:200]
    if message.variant_id:
        Touch.objects.filter(pk=touch.pk).update(variant_id=message.variant_id)
    if outcome.provider_id:
        # Only through a provider's API (anymail): its events name the message by this id.
        touch.provider_message_id = outcome.provider_id[:200]
        Touch.objects.filter(pk=touch.pk).update(provider_message_id=touch.provider_message_id)
    return str(Touch.Status.SENT)


def _sent_params(touch: Touch) -> list:
    return [Touch.Status.SENT, touch.sent_at, touch.message_id, touch.pk, Touch.Status.SENDING]


def _many_sent_params(touches: list[Touch]) -> list:
    return [
        Touch.Status.SENT,
        [touch.pk for touch in touches],
        [touch.sent_at for touch in touches],
        [touch.message_id for touch in touches],
        Touch.Status.SENDING,
    ]


def _record_sent(touch: Touch) -> None:
    """Sending -> sent with the provider's id; only from sending, so a touch the sweeper sent
    to review meanwhile keeps that verdict."""
    run(RECORD_SENT, _sent_params(touch))
    touch.status, touch.lease_expires_at = Touch.Status.SENT, None


def _refusal_at_send_time(touch: Touch, customer: Customer, now: datetime) -> str | None:
    enrollment = Enrollment.objects.get(pk=touch.enrollment_id)
    if customer.deleted_at:
        exit_enrollment(enrollment=enrollment, reason=gettext_noop("customer deleted"))
        return gettext_noop("Customer deleted.")
    if enrollment.status != Enrollment.Status.ACTIVE:
        return ENROLLMENT_ENDED.get(enrollment.status, gettext_noop("Enrollment ended."))
    program = touch.step.program
    if not any(customer.consents().values()) and program.exit_when_unsubscribed:
        exit_enrollment(
            enrollment=enrollment, reason=gettext_noop("unsubscribed from every channel")
        )
        return gettext_noop("Unsubscribed from every channel.")
    if program.goal_tier and customer.tier and customer.tier.rank >= program.goal_tier.rank:
        exit_enrollment(enrollment=enrollment, reason=gettext_noop("goal reached"), completed=True)
        return gettext_noop("Goal reached.")
    refusal = topic_refusal(touch.step, customer)
    if refusal:
        return refusal
    cap = frequency_cap(customer.frequency)
    recent = Touch.objects.filter(
        customer=customer,
        status__in=[*SENT_STATES, Touch.Status.WAITING, Touch.Status.SENDING],
        sent_at__gt=now - cap.period,
    ).exclude(pk=touch.pk)
    if recent.count() >= cap.max_touches:
        return "cap"
    return None


def _defer(touch: Touch, customer: Customer, now: datetime) -> str:
    """The cap is full right now: move the touch to the first instant it allows."""
    cap = frequency_cap(customer.frequency)
    others = list(
        Touch.objects.filter(customer=customer, status__in=COUNTED, due_at__gte=now - cap.period)
        .exclude(pk=touch.pk)
        .values_list("due_at", flat=True)
    )
    sent = Touch.objects.filter(customer=customer, sent_at__gt=now - cap.period).exclude(
        pk=touch.pk
    )
    others += [moment for moment in sent.values_list("sent_at", flat=True) if moment]
    placed = schedule.place(
        due=now,
        zone=zone_of(customer),
        window=send_window(),
        cap=cap,
        others=others,
        not_before=now + timedelta(minutes=1),
    )
    Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(
        status=Touch.Status.SCHEDULED,
        due_at=placed,
        lease_expires_at=None,
        attempts=touch.attempts - 1,
        last_error=gettext_noop("Deferred by the frequency cap."),
    )
    return "deferred"


# The address's suspension reason is the provider's words (a bounce), kept as they came.
EMAIL_SUSPENDED = kept_as_text(gettext_noop("E-mail suspended: %(reason)s"))
ENROLLMENT_ENDED: dict[str, str] = {
    Enrollment.Status.COMPLETED: gettext_noop("Enrollment completed."),
    Enrollment.Status.EXITED: gettext_noop("Enrollment exited."),
}
GAVE_UP = kept_as_text(
    ngettext_noop(
        "Gave up after %(count)s attempt: %(error)s", "Gave up after %(count)s attempts: %(error)s"
    )
)


def _retry(touch: Touch, error: str, now: datetime) -> str:
    """Back off exponentially with jitter; past the attempt limit the touch fails."""
    if touch.attempts >= settings.TOUCH_MAX_ATTEMPTS:
        return _finish(
            touch, Touch.Status.FAILED, error=english(GAVE_UP, count=touch.attempts, error=error)
        )
    delay = settings.TOUCH_RETRY_BASE_SECONDS * 2 ** (touch.attempts - 1)
    delay = delay * (0.5 + random.random())  # jitter: retries from a batch do not stampede
    Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(
        status=Touch.Status.SCHEDULED,
        due_at=now + timedelta(seconds=delay),
        lease_expires_at=None,
        last_error=error[:500],
    )
    return "retry"


def _finish(touch: Touch, status: str, *, error: str = "", message_id: str = "") -> str:
    """Record how a touch ended; only from sending, so a swept touch is never overwritten."""
    fields: dict[str, Any] = {"status": status, "lease_expires_at": None}
    if error:
        fields["last_error"] = error[:500]
    if message_id:
        fields["message_id"] = message_id[:200]
    if status in (Touch.Status.SENT, Touch.Status.WAITING):
        fields["sent_at"] = timezone.now()
    with transaction.atomic():
        moved = Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(**fields)
        for name, value in fields.items():
            setattr(touch, name, value)
        if moved and status == Touch.Status.FAILED:
            announce.touches_moved("touch.failed", [touch])
    return str(status)
