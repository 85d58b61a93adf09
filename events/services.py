"""Every write about events: saving one, inviting customers, their answers (seats, guests and
the waitlist), attendance, walk-ins and no-shows."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from customers import activity, timeline
from customers.models import Customer, Interaction, Tier, TimelineEntry
from customers.sayings import choice, ngettext_noop, said
from events import announce, messages
from events.audience import fits
from events.links import new_token
from events.models import Event, Invitation
from programs.enrollment import enroll, exit_enrollment
from programs.models import Touch

# How many people a customer may bring along.
MAX_GUESTS = 5


@dataclass
class InviteOutcome:
    """Who was invited, and who was skipped and why."""

    invited: list[Invitation] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AnswerOutcome:
    """The answer as stored, and who on the waitlist got a seat through it."""

    invitation: Invitation
    promoted: list[Invitation] = field(default_factory=list)


@transaction.atomic
def save_event(*, event: Event, tiers: Iterable[Tier] | None = None) -> Event:
    """Create or change an event (checked: it ends after it starts, somewhere to be)."""
    problems: dict[str, list[str]] = {}
    if event.starts_at and event.ends_at and event.ends_at <= event.starts_at:
        problems["ends_at"] = ["The event must end after it starts."]
    if not (event.place or event.online_url):
        problems["place"] = ["Say where the event is, or give its online link."]
    if problems:
        raise ValidationError(problems)
    event.full_clean(exclude=["tiers", "program"])
    was = (
        Event.objects.select_for_update()
        .filter(pk=event.pk)
        .values_list("status", flat=True)
        .first()
        if event.pk
        else None
    )
    event.save()
    if tiers is not None:
        event.tiers.set(tiers)
    if event.program_id:
        messages.follow_event(event=event)
    if event.status == Event.Status.CANCELLED and was not in (None, Event.Status.CANCELLED):
        messages.announce_cancellation(event=event)
    return event


@transaction.atomic
def invite(
    *,
    event: Event,
    customers: Iterable[Customer],
    by: User | None = None,
    now: datetime | None = None,
) -> InviteOutcome:
    """Invite customers to an open event: each gets an invitation (its unguessable link) and
    a touch of the event's program that carries it, on their preferred consented channel, in
    the send window, under the frequency cap. Those already invited or outside the event's
    audience are skipped with the reason."""
    now = now or timezone.now()
    # One invitation at a time per event: overlapping runs and API calls never invite a
    # customer twice (the second sees the first's invitations).
    event.status = (
        Event.objects.select_for_update().values_list("status", flat=True).get(pk=event.pk)
    )
    if event.status != Event.Status.OPEN:
        raise ValidationError({"event": [_("Open the event before inviting anyone.")]})
    if event.starts_at <= now:
        raise ValidationError({"event": [_("This event has started: it takes no invitations.")]})
    customers = list(customers)
    outcome = InviteOutcome()
    already = set(
        Invitation.objects.filter(event=event, customer__in=customers).values_list(
            "customer_id", flat=True
        )
    )
    tier_ids = set(event.tiers.values_list("id", flat=True))
    ready = []
    for customer in dict.fromkeys(customers):
        reason = fits(event, customer, tier_ids) or (
            gettext_noop("already invited") if customer.pk in already else None
        )
        if reason:
            outcome.skipped.append({"customer": customer.pk, "reason": reason})
        else:
            ready.append(customer)
    if not ready:
        return outcome
    program = messages.event_program(event=event)
    enrolled = enroll(program=program, customers=ready, by=by, now=now)
    refused = {row["customer"]: row["reason"] for row in enrolled.skipped}
    outcome.skipped.extend({"customer": pk, "reason": why} for pk, why in refused.items())
    ready = [customer for customer in ready if customer.pk not in refused]
    touches = messages.invitation_touches(event=event, customer_ids=[c.pk for c in ready])
    reachable = []
    for customer in ready:
        touch = touches.get(customer.pk)
        if touch is not None and touch.status == Touch.Status.SKIPPED:
            # No channel to reach them: not invited, and free to be invited once they consent.
            exit_enrollment(enrollment=touch.enrollment, reason=touch.last_error, now=now)
            outcome.skipped.append({"customer": customer.pk, "reason": touch.last_error})
        else:
            reachable.append(customer)
    outcome.invited = Invitation.objects.bulk_create(
        [
            Invitation(
                event=event,
                customer=customer,
                token=new_token(),
                touch=touches.get(customer.pk),
                invited_at=now,
            )
            for customer in reachable
        ]
    )
    return outcome


def seats_taken(event: Event, *, besides: int | None = None) -> int:
    """Seats held by those who said yes and are not waiting (guests included)."""
    seated = Invitation.objects.filter(
        event=event, answer=Invitation.Answer.YES, waitlist_position__isnull=True
    )
    if besides is not None:
        seated = seated.exclude(pk=besides)
    return seated.aggregate(seats=Sum(F("guests") + 1))["seats"] or 0


def answer(
    *, invitation: Invitation, answer: str, guests: int = 0, now: datetime | None = None
) -> AnswerOutcome:
    """Record a customer's answer: yes takes seats for them and their guests while seats are
    free, else a place at the end of the waitlist; no, maybe or fewer guests free seats, which
    go to the waitlist in order (and each promoted customer is told). Answers to one event
    are taken one at a time (the event's row is locked), so the last seat goes once."""
    now = now or timezone.now()
    if answer not in (Invitation.Answer.YES, Invitation.Answer.NO, Invitation.Answer.MAYBE):
        raise ValidationError({"answer": [_("Answer yes, no or maybe.")]})
    if not 0 <= guests <= MAX_GUESTS:
        raise ValidationError(
            {"guests": [_("Bring from 0 to %(most)d guests.") % {"most": MAX_GUESTS}]}
        )
    if answer != Invitation.Answer.YES:
        guests = 0
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=invitation.event_id)
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if event.status != Event.Status.OPEN or event.starts_at <= now:
            raise ValidationError({"answer": [_("This event takes no more answers.")]})
        held = current.seats
        current.answer, current.guests, current.answered_at = answer, guests, now
        if answer == Invitation.Answer.YES:
            free = (
                None
                if event.capacity is None
                else event.capacity - seats_taken(event, besides=current.pk)
            )
            if free is None or 1 + guests <= free:
                current.waitlist_position = None
            elif held:
                # Already seated: keep the seat rather than lose it for asking too much.
                raise ValidationError(
                    {
                        "guests": [
                            _("Only %(fit)d guests fit: seats are taken.")
                            % {"fit": max(free - 1, 0)}
                        ]
                    }
                )
            elif current.waitlist_position is None:
                current.waitlist_position = _next_waitlist_position(event)
        else:
            current.waitlist_position = None
        current.save()
        timeline.note_on_timeline(
            customer=current.customer,
            kind=TimelineEntry.Kind.NOTE,
            **_answered_line(event, current),
            occurred_at=now,
            source_id=current.pk,
        )
        announce.answered(current, now=now)
        promoted = _promote(event, now) if current.seats < held else []
    return AnswerOutcome(invitation=current, promoted=promoted)


