"""The event pages: list, editor, one event with its figures, check-in at the door, the CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from customers.models import Interaction
from events import services
from events.models import Event, Invitation
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_list_shows_each_event_with_its_counts(
    client, marketer, make_event, invite_to, django_assert_num_queries
):
    for n in range(3):
        event = make_event(name=f"Evening {n}")
        services.answer(invitation=invite_to(event, CustomerFactory()), answer="yes")
    client.force_login(marketer)

    with django_assert_num_queries(4):  # session, user, groups, events with counts
        response = client.get("/events/")

    assert response.status_code == 200
    assert response.content.decode().count('href="/events/') >= 4


def test_a_marketer_creates_an_event_in_its_own_time_zone(client, marketer):
    client.force_login(marketer)

    response = client.post(
        "/events/new/",
        {
            "name": "Owners' club evening",
            "starts_at": "2031-03-12T18:30",
            "ends_at": "2031-03-12T21:30",
            "timezone": "Europe/Berlin",
            "place": "The Old Mill",
            "capacity": "40",
            "status": "open",
        },
    )

    event = Event.objects.get()
    assert response.status_code == 302
    assert event.starts_at.isoformat() == "2031-03-12T17:30:00+00:00"


def test_an_event_ending_before_it_starts_or_nowhere_is_refused(client, marketer):
    client.force_login(marketer)

    response = client.post(
        "/events/new/",
        {
            "name": "Backwards",
            "starts_at": "2031-03-12T18:30",
            "ends_at": "2031-03-12T17:30",
            "timezone": "Europe/Berlin",
            "status": "open",
        },
    )

    assert response.status_code == 400
    assert not Event.objects.exists()


def test_the_event_page_shows_the_figures_and_the_tiers_of_those_who_came(
    client, marketer, make_event, invite_to, django_assert_num_queries
):
    event = make_event(capacity=2)
    came, waiting, declined = (invite_to(event, CustomerFactory()) for _ in range(3))
    services.answer(invitation=came, answer="yes", guests=1)
    services.answer(invitation=waiting, answer="yes")
    services.answer(invitation=declined, answer="no")
    services.record_attendance(event=event, customers=[came.customer])
    client.force_login(marketer)

    # session, user, groups (the role; the menu's answer is cached), event, door list,
    # figures, tiers (two), waitlist, invitation runs
    with django_assert_num_queries(10):
        response = client.get(f"/events/{event.pk}/")

    page = response.content.decode()
    assert "<dt>Invited</dt><dd>3</dd>" in page
    assert "<dt>Waitlisted</dt><dd>1</dd>" in page
    assert f"{came.customer.tier.name}: <strong>1</strong>" in page


def test_one_tap_checks_a_guest_in_and_logs_the_event_on_the_timeline(
    client, manager, make_event, invite_to
):
    customer = CustomerFactory(owner=manager)
    event = make_event()
    invite_to(event, customer)
    client.force_login(manager)

    response = client.post(
        f"/events/{event.pk}/check-in/", {"customer": customer.pk}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert "Came" in response.content.decode()
    invitation = Invitation.objects.get(event=event, customer=customer)
    assert invitation.attendance == Invitation.Attendance.ATTENDED
    assert Interaction.objects.filter(customer=customer, channel="event").count() == 1
    # A second tap changes nothing.
    client.post(f"/events/{event.pk}/check-in/", {"customer": customer.pk})
    assert Interaction.objects.filter(customer=customer, channel="event").count() == 1


def test_a_walk_in_is_added_and_another_managers_customer_is_not_found(
    client, manager, other_manager, make_event
):
    mine, theirs = CustomerFactory(owner=manager), CustomerFactory(owner=other_manager)
    event = make_event()
    client.force_login(manager)

    assert client.post(f"/events/{event.pk}/check-in/", {"customer": theirs.pk}).status_code == 404
    assert client.post(f"/events/{event.pk}/check-in/", {"customer": "x"}).status_code == 400
    client.post(f"/events/{event.pk}/check-in/", {"customer": mine.pk})

    walk_in = Invitation.objects.get(event=event)
    assert (walk_in.customer, walk_in.walk_in, walk_in.attendance) == (mine, True, "attended")


def test_attending_moves_the_customer_to_the_community_bond_stage(make_event, invite_to):
    customer = CustomerFactory()
    event = make_event()
    invite_to(event, customer)

    services.record_attendance(event=event, customers=[customer])

    customer.refresh_from_db()
    assert customer.bond_stage == "community"


def test_closing_an_event_records_its_no_shows(client, marketer, make_event, invite_to):
    past = timezone.now() - timedelta(days=1)
    event = make_event(starts_at=past - timedelta(hours=3), ends_at=past)
    came, missed = (invite_to(event, CustomerFactory()) for _ in range(2))
    Invitation.objects.filter(pk__in=[came.pk, missed.pk]).update(answer="yes")
    services.record_attendance(event=event, customers=[came.customer])
    client.force_login(marketer)

    client.post(f"/events/{event.pk}/close/")

    missed.refresh_from_db()
    assert missed.attendance == Invitation.Attendance.NO_SHOW
    assert missed.customer.timeline.filter(title__startswith="Did not come").exists()
    assert Event.objects.get(pk=event.pk).status == Event.Status.CLOSED


def test_the_attendees_csv_lists_who_came(client, marketer, make_event, invite_to):
    event = make_event()
    guest = invite_to(event, CustomerFactory(first_name="=cmd"))
    services.record_attendance(event=event, customers=[guest.customer])
    client.force_login(marketer)

    response = client.get(f"/events/{event.pk}/attendees.csv")

    (row,) = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert row["first_name"] == "'=cmd"
    assert row["attendance"] == "attended"


def test_a_csv_of_who_came_checks_them_in_and_names_the_lines_it_could_not_match(
    client, manager, other_manager, make_event
):
    mine = CustomerFactory(owner=manager, email="rita@example.com")
    by_id = CustomerFactory(owner=manager)
    theirs = CustomerFactory(owner=other_manager)
    event = make_event()
    client.force_login(manager)
    body = f"customer_id,email\n,RITA@example.com\n{by_id.pk},\n{theirs.pk},\n,nobody@example.com\n"

    response = client.post(
        f"/events/{event.pk}/attendance/",
        {"file": SimpleUploadedFile("came.csv", body.encode(), "text/csv")},
        follow=True,
    )

    assert "2 checked in from the file. 2 rows name none of your customers (lines 4, 5)." in (
        response.content.decode()
    )
    came = Invitation.objects.filter(event=event, attendance="attended")
    assert set(came.values_list("customer_id", flat=True)) == {mine.pk, by_id.pk}


@pytest.mark.parametrize("body", [b"name\nRita\n", b"\xff\xfe\x00bad", b""])
def test_a_csv_that_cannot_be_read_is_a_400_and_checks_nobody_in(client, manager, make_event, body):
    event = make_event()
    client.force_login(manager)

    response = client.post(
        f"/events/{event.pk}/attendance/",
        {"file": SimpleUploadedFile("came.csv", body, "text/csv")},
    )

    assert response.status_code == 400
    assert not Invitation.objects.exists()
