"""What an event says through the programs' machinery: its own program (made behind the
scenes) whose touches carry the invitation, the day-before reminder and the news of a seat
freed, placed like every touch (channel, consent, send window, frequency cap); and the values
those touches render (the RSVP link, the time in the customer's zone)."""

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_noop

from customers.models import Customer
from customers.sayings import english, kept_as_text
from events.audience import fits
from events.links import invitation_url, new_token
from events.models import Event, Invitation
from programs.models import Enrollment, Program, Step, Touch
from programs.placement import frequency_cap, new_touch, scheduled_times, send_window, zone_of

# The steps of an event's own program: kind, name, what it says on each channel.
STEPS = [
    {
        "kind": Step.Kind.EVENT_INVITATION,
        "name": "Invitation",
        "anchor": Step.Anchor.ENROLLMENT,
        "offset_days": 0,
        "email_subject": "You are invited: {{ event_name }}",
        "email_body": (
            "Dear {{ first_name }},\n\nwe would be glad to see you at {{ event_name }}, "
            "{{ event_time }}, {{ event_place }}.\n\nWill you come, and bring someone? "
            "Tell us here: {{ event_url }}\n\n{{ owner_name }}"
        ),
        "sms_body": "{{ event_name }}, {{ event_time }}: will you come? {{ event_url }}",
        "call_script": (
            "Invite {{ full_name }} to {{ event_name }}, {{ event_time }}, {{ event_place }}. "
            "Their answer page: {{ event_url }}"
        ),
    },
    {
        "kind": Step.Kind.EVENT_REMINDER,
        "name": "Reminder the day before",
        "anchor": Step.Anchor.EVENT,
        "offset_days": -1,
        "email_subject": "See you {{ event_day }}: {{ event_name }}",
        "email_body": (
            "Dear {{ first_name }},\n\nwe look forward to seeing you {{ event_day }} at "
            "{{ event_name }}, {{ event_time }}, {{ event_place }}.\n\nYour answer and the "
            "calendar entry: {{ event_url }}"
        ),
        "sms_body": (
            "See you {{ event_day }} at {{ event_name }}, {{ event_time }}. {{ event_url }}"
        ),
        "call_script": (
            "Remind {{ full_name }} of {{ event_name }} {{ event_day }}, {{ event_time }}."
        ),
    },
    {
        "kind": Step.Kind.EVENT_SEAT,
        "name": "A seat for you",
        "anchor": Step.Anchor.EVENT,
        "offset_days": 0,
        "email_subject": "A seat is yours: {{ event_name }}",
        "email_body": (
            "Dear {{ first_name }},\n\na seat has come free at {{ event_name }}, "
            "{{ event_time }}, and it is yours.\n\nCannot come after all? Tell us here, so "
            "the next in line gets it: {{ event_url }}"
        ),
        "sms_body": "A seat at {{ event_name }} ({{ event_time }}) is yours. {{ event_url }}",
        "call_script": "Tell {{ full_name }} a seat at {{ event_name }} is theirs now.",
    },
    {
        "kind": Step.Kind.EVENT_CANCELLED,
        "name": "The event is cancelled",
        "anchor": Step.Anchor.EVENT,
        "offset_days": 0,
        "email_subject": "Cancelled: {{ event_name }}",
        "email_body": (
            "Dear {{ first_name }},\n\nwe are sorry: {{ event_name }}, {{ event_time }}, "
            "will not take place. Please do not come.\n\nWe hope to see you at another "
            "of our events.\n\n{{ owner_name }}"
        ),
        "sms_body": (
            "Sorry: {{ event_name }} ({{ event_time }}) is cancelled. Please do not come."
        ),
        "call_script": (
            "Tell {{ full_name }} that {{ event_name }}, {{ event_time }}, is cancelled."
        ),
    },
]

# The touches of an event's own program that wait for the event: cancelled with it.
EVENT_TOUCH_KINDS = (Step.Kind.EVENT_INVITATION, Step.Kind.EVENT_REMINDER, Step.Kind.EVENT_SEAT)
# Why an invitation or reminder was cancelled, kept on the touch.
CANCELLED = kept_as_text(gettext_noop("The event “%(event)s” was cancelled."))


def event_program(*, event: Event) -> Program:
    """The event's own program, made the first time it is needed."""
    if event.program is not None:
        return event.program
    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        if locked.program_id is None:
            program = Program.objects.create(
                for_event=True,
                name=_program_name(event),
                description="Invitations, reminders and freed seats of this event.",
            )
            Step.objects.bulk_create(
                [Step(program=program, order=n, **step) for n, step in enumerate(STEPS, 1)]
            )
            locked.program = program
            locked.save(update_fields=["program"])
        event.program = locked.program
    assert event.program is not None  # made above, or by whoever held the lock first
    return event.program


