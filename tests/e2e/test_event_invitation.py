"""On a phone: a customer answers an event invitation with cookies blocked (yes with a guest,
the calendar file downloaded), and an account manager checks guests in at the door; each page
accessible and no wider than the screen."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from events.links import new_token
from events.models import Event, Invitation
from tests.e2e.conftest import assert_accessible, sign_in
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def invitation(people) -> Invitation:
    event = Event.objects.create(
        name="Owners' club evening",
        description="Drinks and a look at what is new.",
        starts_at=datetime(2031, 3, 12, 17, 30, tzinfo=UTC),
        ends_at=datetime(2031, 3, 12, 20, 30, tzinfo=UTC),
        timezone="Europe/London",
        place="The Old Mill, 4 River Lane",
        capacity=20,
        status=Event.Status.OPEN,
    )
    ann = CustomerFactory(first_name="Ann", timezone="Europe/Berlin", consent_email=True)
    return Invitation.objects.create(event=event, customer=ann, token=new_token())


def test_a_customer_says_yes_with_a_guest_and_adds_it_to_their_calendar(
    cookieless_page, live_server, invitation
):
    page = cookieless_page
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{live_server.url}/e/{invitation.token}/")
    page.get_by_role("heading", name="Owners' club evening").wait_for()
    assert "18:30–21:30" in page.content()  # Berlin time, the customer's
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_label("Yes, I will come").check()
    page.get_by_label("Guests you bring along").select_option("1")
    page.get_by_role("button", name="Send my answer").click()
    page.get_by_text("Your seat is kept, with 1 guest.").wait_for()
    assert_accessible(page)
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.guests) == ("yes", 1)

    with page.expect_download() as download:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    (entry,) = Calendar.from_ical(Path(download.value.path()).read_bytes()).walk("VEVENT")
    assert str(entry["summary"]) == "Owners' club evening"
    assert entry.decoded("dtstart") == datetime(2031, 3, 12, 17, 30, tzinfo=UTC)


def test_an_account_manager_checks_a_guest_in_on_a_phone_with_one_tap(page, live_server, people):
    event = Event.objects.create(
        name="Owners' club evening",
        starts_at=datetime(2031, 3, 12, 17, 30, tzinfo=UTC),
        ends_at=datetime(2031, 3, 12, 20, 30, tzinfo=UTC),
        place="The Old Mill",
        status=Event.Status.OPEN,
    )
    rita = CustomerFactory(first_name="Rita", last_name="Regular", owner=people["manager"])
    CustomerFactory(first_name="Walter", last_name="Walkin", owner=people["manager"])
    Invitation.objects.create(event=event, customer=rita, token=new_token(), answer="yes")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "alex")

    page.goto(f"{live_server.url}/events/{event.pk}/")
    assert_accessible(page)
    page.get_by_label("Name").fill("Rita")
    page.get_by_role("button", name="Rita Regular came").click()
    page.locator(".door-list .badge", has_text="Came").wait_for()
    page.get_by_label("Name").fill("Walter")
    page.get_by_role("button", name="Walter Walkin came as a walk-in").click()
    page.locator(".door-list .badge", has_text="Came").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page)

    came = Invitation.objects.filter(event=event, attendance="attended")
    assert sorted(came.values_list("customer__first_name", "walk_in")) == [
        ("Rita", False),
        ("Walter", True),
    ]
