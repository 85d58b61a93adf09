"""Every write of the programs app: enroll, dispatch, deliver, sweep, exit, unsubscribe."""

import logging
import random
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from customers import services as customer_services
from customers.models import Channel, Contract, Customer, FollowUp, TimelineEntry
from programs import content, schedule
from programs.channels import PermanentError, TransientError
from programs.channels import email as email_channel
from programs.channels import letter as letter_channel
from programs.channels import phone as phone_channel
from programs.channels import sms as sms_channel
from programs.models import Enrollment, LetterBatch, Program, Step, Touch, UnsubscribeToken

logger = logging.getLogger(__name__)

CHANNELS = {
    Channel.EMAIL: email_channel,
    Channel.SMS: sms_channel,
    Channel.LETTER: letter_channel,
    Channel.PHONE: phone_channel,
}
# Touches in these states still count against the frequency cap.
COUNTED = [
    Touch.Status.SCHEDULED, Touch.Status.CLAIMED, Touch.Status.SENDING, Touch.Status.WAITING,
    Touch.Status.SENT, Touch.Status.REVIEW,
]  # fmt: skip


# A touch in one of these states will not move on by itself.
FINAL = [
    Touch.Status.SENT, Touch.Status.FAILED, Touch.Status.SKIPPED, Touch.Status.CANCELLED,
    Touch.Status.REVIEW,
]  # fmt: skip


def send_window() -> schedule.SendWindow:
    return schedule.SendWindow(
        start=time.fromisoformat(settings.SEND_WINDOW_START),
        end=time.fromisoformat(settings.SEND_WINDOW_END),
    )


def frequency_cap() -> schedule.FrequencyCap:
    return schedule.FrequencyCap(
        max_touches=settings.FREQUENCY_CAP_TOUCHES,
        period=timedelta(days=settings.FREQUENCY_CAP_DAYS),
    )


def zone_of(customer: Customer):
    return schedule.resolve_zone(customer.timezone or None, default=settings.TIME_ZONE)


def first_consented(step: Step, customer: Customer) -> str | None:
    """The first channel of the step's list the customer consented to, with an address for it."""
    for channel in step.channels(customer.preferred_channel):
        if customer.has_consent(channel) and _address(customer, channel):
            return channel
    return None


def _address(customer: Customer, channel: str) -> str:
    if channel == Channel.EMAIL:
        return customer.email
    if channel == Channel.SMS:
        return customer.phone
    if channel == Channel.LETTER:
        return customer.postal_address
    return customer.phone or customer.email or str(customer.pk)  # a call: the owner finds a way


@dataclass
class EnrollOutcome:
    """How many customers were enrolled, who was skipped and why."""

    enrolled: int = 0
    touches: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)


def eligible(program: Program, customer: Customer) -> str | None:
    """Why this customer may not join the program, or None when they may."""
    if customer.deleted_at:
        return "deleted"
    tier_ids = program._tier_ids if hasattr(program, "_tier_ids") else None
    if tier_ids and customer.tier_id not in tier_ids:
        return "not in the program's tiers"
    if program.audiences and customer.audience not in program.audiences:
        return "not in the program's audience"
    if program.relationships and customer.relationship not in program.relationships:
        return "not in the program's relationships"
    return None


def enroll(
    *,
    program: Program,
    customers: Iterable[Customer],
    by: AbstractBaseUser | None = None,
    now: datetime | None = None,
    batch_size: int = 2000,
) -> EnrollOutcome:
    """Enroll customers in a program and schedule one touch per step, set-based, in batches.

    Each touch's due time comes from the step's anchor and offset, placed in the customer's
    time zone inside the send window and under the frequency cap across all programs.
    """
    if not program.is_active:
        raise ValidationError("This program is paused: activate it before enrolling.")
    now = now or timezone.now()
    program._tier_ids = set(program.tiers.values_list("id", flat=True))
    steps = list(program.steps.order_by("order"))
    outcome = EnrollOutcome()
    batch: list[Customer] = []
    for customer in customers:
        batch.append(customer)
        if len(batch) >= batch_size:
            _enroll_batch(program, steps, batch, now, outcome)
            batch = []
    if batch:
        _enroll_batch(program, steps, batch, now, outcome)
    logger.info(
        "program %s: %s enrolled, %s touches, %s skipped",
        program.pk, outcome.enrolled, outcome.touches, len(outcome.skipped),
    )  # fmt: skip
    return outcome