def _program_name(event: Event) -> str:
    return f"Event: {event.name}"[:120]


def follow_event(*, event: Event) -> None:
    """Keep the event's program named after it, and paused while the event is not open."""
    if event.program_id is None:
        return
    Program.objects.filter(pk=event.program_id).update(
        name=_program_name(event), is_active=event.status == Event.Status.OPEN
    )


def invitation_touches(*, event: Event, customer_ids: list[int]) -> dict[int, Touch]:
    """{customer id: touch} of the invitation touches just made for these customers."""
    program = event_program(event=event)
    return {
        touch.customer_id: touch
        for touch in Touch.objects.filter(
            enrollment__program=program,
            enrollment__status=Enrollment.Status.ACTIVE,
            step__kind=Step.Kind.EVENT_INVITATION,
            customer_id__in=customer_ids,
        ).select_related("enrollment")
    }


def tell_promoted(*, event: Event, invitations: list[Invitation], now: datetime) -> list[Touch]:
    """A touch for each customer who got a seat from the waitlist, sent in their next window."""
    return _schedule(
        event, Step.Kind.EVENT_SEAT, invitations, lambda zone: now.astimezone(zone).date(), now
    )


@transaction.atomic
def remind_attendees(*, now: datetime | None = None) -> int:
    """Schedule the day-before reminder for everyone seated at events of the next two days
    who has none yet; returns how many. Safe to run again: each is reminded once."""
    now = now or timezone.now()
    due = list(
        Invitation.objects.select_for_update(of=("self",))
        .filter(
            event__status=Event.Status.OPEN,
            event__starts_at__gt=now,
            event__starts_at__lte=now + timedelta(days=2),
            answer=Invitation.Answer.YES,
            waitlist_position__isnull=True,
            reminded_at__isnull=True,
        )
        .select_related("event", "customer")
    )
    by_event: dict[int, list[Invitation]] = defaultdict(list)
    for invitation in due:
        by_event[invitation.event_id].append(invitation)
    for invitations in by_event.values():
        event = invitations[0].event
        _schedule(
            event,
            Step.Kind.EVENT_REMINDER,
            invitations,
            lambda zone, event=event: event.starts_at.astimezone(zone).date(),
            now,
            deadline=event.starts_at,
        )
    Invitation.objects.filter(pk__in=[i.pk for i in due]).update(reminded_at=now)
    return len(due)


def _schedule(
    event: Event,
    kind: str,
    invitations: list[Invitation],
    anchor_in: Callable[..., date],
    now: datetime,
    deadline: datetime | None = None,
) -> list[Touch]:
    """Touches of one step of the event's program for these invitations' customers, placed
    like any touch; an enrollment that has finished is started again to carry them. A touch
    whose send window opens only at `deadline` or later is skipped (a reminder for a yes that
    came too late would arrive after the event began)."""
    program = event_program(event=event)
    step = _step(program, kind)
    customers = {i.customer_id: i.customer for i in invitations}
    enrollments = {
        e.customer_id: e
        for e in Enrollment.objects.filter(
            program=program, status=Enrollment.Status.ACTIVE, customer_id__in=customers
        )
    }
    missing = [pk for pk in customers if pk not in enrollments]
    for enrollment in Enrollment.objects.bulk_create(
        [Enrollment(program=program, customer_id=pk, enrolled_at=now) for pk in missing]
    ):
        enrollments[enrollment.customer_id] = enrollment
    last = dict(
        Touch.objects.filter(enrollment__in=enrollments.values(), step=step)
        .values("enrollment_id")
        .annotate(last=Max("occurrence"))
        .values_list("enrollment_id", "last")
    )
    window, cap = send_window(), frequency_cap()
    booked = scheduled_times(list(customers), since=now - cap.period)
    touches = []
    for pk, customer in customers.items():
        zone = zone_of(customer)
        enrollment = enrollments[pk]
        touch = new_touch(
            enrollment,
            step,
            customer,
            last.get(enrollment.pk, 0) + 1,
            anchor_in(zone),
            zone,
            window,
            cap,
            booked[pk],
            now,
        )
        if deadline and touch.status == Touch.Status.SCHEDULED and touch.due_at >= deadline:
            touch.status = Touch.Status.SKIPPED
            touch.last_error = gettext_noop("The event begins before this could be sent.")
        touches.append(touch)
    return Touch.objects.bulk_create(touches)


def _step(program: Program, kind: str) -> Step:
    """The program's step of this kind; an event program made before the kind existed gets it
    (from STEPS) the first time it is needed."""
    step = program.steps.filter(kind=kind).first()
    if step is None:
        (defaults,) = [s for s in STEPS if s["kind"] == kind]
        last = program.steps.aggregate(last=Max("order"))["last"] or 0
        step = Step.objects.create(program=program, order=last + 1, **defaults)
    return step


