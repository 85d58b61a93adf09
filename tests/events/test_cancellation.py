"""Cancelling an event tells everyone who said yes or maybe, or waits for a seat, through the
channel rules, and cancels the event's touches not yet claimed (invitations, reminders, seats)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from events import services
from events.messages import remind_attendees
from events.models import Event, Invitation
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.models import Step, Touch
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def send_due() -> dict:
    Touch.objects.filter(status=Touch.Status.SCHEDULED).update(due_at=timezone.now())
    outcome: dict = {}
    for batch in dispatch_due(batch_size=100):
        for key, n in deliver(touch_ids=batch).items():
            outcome[key] = outcome.get(key, 0) + n
    return outcome


def test_cancelling_tells_yes_maybe_and_waitlisted_and_cancels_waiting_touches(make_event):
    starts = timezone.now() + timedelta(days=1, hours=12)
    event = make_event(capacity=2, starts_at=starts, ends_at=starts + timedelta(hours=2))
    people = {
        name: CustomerFactory(first_name=name, consent_email=True)
        for name in ("Freed", "Yes", "Promoted", "Waiting", "Maybe", "No", "Silent")
    }
    services.invite(event=event, customers=people.values())
    invitation = {
        name: Invitation.objects.get(event=event, customer=customer)
        for name, customer in people.items()
    }
    for name, words in [
        *[("Freed", "yes"), ("Yes", "yes"), ("Promoted", "yes"), ("Waiting", "yes")],
        *[("Maybe", "maybe"), ("No", "no")],
    ]:
        services.answer(invitation=invitation[name], answer=words)
    # Freed's seat goes to Promoted (told by a seat touch); Waiting still waits.
    services.answer(invitation=invitation["Freed"], answer="no")
    assert remind_attendees() == 2
    # One invitation already claimed by the dispatcher goes its way.
    claimed = Touch.objects.get(customer=people["Silent"], step__kind=Step.Kind.EVENT_INVITATION)
    claimed.status = Touch.Status.CLAIMED
    claimed.save()
    assert Touch.objects.filter(
        step__kind__in=[Step.Kind.EVENT_REMINDER, Step.Kind.EVENT_SEAT], status="scheduled"
    ).exists()

    event.status = Event.Status.CANCELLED
    services.save_event(event=event)

    left = Touch.objects.filter(status=Touch.Status.SCHEDULED)
    assert set(left.values_list("step__kind", flat=True)) == {Step.Kind.EVENT_CANCELLED}
    told = sorted(left.values_list("customer__first_name", flat=True))
    assert told == ["Maybe", "Promoted", "Waiting", "Yes"]
    assert Touch.objects.get(pk=claimed.pk).status == Touch.Status.CLAIMED
    cancelled = Touch.objects.filter(status=Touch.Status.CANCELLED)
    assert cancelled.exists()
    assert set(cancelled.values_list("last_error", flat=True)) == {
        "The event “Owners' club evening” was cancelled."
    }
    Touch.objects.filter(pk=claimed.pk).update(status=Touch.Status.CANCELLED)
    assert send_due() == {"sent": 4}
    assert {m.subject for m in mail.outbox} == {"Cancelled: Owners' club evening"}
    assert "will not take place" in mail.outbox[0].body

    # Saving the cancelled event again tells nobody twice.
    services.save_event(event=event)
    assert Touch.objects.filter(step__kind=Step.Kind.EVENT_CANCELLED).count() == 4


def test_a_customer_without_consent_is_not_told_by_a_channel_they_refused(make_event, invite_to):
    event = make_event()
    quiet = invite_to(event, CustomerFactory(consent_email=False, consent_sms=False))
    services.answer(invitation=quiet, answer="yes")

    event.status = Event.Status.CANCELLED
    services.save_event(event=event)

    (notice,) = Touch.objects.filter(step__kind=Step.Kind.EVENT_CANCELLED)
    assert notice.status == Touch.Status.SKIPPED
