"""The public invitation page /e/<token>/: answers, guests, the waitlist, the calendar file."""

from datetime import UTC, datetime

import pytest
from django.test import Client
from icalendar import Calendar

from events.models import Invitation
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(make_event, invite_to):
    event = make_event(
        starts_at=datetime(2031, 3, 12, 17, 30, tzinfo=UTC),
        ends_at=datetime(2031, 3, 12, 20, 30, tzinfo=UTC),
        capacity=2,
    )
    return invite_to(event, CustomerFactory(first_name="Ann", timezone="America/New_York"))


def test_the_page_shows_the_event_in_the_customers_time_zone(
    client, invitation, django_assert_num_queries
):
    with django_assert_num_queries(2):  # the invitation with its event, the seats taken
        response = client.get(f"/e/{invitation.token}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Owners&#x27; club evening" in page
    assert "Wednesday 12 March 2031, 13:30–16:30" in page  # 17:30 UTC in New York
    assert "America/New_York" in page
    assert "2 seats left." in page


def test_a_yes_with_a_guest_is_saved_and_said(client, invitation):
    response = client.post(f"/e/{invitation.token}/", {"answer": "yes", "guests": "1"})

    assert response.status_code == 200
    assert "Your seat is kept, with 1 guest." in response.content.decode()
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.guests) == ("yes", 1)


def test_a_yes_when_full_says_the_place_on_the_waitlist(client, invitation, invite_to):
    other = invite_to(invitation.event, CustomerFactory())
    client.post(f"/e/{other.token}/", {"answer": "yes", "guests": "1"})

    response = client.post(f"/e/{invitation.token}/", {"answer": "yes", "guests": "0"})

    assert "you are number 1 on the waitlist" in response.content.decode()


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"answer": "later"},
        {"answer": "yes", "guests": "many"},
        {"answer": "yes", "guests": "9"},
    ],
)
def test_bad_answers_are_a_400_and_change_nothing(client, invitation, values):
    response = client.post(f"/e/{invitation.token}/", values)

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.answer == ""


def test_an_unknown_token_gets_a_friendly_404(client):
    response = client.get("/e/not-a-real-token/")

    assert response.status_code == 404
    assert "This invitation link does not work" in response.content.decode()
    assert client.get("/e/not-a-real-token/event.ics").status_code == 404


def test_the_calendar_file_holds_the_event(client, invitation):
    response = client.get(f"/e/{invitation.token}/event.ics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    (entry,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(entry["summary"]) == "Owners' club evening"
    assert entry.decoded("dtstart") == datetime(2031, 3, 12, 17, 30, tzinfo=UTC)
    assert str(entry["location"]) == "The Old Mill, Springfield"
    assert str(entry["url"]).endswith(f"/e/{invitation.token}/")


def test_a_browser_without_cookies_can_answer(invitation):
    client = Client(enforce_csrf_checks=True)

    assert client.post(f"/e/{invitation.token}/", {"answer": "no"}).status_code == 200
    assert Invitation.objects.get(pk=invitation.pk).answer == "no"


def test_the_page_is_rate_limited_per_address(client, invitation, settings):
    settings.EVENT_RATE_PER_MINUTE = 3

    statuses = [client.get(f"/e/{invitation.token}/").status_code for _ in range(3)]
    statuses.append(client.post(f"/e/{invitation.token}/", {"answer": "yes"}).status_code)
    elsewhere = Client(REMOTE_ADDR="10.9.8.7").get(f"/e/{invitation.token}/")

    assert statuses == [200, 200, 200, 429]
    assert elsewhere.status_code == 200
    assert Invitation.objects.get(pk=invitation.pk).answer == ""