def _answered_line(event: Event, invitation: Invitation) -> dict:
    answer = choice("event_answer", invitation.answer)
    place = invitation.waitlist_position
    if invitation.guests and place:
        message: str | tuple[str, str] = ngettext_noop(
            "Answered the invitation to %(event)s: %(answer)s with %(count)s guest "
            "(waitlist, number %(place)s)",
            "Answered the invitation to %(event)s: %(answer)s with %(count)s guests "
            "(waitlist, number %(place)s)",
        )
    elif invitation.guests:
        message = ngettext_noop(
            "Answered the invitation to %(event)s: %(answer)s with %(count)s guest",
            "Answered the invitation to %(event)s: %(answer)s with %(count)s guests",
        )
    elif place:
        message = gettext_noop(
            "Answered the invitation to %(event)s: %(answer)s (waitlist, number %(place)s)"
        )
    else:
        message = gettext_noop("Answered the invitation to %(event)s: %(answer)s")
    extra: dict[str, Any] = {"count": invitation.guests} if invitation.guests else {}
    if place:
        extra["place"] = place
    return said(message, event=event.name, answer=answer, **extra)


def _next_waitlist_position(event: Event) -> int:
    last = Invitation.objects.filter(event=event).aggregate(last=Max("waitlist_position"))
    return (last["last"] or 0) + 1