@transaction.atomic
def _enroll_batch(
    program: Program, steps: list[Step], batch: list[Customer], now: datetime, outcome
) -> None:
    ids = [c.pk for c in batch]
    previous: dict[int, list[Enrollment]] = defaultdict(list)
    for enrollment in Enrollment.objects.filter(program=program, customer_id__in=ids):
        previous[enrollment.customer_id].append(enrollment)
    ready = []
    for customer in batch:
        reason = eligible(program, customer) or _reentry_refusal(
            program, previous[customer.pk], now
        )
        if reason:
            outcome.skipped.append({"customer": customer.pk, "reason": reason})
        else:
            ready.append(customer)
    if not ready:
        return
    contract_ends = dict(
        Contract.objects.filter(
            customer_id__in=[c.pk for c in ready],
            ends_on__gte=now.date(),
            renewal_status=Contract.Renewal.PENDING,
        )
        .order_by()
        .values("customer_id")
        .annotate(ends=Min("ends_on"))
        .values_list("customer_id", "ends")
    )
    others = _scheduled_times([c.pk for c in ready], since=now - frequency_cap().period)
    enrollments = Enrollment.objects.bulk_create(
        [Enrollment(program=program, customer=c, enrolled_at=now) for c in ready]
    )
    window, cap = send_window(), frequency_cap()
    touches = []
    for customer, enrollment in zip(ready, enrollments, strict=True):
        zone = zone_of(customer)
        enrolled_on = now.astimezone(zone).date()
        for step in steps:
            anchor = schedule.anchor_date(
                kind=step.anchor,
                enrolled_on=enrolled_on,
                contract_ends_on=contract_ends.get(customer.pk),
                first_purchase_on=customer.first_purchase_on,
                occurrence=1,
            )
            if anchor is None:
                continue  # e.g. no contract to renew; added when one is signed
            touch = _new_touch(enrollment, step, customer, 1, anchor, zone, window, cap,
                               others[customer.pk], now)  # fmt: skip
            touches.append(touch)
    Touch.objects.bulk_create(touches, batch_size=5000)
    outcome.enrolled += len(ready)
    outcome.touches += len(touches)


def _new_touch(
    enrollment, step, customer, occurrence, anchor, zone, window, cap, others, now
) -> Touch:
    """A touch of `step` for `customer`, placed; `others` grows with it (the cap's memory)."""
    due = schedule.due_at(anchor=anchor, offset_days=step.offset_days, zone=zone, window=window)
    channel = first_consented(step, customer)
    if channel is None:
        return Touch(
            enrollment=enrollment, step=step, customer=customer, occurrence=occurrence,
            due_at=max(due, now), channel=step.channels(customer.preferred_channel)[0],
            status=Touch.Status.SKIPPED, last_error="No consent on any of the step's channels.",
        )  # fmt: skip
    placed = schedule.place(
        due=due, zone=zone, window=window, cap=cap, others=others, not_before=now
    )
    others.append(placed)
    return Touch(
        enrollment=enrollment, step=step, customer=customer, occurrence=occurrence,
        due_at=placed, channel=channel,
    )  # fmt: skip


def _reentry_refusal(program: Program, previous: list[Enrollment], now: datetime) -> str | None:
    if any(e.status == Enrollment.Status.ACTIVE for e in previous):
        return "already enrolled"
    if not previous:
        return None
    if program.reentry == Program.Reentry.ONCE:
        return "was enrolled before (the program allows one enrollment)"
    last = max(e.enrolled_at for e in previous)
    if now - last < timedelta(days=program.reentry_days or 0):
        return f"enrolled less than {program.reentry_days} days ago"
    return None


def _scheduled_times(customer_ids: list[int], *, since: datetime) -> dict[int, list[datetime]]:
    """Every counted touch time of these customers from `since` on, across all programs."""
    times: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, due in Touch.objects.filter(
        customer_id__in=customer_ids, status__in=COUNTED, due_at__gte=since
    ).values_list("customer_id", "due_at"):
        times[customer_id].append(due)
    return times