@transaction.atomic
def announce_cancellation(*, event: Event, now: datetime | None = None) -> int:
    """The event is cancelled: its touches not yet claimed by the dispatcher (invitations,
    reminders, seats freed, and invitations other programs' steps made to it) are cancelled,
    and everyone who said yes or maybe, or waits for a seat, is told by a touch in their next
    send window; returns how many are told."""
    now = now or timezone.now()
    carried = Invitation.objects.filter(event=event, touch__isnull=False).values("touch_id")
    waiting = Touch.objects.filter(status__in=[Touch.Status.SCHEDULED, Touch.Status.HELD])
    reason = english(CANCELLED, event=event.name)[:500]
    if event.program_id:
        waiting.filter(
            enrollment__program_id=event.program_id, step__kind__in=EVENT_TOUCH_KINDS
        ).update(status=Touch.Status.CANCELLED, last_error=reason)
    waiting.filter(pk__in=carried).update(status=Touch.Status.CANCELLED, last_error=reason)
    answered = list(
        Invitation.objects.filter(
            event=event,
            answer__in=[Invitation.Answer.YES, Invitation.Answer.MAYBE],
            customer__deleted_at__isnull=True,
        ).select_related("customer")
    )
    if answered:
        _schedule(
            event,
            Step.Kind.EVENT_CANCELLED,
            answered,
            lambda zone: now.astimezone(zone).date(),
            now,
        )
    return len(answered)


def next_event_for(customer: Customer, events: list[Event]) -> Event | None:
    """The first of these upcoming open events (soonest first) whose audience has the customer."""
    for event in events:
        if fits(event, customer, {t.pk for t in event.tiers.all()}) is None:
            return event
    return None


def day_words(event: Event, customer: Customer, now: datetime) -> str:
    """When the event is, said from `now` in the customer's zone: "today", "tomorrow" or
    "on Friday 12 June" (a reminder sent the day before says tomorrow; one sent on the day,
    to a yes that came late, says today)."""
    zone = zone_of(customer)
    day, today = event.starts_at.astimezone(zone).date(), now.astimezone(zone).date()
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    return f"on {day:%A %-d %B}"


def when(event: Event, customer: Customer) -> str:
    """When the event starts, in the customer's time zone, in words."""
    zone = zone_of(customer)
    local = event.starts_at.astimezone(zone)
    return f"{local:%A %-d %B %Y, %H:%M} ({zone.key})"


def values_of(touches: list[Touch], now: datetime | None = None) -> dict[int, dict[str, str]]:
    """What event touches say, {touch id: values}: the invitation they carry (for a step of
    an ordinary program, one made now to the next open event that fits the customer), and
    the event's day said from `now` (when they are rendered)."""
    now = now or timezone.now()
    carried = Invitation.objects.filter(touch_id__in=[t.pk for t in touches])
    by_touch: dict[int, Invitation] = {
        i.touch_id: i for i in carried.select_related("event") if i.touch_id is not None
    }
    rest = [t for t in touches if t.pk not in by_touch]
    programs = {t.step.program_id for t in rest}
    own_events = {e.program_id: e for e in Event.objects.filter(program_id__in=programs)}
    upcoming = list(
        Event.objects.filter(status=Event.Status.OPEN, starts_at__gt=now)
        .order_by("starts_at", "id")
        .prefetch_related("tiers")
    )
    wanted: dict[Touch, Event] = {}
    for touch in rest:
        event = own_events.get(touch.step.program_id)
        if event is None and touch.step.kind == Step.Kind.EVENT_INVITATION:
            event = next_event_for(touch.customer, upcoming)
        if event is not None:
            wanted[touch] = event
    existing = {
        (i.event_id, i.customer_id): i
        for i in Invitation.objects.filter(
            event__in={e.pk for e in wanted.values()},
            customer_id__in={t.customer_id for t in wanted},
        ).select_related("event")
    }
    new = []
    for touch, event in wanted.items():
        invitation = existing.get((event.pk, touch.customer_id))
        if invitation is None:
            invitation = Invitation(
                event=event, customer_id=touch.customer_id, token=new_token(), touch=touch
            )
            existing[event.pk, touch.customer_id] = invitation
            new.append(invitation)
        by_touch[touch.pk] = invitation
    Invitation.objects.bulk_create(new)
    customers: dict[int, Customer] = {t.pk: t.customer for t in touches}
    return {
        touch_id: {
            "event_url": invitation_url(invitation.token),
            "event_name": invitation.event.name,
            "event_time": when(invitation.event, customers[touch_id]),
            "event_place": invitation.event.place or invitation.event.online_url,
            "event_day": day_words(invitation.event, customers[touch_id], now),
        }
        for touch_id, invitation in by_touch.items()
    }