def _promote(event: Event, now: datetime) -> list[Invitation]:
    """Seat those waiting, in order, while their party fits; the first who does not fit
    stops the line (nobody jumps ahead). Each promoted customer is told by a touch."""
    free = None if event.capacity is None else event.capacity - seats_taken(event)
    promoted = []
    for waiting in Invitation.objects.filter(event=event, waitlist_position__isnull=False).order_by(
        "waitlist_position"
    ):
        if free is not None and 1 + waiting.guests > free:
            break
        waiting.waitlist_position, waiting.promoted_at = None, now
        waiting.save(update_fields=["waitlist_position", "promoted_at"])
        if free is not None:
            free -= 1 + waiting.guests
        promoted.append(waiting)
    if promoted:
        messages.tell_promoted(event=event, invitations=promoted, now=now)
    return promoted


@transaction.atomic
def record_attendance(
    *,
    event: Event,
    customers: Iterable[Customer],
    by: User | None = None,
    came_at: datetime | None = None,
    now: datetime | None = None,
) -> list[Invitation]:
    """Mark customers as come: invited ones are checked in, anyone else is a walk-in. Each
    visit is an event interaction on their timeline, which the Community bond stage counts.
    `came_at` is when they came, for attendance recorded afterwards (default: now)."""
    now = now or timezone.now()
    came_at = came_at or now
    customers = [c for c in dict.fromkeys(customers) if not c.deleted_at]
    existing = {
        invitation.customer_id: invitation
        for invitation in Invitation.objects.select_for_update().filter(
            event=event, customer__in=customers
        )
    }
    checked = []
    for customer in customers:
        invitation = existing.get(customer.pk)
        if invitation is None:
            invitation = Invitation.objects.create(
                event=event, customer=customer, token=new_token(), walk_in=True, invited_at=came_at
            )
        elif invitation.attendance == Invitation.Attendance.ATTENDED:
            continue  # a second tap changes nothing
        invitation.attendance, invitation.checked_in_at = Invitation.Attendance.ATTENDED, came_at
        invitation.save(update_fields=["attendance", "checked_in_at"])
        activity.log_interaction(
            customer=customer,
            author=by,
            channel=Interaction.Kind.EVENT,
            direction=Interaction.Direction.INBOUND,
            summary=f"Came to {event.name}" + (" (walk-in)" if invitation.walk_in else ""),
            sentiment=Interaction.Sentiment.POSITIVE,
            occurred_at=came_at,
            now=now,
        )
        checked.append(invitation)
    return checked


@transaction.atomic
def record_no_shows(*, event: Event, now: datetime | None = None) -> int:
    """After the event: those who said yes, held a seat and did not come are no-shows, noted
    on their timelines; returns how many."""
    now = now or timezone.now()
    missing = list(
        Invitation.objects.select_for_update()
        .filter(
            event=event,
            answer=Invitation.Answer.YES,
            waitlist_position__isnull=True,
            attendance=Invitation.Attendance.UNKNOWN,
        )
        .select_related("customer")
    )
    Invitation.objects.filter(pk__in=[i.pk for i in missing]).update(
        attendance=Invitation.Attendance.NO_SHOW
    )
    timeline.note_many_on_timeline(
        entries=[
            TimelineEntry(
                customer=invitation.customer,
                kind=TimelineEntry.Kind.NOTE,
                **said(gettext_noop("Did not come to %(event)s (said yes)"), event=event.name),
                occurred_at=event.ends_at,
                source_id=invitation.pk,
            )
            for invitation in missing
        ]
    )
    return len(missing)


@transaction.atomic
def close_event(*, event: Event, now: datetime | None = None) -> int:
    """Close an event that has ended: no more answers, and its no-shows recorded."""
    now = now or timezone.now()
    if event.ends_at > now:
        raise ValidationError({"event": [_("Close the event once it has ended.")]})
    event.status = Event.Status.CLOSED
    event.save(update_fields=["status"])
    return record_no_shows(event=event, now=now)
