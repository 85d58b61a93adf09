"""Invitations go out as touches of the programs' machinery, carrying the /e/<token>/ link;
reminders the day before to those who said yes."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Tier
from events import services
from events.messages import remind_attendees
from events.models import Event, Invitation
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.enrollment import enroll
from programs.models import Program, Step, Touch
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://bonding.example.com"


def send_due() -> dict:
    Touch.objects.filter(status=Touch.Status.SCHEDULED).update(due_at=timezone.now())
    outcome: dict = {}
    for batch in dispatch_due(batch_size=100):
        for key, n in deliver(touch_ids=batch).items():
            outcome[key] = outcome.get(key, 0) + n
    return outcome


def test_inviting_schedules_a_touch_per_customer_that_carries_their_own_link(make_event):
    event = make_event()
    ann = CustomerFactory(first_name="Ann", consent_email=True, timezone="Europe/Paris")
    bob = CustomerFactory(first_name="Bob", consent_email=True)

    outcome = services.invite(event=event, customers=[ann, bob])

    assert len(outcome.invited) == 2 and outcome.skipped == []
    touches = Touch.objects.filter(step__program__event=event, status="scheduled")
    assert sorted(touches.values_list("customer_id", flat=True)) == sorted([ann.pk, bob.pk])
    assert send_due() == {"sent": 2}
    invitation = Invitation.objects.get(event=event, customer=ann)
    (message,) = [m for m in mail.outbox if m.to == [ann.email]]
    assert message.subject == "You are invited: Owners' club evening"
    assert f"https://bonding.example.com/e/{invitation.token}/" in message.body
    assert "(Europe/Paris)" in message.body
    assert invitation.touch.status == Touch.Status.SENT


def test_those_already_invited_outside_the_audience_or_unreachable_are_skipped(make_event):
    top = Tier.objects.order_by("-rank").first()
    event = make_event()
    event.tiers.set([top])
    inside = CustomerFactory(consent_email=True, tier=top)
    outside = CustomerFactory(consent_email=True)
    silent = CustomerFactory(tier=top)  # no consent on any channel
    services.invite(event=event, customers=[inside])

    outcome = services.invite(event=event, customers=[inside, outside, silent])

    reasons = {row["customer"]: row["reason"] for row in outcome.skipped}
    assert outcome.invited == []
    assert reasons[inside.pk] == "already invited"
    assert reasons[outside.pk] == "not in the event's tiers"
    assert "consent" in reasons[silent.pk]
    assert not Invitation.objects.filter(customer=silent).exists()


def test_an_event_that_is_not_open_invites_nobody(make_event):
    event = make_event(status=Event.Status.DRAFT)

    with pytest.raises(ValidationError):
        services.invite(event=event, customers=[CustomerFactory(consent_email=True)])

    assert not Invitation.objects.exists()


def test_a_program_step_invites_each_customer_to_the_next_open_event_that_fits(make_event):
    soon = make_event(
        name="Spring evening",
        starts_at=timezone.now() + timedelta(days=5),
        ends_at=timezone.now() + timedelta(days=5, hours=2),
    )
    make_event(
        name="Summer evening",
        starts_at=timezone.now() + timedelta(days=50),
        ends_at=timezone.now() + timedelta(days=50, hours=2),
    )
    program = Program.objects.create(name="Community")
    Step.objects.create(
        program=program,
        order=1,
        kind=Step.Kind.EVENT_INVITATION,
        name="Come along",
        email_subject="Join us",
        email_body="{{ event_name }}: {{ event_url }}",
    )
    customer = CustomerFactory(consent_email=True)
    enroll(program=program, customers=[customer])

    assert send_due() == {"sent": 1}

    invitation = Invitation.objects.get(customer=customer)
    assert invitation.event == soon
    assert re.search(rf"Spring evening: \S+/e/{invitation.token}/", mail.outbox[0].body)


def test_with_no_open_event_that_fits_the_step_fails_with_the_reason():
    program = Program.objects.create(name="Community")
    Step.objects.create(
        program=program,
        order=1,
        kind=Step.Kind.EVENT_INVITATION,
        name="Come along",
        email_subject="Join us",
        email_body="{{ event_url }}",
    )
    enroll(program=program, customers=[CustomerFactory(consent_email=True)])

    assert send_due() == {"failed": 1}
    assert "Nothing to say" in Touch.objects.get().last_error
    assert mail.outbox == []


def test_those_seated_are_reminded_once_the_day_before(make_event, invite_to):
    # Tomorrow at 20:00 in Berlin, where the seated customer lives: the reminder, sent today,
    # says "tomorrow".
    berlin = ZoneInfo("Europe/Berlin")
    tomorrow = timezone.now().astimezone(berlin).date() + timedelta(days=1)
    starts = datetime.combine(tomorrow, time(20, 0), tzinfo=berlin)
    event = make_event(starts_at=starts, ends_at=starts + timedelta(hours=3))
    seated = invite_to(event, CustomerFactory(consent_email=True, timezone="Europe/Berlin"))
    declined = invite_to(event, CustomerFactory(consent_email=True))
    services.answer(invitation=seated, answer="yes")
    services.answer(invitation=declined, answer="no")

    assert remind_attendees() == 1
    assert remind_attendees() == 0

    (reminder,) = Touch.objects.filter(step__kind=Step.Kind.EVENT_REMINDER)
    assert reminder.customer_id == seated.customer_id
    assert reminder.due_at < event.starts_at
    assert send_due() == {"sent": 1}
    assert mail.outbox[0].subject == "See you tomorrow: Owners' club evening"
    assert f"/e/{seated.token}/" in mail.outbox[0].body


def test_a_marketer_cannot_add_an_event_only_step_to_an_ordinary_program(client, marketer):
    program = Program.objects.create(name="Community")
    client.force_login(marketer)

    response = client.post(
        f"/programs/{program.pk}/steps/new/",
        {
            "kind": "event_reminder",
            "name": "Reminder",
            "anchor": "event",
            "offset_days": "-1",
            "channel_mode": "preferred",
            "channel": "email",
            "email_subject": "Tomorrow",
            "email_body": "{{ event_url }}",
            "reward_value": "0",
        },
    )

    assert response.status_code == 400
    assert "Only an event&#x27;s own program has this step." in response.content.decode()
    assert not program.steps.exists()
