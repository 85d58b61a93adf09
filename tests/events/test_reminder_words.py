"""The reminder says when the event is from the day it goes, in the customer's time zone:
"tomorrow" only when the event is tomorrow there, "today" for a yes that came within a day,
else the date; a reminder that could only go after the event began is skipped."""

from datetime import UTC, datetime, timedelta

import pytest

from events import services
from events.messages import day_words, remind_attendees, values_of
from events.models import Event
from programs.models import Step, Touch
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# Friday 13 March 2026, 00:30 UTC: 01:30 on the 13th in Berlin, 20:30 on the 12th in New York.
STARTS = datetime(2026, 3, 13, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "now", "words"),
    [
        ("America/New_York", datetime(2026, 3, 11, 18, 0, tzinfo=UTC), "tomorrow"),
        ("Europe/Berlin", datetime(2026, 3, 11, 18, 0, tzinfo=UTC), "on Friday 13 March"),
        ("Europe/Berlin", datetime(2026, 3, 12, 18, 0, tzinfo=UTC), "tomorrow"),
        ("America/New_York", datetime(2026, 3, 12, 14, 0, tzinfo=UTC), "today"),
        ("Europe/Berlin", datetime(2026, 3, 12, 23, 30, tzinfo=UTC), "today"),
    ],
)
def test_the_day_is_said_in_the_customers_zone(zone, now, words):
    event = Event(starts_at=STARTS, ends_at=STARTS + timedelta(hours=2))
    customer = CustomerFactory.build(timezone=zone)

    assert day_words(event, customer, now) == words


def yes_to(make_event, invite_to, starts: datetime, answered: datetime):
    event = make_event(starts_at=starts, ends_at=starts + timedelta(hours=3), capacity=None)
    invitation = invite_to(event, CustomerFactory(consent_email=True, timezone="Europe/Berlin"))
    services.answer(invitation=invitation, answer="yes", now=answered)
    return event, invitation


def test_a_yes_on_the_day_gets_a_reminder_that_says_today(make_event, invite_to):
    # The evening starts at 19:00 in Berlin; the yes comes at 07:00 that morning.
    starts = datetime(2030, 3, 14, 18, 0, tzinfo=UTC)
    event, invitation = yes_to(make_event, invite_to, starts, starts - timedelta(hours=11))

    assert remind_attendees(now=starts - timedelta(hours=11)) == 1

    (reminder,) = Touch.objects.filter(step__kind=Step.Kind.EVENT_REMINDER)
    assert reminder.status == Touch.Status.SCHEDULED and reminder.due_at < starts
    said = values_of([reminder], now=reminder.due_at)[reminder.pk]
    assert said["event_day"] == "today"
    subject = reminder.step.email_subject.replace("{{ event_day }}", said["event_day"])
    assert subject.startswith("See you today:")


def test_a_yes_two_days_ahead_is_reminded_the_day_before_with_tomorrow(make_event, invite_to):
    starts = datetime(2030, 3, 14, 18, 0, tzinfo=UTC)
    event, invitation = yes_to(make_event, invite_to, starts, starts - timedelta(days=5))

    assert remind_attendees(now=starts - timedelta(days=1, hours=20)) == 1

    (reminder,) = Touch.objects.filter(step__kind=Step.Kind.EVENT_REMINDER)
    assert reminder.due_at.date() == datetime(2030, 3, 13).date()
    assert values_of([reminder], now=reminder.due_at)[reminder.pk]["event_day"] == "tomorrow"


def test_a_reminder_that_could_only_go_after_the_start_is_skipped(make_event, invite_to):
    # 08:00 in Berlin; the yes comes at midnight, before the send window opens at 09:00.
    starts = datetime(2030, 3, 14, 7, 0, tzinfo=UTC)
    event, invitation = yes_to(make_event, invite_to, starts, starts - timedelta(hours=8))

    assert remind_attendees(now=starts - timedelta(hours=8)) == 1

    (reminder,) = Touch.objects.filter(step__kind=Step.Kind.EVENT_REMINDER)
    assert reminder.status == Touch.Status.SKIPPED
    assert reminder.last_error == "The event begins before this could be sent."
