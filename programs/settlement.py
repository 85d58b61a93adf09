"""Settlement: what sent touches leave behind (timeline, rewards, next year's touch,
completed enrollments), written exactly once."""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from customers import rewards, timeline
from customers.models import RewardRule, TimelineEntry
from customers.sayings import choice, said
from programs import announce, schedule
from programs.enrollment import exit_enrollment
from programs.models import SENT_STATES, Enrollment, Step, Touch
from programs.placement import frequency_cap, new_touch, scheduled_times, send_window, zone_of

# A delivery batch settles its sent touches when it ends; one still unsettled this long after
# it was sent belongs to a worker that died or failed before the end.
SETTLE_AFTER = timedelta(minutes=5)


def settle_sent(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Write what sent touches leave behind for those a delivery batch left unsettled (its
    worker killed or failed mid-batch); returns how many. Touches a batch is settling right
    now are locked by it and skipped."""
    now = now or timezone.now()
    with transaction.atomic():
        touches = list(
            Touch.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(unsettled=True, status__in=SENT_STATES, sent_at__lt=now - SETTLE_AFTER)
            .select_related("step", "enrollment", "customer")
            .order_by("sent_at")[:limit]
        )
        return len(settle(touches, now=now)) if touches else 0


@transaction.atomic
def settle(touches: list[Touch], *, now: datetime | None = None) -> list[Touch]:
    """What sent touches leave behind, for a whole batch at once: a timeline line each, the
    gift step's reward, the next year of yearly steps, enrollments now done.

    Exactly once: only for the touches still unsettled, marked settled in the same
    transaction (their rows locked, so the batch and the sweeper never both do it). Returns
    the touches it settled.
    """
    now = now or timezone.now()
    pending = _mark_settled([touch.pk for touch in touches])
    touches = [touch for touch in touches if touch.pk in pending]
    if not touches:
        return []
    lines: dict[tuple[str, str], dict] = {}
    for touch in touches:
        # One line per step and channel, said once: a batch is mostly one step on one channel.
        if (touch.step.name, touch.channel) not in lines:
            lines[touch.step.name, touch.channel] = said(
                gettext_noop("%(step)s sent by %(channel)s"),
                step=touch.step.name,
                channel=choice("channel", touch.channel),
            )
    timeline.note_many_on_timeline(
        entries=[
            TimelineEntry(
                customer_id=touch.customer_id,
                kind=TimelineEntry.Kind.TOUCH,
                **lines[touch.step.name, touch.channel],
                # Set with the sent status; the clock only if a row somehow lost it.
                occurred_at=touch.sent_at or now,
                source_id=touch.pk,
            )
            for touch in touches
        ]
    )
    # One query for the rules of the batch's steps, and none when no step carries one.
    rule_ids = {touch.step.reward_rule_id for touch in touches if touch.step.reward_rule_id}
    rules = RewardRule.objects.in_bulk(rule_ids) if rule_ids else {}
    for touch in touches:
        rule = rules.get(touch.step.reward_rule_id)
        if rule is not None:
            rewards.apply_step_rule(
                rule=rule,
                customer=touch.customer,
                # Once per touch, however often its settling is tried.
                touch_id=touch.pk,
                reason=touch.step.name,
                # With the touch that carried it, as its timeline line.
                given_at=touch.sent_at or now,
                now=now,
            )
    schedule_next_occurrences(touches=[touch for touch in touches if touch.step.is_yearly], now=now)
    complete_if_done({touch.enrollment_id for touch in touches}, now)
    announce.touches_moved("touch.sent", touches, now=now)
    return touches


def _mark_settled(ids: list[int]) -> set[int]:
    """Unsettled -> settled for those of these touches still unsettled, in one statement that
    locks the rows it marks (a sweeper settling them meanwhile has them locked: they come back
    settled, and are not returned); returns the ids it marked."""
    if not ids:
        return set()
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        # One form for both vendors: an IN list of a batch's ids (PostgreSQL and SQLite).
        cursor.execute(
            "UPDATE programs_touch SET unsettled = false"  # noqa: S608 (placeholders only)
            f" WHERE id IN ({marks}) AND unsettled RETURNING id",
            ids,
        )
        return {row[0] for row in cursor.fetchall()}


def schedule_next_occurrences(*, touches: list[Touch], now: datetime | None = None) -> list[Touch]:
    """Yearly steps schedule their next year once this one is done (customer, enrollment and
    step loaded with each touch)."""
    if not touches:
        return []
    now = now or timezone.now()
    window, cap = send_window(), frequency_cap()
    booked = scheduled_times(list({t.customer_id for t in touches}), since=now - cap.period)
    new = []
    for touch in touches:
        customer = touch.customer
        zone = zone_of(customer)
        anchor = schedule.anchor_date(
            kind=touch.step.anchor,
            enrolled_on=touch.enrollment.enrolled_at.astimezone(zone).date(),
            contract_ends_on=None,
            first_purchase_on=customer.first_purchase_on,
            occurrence=touch.occurrence + 1,
        )
        if anchor is None:
            continue
        following = new_touch(
            touch.enrollment,
            touch.step,
            customer,
            touch.occurrence + 1,
            anchor,
            zone,
            window,
            cap,
            booked[customer.pk],
            now,
        )
        # A control enrollment's next year is held too (planned, never sent).
        held = touch.enrollment.group != Enrollment.Group.TREATED
        if held and following.status == Touch.Status.SCHEDULED:
            following.status = Touch.Status.HELD
        new.append(following)
    return Touch.objects.bulk_create(new, ignore_conflicts=True)


def complete_if_done(enrollment_ids: set[int], now: datetime) -> None:
    """Enrollments whose every touch is done (and that have no yearly step) complete."""
    # Failed and review touches still need a person: the enrollment is not done with them.
    done = [*SENT_STATES, Touch.Status.SKIPPED, Touch.Status.CANCELLED, Touch.Status.WITHHELD]
    yearly = [Step.Anchor.ANNIVERSARY_ENROLLMENT, Step.Anchor.ANNIVERSARY_FIRST_PURCHASE]
    busy = Touch.objects.filter(enrollment_id=OuterRef("pk")).filter(
        ~Q(status__in=done) | Q(step__anchor__in=yearly)
    )
    # One query: each enrollment probes its own touches (by the enrollment's index).
    for enrollment in Enrollment.objects.filter(
        pk__in=enrollment_ids, status=Enrollment.Status.ACTIVE
    ).exclude(Exists(busy)):
        exit_enrollment(
            enrollment=enrollment, reason=gettext_noop("all steps done"), completed=True, now=now
        )


def mark_delivered(touch: Touch, *, now: datetime, **provider_ids: str) -> str:
    """The provider says the message arrived: the touch is delivered. One in review (a crash left
    it unsure whether it went) is settled now: what a sent touch leaves behind is due."""
    settling = touch.status == Touch.Status.REVIEW
    Touch.objects.filter(pk=touch.pk).update(
        status=Touch.Status.DELIVERED,
        sent_at=touch.sent_at or now,
        last_error="",
        unsettled=touch.unsettled or settling,
        **provider_ids,
    )
    touch.status, touch.last_error = Touch.Status.DELIVERED, ""
    touch.sent_at = touch.sent_at or now
    announce.touches_moved("touch.delivered", [touch], now=now)
    if settling:
        touch.unsettled = True
        settle([touch], now=now)
    tell_on_timeline(touch=touch, said="delivered")
    return "delivered" + (" (settled from review)" if settling else "")


def tell_on_timeline(*, touch: Touch, said: str) -> None:
    """What the provider said of a sent touch (delivered, opened, clicked) added, once each, to
    the touch's line on the customer's timeline: the 360 page shows the message's fate."""
    entry = (
        TimelineEntry.objects.filter(
            customer_id=touch.customer_id, kind=TimelineEntry.Kind.TOUCH, source_id=touch.pk
        )
        .only("pk", "detail")
        .first()
    )
    if entry is None:
        return  # not settled yet: its line is written with the batch
    parts = [part for part in entry.detail.split("; ") if part]
    if said not in parts:
        TimelineEntry.objects.filter(pk=entry.pk).update(detail="; ".join([*parts, said]))