@transaction.atomic
def exit_enrollment(*, enrollment: Enrollment, reason: str, completed: bool = False) -> bool:
    """End an enrollment (exit with a reason, or completed) and cancel its scheduled touches."""
    ended = Enrollment.objects.filter(pk=enrollment.pk, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.COMPLETED if completed else Enrollment.Status.EXITED,
        exit_reason=reason[:200],
        ended_at=timezone.now(),
    )
    if ended:
        Touch.objects.filter(enrollment=enrollment, status=Touch.Status.SCHEDULED).update(
            status=Touch.Status.CANCELLED, last_error=f"Enrollment ended: {reason}"[:500]
        )
    return bool(ended)


def dispatch_due(*, now: datetime | None = None, batch_size: int | None = None) -> list[list[int]]:
    """Claim due touches (FOR UPDATE SKIP LOCKED) with a lease; return delivery batches of ids.

    The caller enqueues one delivery task per batch after the claim commits, so a task never
    sees a touch that is not yet claimed, and a lost task only delays its touches: the lease
    runs out and the sweeper puts them back.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.DISPATCH_BATCH_SIZE
    lease = now + timedelta(seconds=settings.TOUCH_LEASE_SECONDS)
    with transaction.atomic():
        due = list(
            Touch.objects.select_for_update(skip_locked=True)
            .filter(status=Touch.Status.SCHEDULED, due_at__lte=now)
            .order_by("due_at", "id")
            .values_list("id", "channel")[:batch_size]
        )
        if not due:
            return []
        Touch.objects.filter(pk__in=[pk for pk, _ in due]).update(
            status=Touch.Status.CLAIMED, lease_expires_at=lease
        )
    by_channel: dict[str, list[int]] = defaultdict(list)
    for pk, channel in due:
        by_channel[channel].append(pk)
    size = settings.DELIVERY_BATCH_SIZE
    return [ids[i : i + size] for ids in by_channel.values() for i in range(0, len(ids), size)]


def sweep_leases(*, now: datetime | None = None) -> dict[str, int]:
    """Touches whose lease ran out: claimed ones go back to scheduled (nothing was sent);
    sending ones go to review, since the provider may have them: never resent blindly."""
    now = now or timezone.now()
    reclaimed = Touch.objects.filter(status=Touch.Status.CLAIMED, lease_expires_at__lt=now).update(
        status=Touch.Status.SCHEDULED, lease_expires_at=None
    )
    reviewed = Touch.objects.filter(status=Touch.Status.SENDING, lease_expires_at__lt=now).update(
        status=Touch.Status.REVIEW,
        last_error="The worker stopped while sending: check whether it arrived.",
    )
    if reclaimed or reviewed:
        logger.warning("sweeper: %s touches reclaimed, %s to review", reclaimed, reviewed)
    return {"reclaimed": reclaimed, "review": reviewed}


def deliver(*, touch_ids: list[int]) -> dict[str, int]:
    """Send a batch of claimed touches over one channel session; each touch commits alone."""
    counts: dict[str, int] = defaultdict(int)
    touches = list(
        Touch.objects.filter(pk__in=touch_ids, status=Touch.Status.CLAIMED)
        .select_related("step__program", "enrollment", "customer__owner", "customer__tier")
        .order_by("id")
    )
    by_channel: dict[str, list[Touch]] = defaultdict(list)
    for touch in touches:
        by_channel[touch.channel].append(touch)
    for channel, group in by_channel.items():
        module = CHANNELS[channel]
        with module.open() as session:
            for touch in group:
                counts[_deliver_one(touch, module, session)] += 1
    return dict(counts)


def _deliver_one(touch: Touch, module, session) -> str:
    now = timezone.now()
    lease = now + timedelta(seconds=settings.TOUCH_LEASE_SECONDS)
    # Claimed -> sending by a conditional update: 1 row means this worker owns the touch,
    # 0 means another worker (or the sweeper) has it, so stop.
    if not Touch.objects.filter(pk=touch.pk, status=Touch.Status.CLAIMED).update(
        status=Touch.Status.SENDING, lease_expires_at=lease, attempts=touch.attempts + 1
    ):
        return "taken"
    touch.attempts += 1
    customer = Customer.objects.select_related("owner", "tier").get(pk=touch.customer_id)
    refusal = _refusal_at_send_time(touch, customer, now)
    if refusal == "cap":
        return _defer(touch, customer, now)
    if refusal:
        return _finish(touch, Touch.Status.SKIPPED, error=refusal)
    channel = touch.channel
    if not customer.has_consent(channel) or not _address(customer, channel):
        channel = first_consented(touch.step, customer)
        if channel is None:
            return _finish(touch, Touch.Status.SKIPPED, error="Consent withdrawn on every channel.")
        if channel != touch.channel:
            # Fall back to another consented channel: hand the touch to that channel's batch.
            Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(
                channel=channel, status=Touch.Status.SCHEDULED, due_at=now, lease_expires_at=None,
                attempts=touch.attempts - 1,
            )  # fmt: skip
            return "fallback"
    try:
        message = content.message_for(touch=touch, customer=customer, channel=channel)
        outcome = module.send(message, session)
    except TransientError as error:
        return _retry(touch, str(error), now)
    except PermanentError as error:
        return _finish(touch, Touch.Status.FAILED, error=str(error))
    except Exception as error:  # a bug or a template error: fail this touch, not the batch
        logger.exception("touch %s failed", touch.pk)
        return _finish(touch, Touch.Status.FAILED, error=f"{type(error).__name__}: {error}")
    status = Touch.Status.WAITING if outcome.waiting else Touch.Status.SENT
    _finish(touch, status, message_id=outcome.message_id)
    if status == Touch.Status.SENT:
        _after_sent(touch, customer)
    return str(status)


def _refusal_at_send_time(touch: Touch, customer: Customer, now: datetime) -> str | None:
    enrollment = Enrollment.objects.get(pk=touch.enrollment_id)
    if customer.deleted_at:
        exit_enrollment(enrollment=enrollment, reason="customer deleted")
        return "Customer deleted."
    if enrollment.status != Enrollment.Status.ACTIVE:
        return f"Enrollment {enrollment.get_status_display().lower()}."
    program = touch.step.program
    if not any(customer.consents().values()) and program.exit_when_unsubscribed:
        exit_enrollment(enrollment=enrollment, reason="unsubscribed from every channel")
        return "Unsubscribed from every channel."
    if program.goal_tier_id and customer.tier and customer.tier.rank >= program.goal_tier.rank:
        exit_enrollment(enrollment=enrollment, reason="goal reached", completed=True)
        return "Goal reached."
    cap = frequency_cap()
    recent = Touch.objects.filter(
        customer=customer,
        status__in=[Touch.Status.SENT, Touch.Status.WAITING, Touch.Status.SENDING],
        sent_at__gt=now - cap.period,
    ).exclude(pk=touch.pk)
    if recent.count() >= cap.max_touches:
        return "cap"
    return None


def _defer(touch: Touch, customer: Customer, now: datetime) -> str:
    """The cap is full right now: move the touch to the first instant it allows."""
    cap = frequency_cap()
    others = list(
        Touch.objects.filter(
            customer=customer, status__in=COUNTED, due_at__gte=now - cap.period
        ).exclude(pk=touch.pk).values_list("due_at", flat=True)
    )  # fmt: skip
    sent = Touch.objects.filter(customer=customer, sent_at__gt=now - cap.period).exclude(
        pk=touch.pk
    )
    others += [moment for moment in sent.values_list("sent_at", flat=True) if moment]
    placed = schedule.place(
        due=now, zone=zone_of(customer), window=send_window(), cap=cap, others=others,
        not_before=now + timedelta(minutes=1),
    )  # fmt: skip
    Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(
        status=Touch.Status.SCHEDULED, due_at=placed, lease_expires_at=None,
        attempts=touch.attempts - 1, last_error="Deferred by the frequency cap.",
    )  # fmt: skip
    return "deferred"


def _retry(touch: Touch, error: str, now: datetime) -> str:
    """Back off exponentially with jitter; past the attempt limit the touch fails."""
    if touch.attempts >= settings.TOUCH_MAX_ATTEMPTS:
        return _finish(touch, Touch.Status.FAILED, error=f"Gave up after {touch.attempts} "
                                                          f"attempts: {error}")  # fmt: skip
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
    Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(**fields)
    for name, value in fields.items():
        setattr(touch, name, value)
    return str(status)


def _after_sent(touch: Touch, customer: Customer) -> None:
    """What a sent touch leaves behind: a timeline line, the next anniversary, a reward."""
    customer_services.note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.TOUCH,
        title=f"{touch.step.name} sent by {Channel(touch.channel).label}",
        occurred_at=touch.sent_at,
        source_id=touch.pk,
    )
    step = touch.step
    if step.kind == Step.Kind.GIFT and step.reward_kind:
        customer_services.give_reward(
            customer=customer, kind=step.reward_kind, value=step.reward_value, reason=step.name
        )
    if step.is_yearly:
        schedule_next_occurrence(touch=touch, customer=customer)
    _complete_if_done(touch.enrollment_id)


def schedule_next_occurrence(*, touch: Touch, customer: Customer) -> Touch | None:
    """A yearly step schedules its next year once this one is done."""
    enrollment = touch.enrollment
    zone = zone_of(customer)
    anchor = schedule.anchor_date(
        kind=touch.step.anchor,
        enrolled_on=enrollment.enrolled_at.astimezone(zone).date(),
        contract_ends_on=None,
        first_purchase_on=customer.first_purchase_on,
        occurrence=touch.occurrence + 1,
    )
    if anchor is None:
        return None
    now = timezone.now()
    others = _scheduled_times([customer.pk], since=now - frequency_cap().period)[customer.pk]
    nxt = _new_touch(enrollment, touch.step, customer, touch.occurrence + 1, anchor, zone,
                     send_window(), frequency_cap(), others, now)  # fmt: skip
    Touch.objects.bulk_create([nxt], ignore_conflicts=True)
    return nxt


def _complete_if_done(enrollment_id: int) -> None:
    # Failed and review touches still need a person: the enrollment is not done with them.
    done = [Touch.Status.SENT, Touch.Status.SKIPPED, Touch.Status.CANCELLED]
    open_touches = Touch.objects.filter(enrollment_id=enrollment_id).exclude(status__in=done)
    yearly = Step.objects.filter(
        touches__enrollment_id=enrollment_id,
        anchor__in=[Step.Anchor.ANNIVERSARY_ENROLLMENT, Step.Anchor.ANNIVERSARY_FIRST_PURCHASE],
    )
    if not open_touches.exists() and not yearly.exists():
        enrollment = Enrollment.objects.get(pk=enrollment_id)
        exit_enrollment(enrollment=enrollment, reason="all steps done", completed=True)


def mark_waiting_done(*, touch: Touch, how: str) -> bool:
    """A call was logged or a letter posted: the waiting touch counts as sent."""
    done = Touch.objects.filter(pk=touch.pk, status=Touch.Status.WAITING).update(
        status=Touch.Status.SENT, sent_at=timezone.now()
    )
    if done:
        touch.refresh_from_db()
        _after_sent(touch, touch.customer)
        logger.info("touch %s done: %s", touch.pk, how)
    return bool(done)


def follow_up_done(*, follow_up: FollowUp) -> None:
    """The owner made the call a phone touch asked for."""
    if follow_up.source.startswith("touch:"):
        touch = Touch.objects.filter(pk=int(follow_up.source.split(":", 1)[1])).first()
        if touch is not None:
            mark_waiting_done(touch=touch, how="call logged")


@transaction.atomic
def mark_letters_posted(*, batch: LetterBatch) -> int:
    """The printed letters went out: their touches are sent."""
    if not LetterBatch.objects.filter(pk=batch.pk, posted_at__isnull=True).update(
        posted_at=timezone.now()
    ):
        return 0
    done = 0
    for touch in batch.touches.filter(status=Touch.Status.WAITING).select_related("customer"):
        done += mark_waiting_done(touch=touch, how="letter posted")
    return done


def record_response(*, touch: Touch) -> bool:
    """The customer answered (a survey, a reply): the touch counts as responded."""
    return bool(
        Touch.objects.filter(pk=touch.pk, responded_at__isnull=True).update(
            responded_at=timezone.now()
        )
    )


def survey_answered(*, response) -> None:
    """An answer marks its touch responded; a promoter is asked for a referral at once."""
    touch_id = response.invitation.touch_id
    if touch_id:
        touch = Touch.objects.filter(pk=touch_id).first()
        if touch is not None:
            record_response(touch=touch)
    if response.category == "promoter":
        schedule_now(customer=response.customer, kind=Step.Kind.REFER_FRIEND)


def schedule_now(*, customer: Customer, kind: str) -> int:
    """Bring the customer's scheduled touches of this step kind forward to now (e.g. a
    promoter is asked for a referral at once); returns how many moved."""
    now = timezone.now()
    return Touch.objects.filter(
        customer=customer, step__kind=kind, status=Touch.Status.SCHEDULED, due_at__gt=now
    ).update(due_at=now)


def unsubscribe_token(*, customer: Customer, channel: str) -> str:
    """The customer's unguessable one-click unsubscribe token for a channel (made once)."""
    token, _ = UnsubscribeToken.objects.get_or_create(
        customer=customer, channel=channel, defaults={"token": secrets.token_urlsafe(24)}
    )
    return token.token


@transaction.atomic
def unsubscribe(*, token: str, channels: list[str] | None = None) -> Customer | None:
    """Withdraw consent at once (RFC 8058 one-click, or the channels a customer chose);
    idempotent. Returns the customer, or None for an unknown token."""
    link = UnsubscribeToken.objects.select_related("customer").filter(token=token).first()
    if link is None:
        return None
    for channel in channels or [link.channel]:
        customer_services.set_consent(
            customer=link.customer, channel=channel, granted=False, source="unsubscribe link"
        )
    return link.customer


def stop_by_sms(*, phone: str) -> int:
    """An inbound STOP: withdraw SMS consent of every customer with that number."""
    stopped = 0
    for customer in Customer.objects.filter(phone=phone, deleted_at__isnull=True):
        stopped += customer_services.set_consent(
            customer=customer, channel=Channel.SMS, granted=False, source="SMS STOP"
        )
    return stopped


def add_renewal_touches(*, contract: Contract) -> int:
    """A contract was signed: active enrollments with a renewal step schedule it now."""
    customer = contract.customer
    steps = Step.objects.filter(
        anchor=Step.Anchor.CONTRACT_END,
        program__enrollments__customer=customer,
        program__enrollments__status=Enrollment.Status.ACTIVE,
    ).distinct()
    now = timezone.now()
    created = 0
    for step in steps:
        enrollment = Enrollment.objects.get(
            program=step.program, customer=customer, status=Enrollment.Status.ACTIVE
        )
        if Touch.objects.filter(enrollment=enrollment, step=step).exists():
            continue
        others = _scheduled_times([customer.pk], since=now - frequency_cap().period)[customer.pk]
        touch = _new_touch(enrollment, step, customer, 1, contract.ends_on, zone_of(customer),
                           send_window(), frequency_cap(), others, now)  # fmt: skip
        Touch.objects.bulk_create([touch], ignore_conflicts=True)
        created += 1
    return created


def enroll_on_tier(*, customer: Customer, tier) -> int:
    """Programs that enroll customers reaching this tier take them in."""
    enrolled = 0
    for program in Program.objects.filter(auto_enroll_tier=tier, is_active=True):
        enrolled += enroll(program=program, customers=[customer]).enrolled
    return enrolled


def leave_on_goal(*, customer: Customer, tier) -> int:
    """Enrollments whose goal tier the customer reached end, completed."""
    ended = 0
    for enrollment in Enrollment.objects.filter(
        customer=customer,
        status=Enrollment.Status.ACTIVE,
        program__goal_tier__rank__lte=tier.rank,
    ):
        ended += exit_enrollment(enrollment=enrollment, reason="goal reached", completed=True)
    return ended


def move_merged(*, survivor: Customer, merged: Customer) -> None:
    """A merge moves the merged customer's enrollments and touches to the survivor."""
    Touch.objects.filter(customer=merged).update(customer=survivor)
    Enrollment.objects.filter(customer=merged).update(customer=survivor)
    UnsubscribeToken.objects.filter(customer=merged).delete()
