"""The events API: list and create, attendees, invitations and attendance by customer ids."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.links import new_token
from events.models import Event, Invitation
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> Event:
    starts = timezone.now() + timedelta(days=10)
    return Event.objects.create(
        name="Owners' club evening",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        place="The Old Mill",
        capacity=30,
        status=Event.Status.OPEN,
    )


def test_a_marketer_creates_an_event(marketer_api):
    response = marketer_api.post(
        "/api/v1/events/",
        {
            "name": "User group",
            "starts_at": "2031-05-01T18:00:00+02:00",
            "ends_at": "2031-05-01T21:00:00+02:00",
            "timezone": "Europe/Berlin",
            "online_url": "https://meet.example.com/users",
            "capacity": 100,
            "tiers": ["prospect"],
            "status": "open",
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["starts_at"] == "2031-05-01T16:00:00Z"
    assert list(Event.objects.get().tiers.values_list("slug", flat=True)) == ["prospect"]


def test_a_bad_event_is_a_400_naming_the_field_and_nothing_is_made(marketer_api):
    response = marketer_api.post(
        "/api/v1/events/",
        {
            "name": "Backwards",
            "starts_at": "2031-05-01T18:00:00Z",
            "ends_at": "2031-05-01T17:00:00Z",
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "place" in response.json()["errors"] or "ends_at" in response.json()["errors"]
    assert not Event.objects.exists()


def test_an_account_manager_may_not_create_events(manager_api):
    response = manager_api.post("/api/v1/events/", {}, content_type="application/json")

    assert response.status_code == 403


def test_the_list_runs_few_queries(manager_api, event, django_assert_num_queries):
    for n in range(5):
        Event.objects.create(
            name=f"E{n}", starts_at=event.starts_at, ends_at=event.ends_at, place="x"
        )
    manager_api.get("/api/v1/events/")

    with django_assert_num_queries(4):  # token, roles, page, tiers
        response = manager_api.get("/api/v1/events/")

    assert len(response.json()["results"]) == 6
    assert manager_api.get("/api/v1/events/?colour=red").status_code == 400


def test_inviting_answers_invited_and_skipped_with_reasons(marketer_api, event):
    reachable = CustomerFactory(consent_email=True)
    unreachable = CustomerFactory()

    response = marketer_api.post(
        f"/api/v1/events/{event.pk}/invitations/",
        {"customers": [reachable.pk, unreachable.pk, 999999]},
        content_type="application/json",
    )

    body = response.json()
    assert response.status_code == 200
    assert body["invited"] == 1
    assert {row["customer"] for row in body["skipped"]} == {unreachable.pk, 999999}
    assert Invitation.objects.get(event=event).customer == reachable


def test_skip_reasons_answer_in_the_callers_language(marketer_api, event):
    invited = CustomerFactory(consent_email=True)
    Invitation.objects.create(event=event, customer=invited, token=new_token())

    response = marketer_api.post(
        f"/api/v1/events/{event.pk}/invitations/",
        {"customers": [invited.pk, 999999]},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="de",
    )

    reasons = {row["customer"]: row["reason"] for row in response.json()["skipped"]}
    assert reasons == {invited.pk: "bereits eingeladen", 999999: "kein solcher Kunde"}


def test_attendance_records_who_came_among_the_callers_customers(
    manager_api, manager, other_manager, event
):
    mine = CustomerFactory(owner=manager)
    theirs = CustomerFactory(owner=other_manager)

    response = manager_api.post(
        f"/api/v1/events/{event.pk}/attendance/",
        {"customers": [mine.pk, theirs.pk]},
        content_type="application/json",
    )

    assert response.json() == {
        "recorded": 1,
        "skipped": [{"customer": theirs.pk, "reason": "no such customer"}],
    }
    assert Invitation.objects.get(event=event, customer=mine).walk_in
    assert not Invitation.objects.filter(customer=theirs).exists()


@pytest.mark.parametrize("body", [{}, {"customers": []}, {"customers": ["x"]}, {"customers": 5}])
def test_bad_bodies_are_a_400(manager_api, event, body):
    response = manager_api.post(
        f"/api/v1/events/{event.pk}/attendance/", body, content_type="application/json"
    )

    assert response.status_code == 400


def test_attendees_lists_only_the_callers_customers(
    manager_api, manager, other_manager, event, django_assert_num_queries
):
    mine = [CustomerFactory(owner=manager) for _ in range(3)]
    for customer in [*mine, CustomerFactory(owner=other_manager)]:
        Invitation.objects.create(event=event, customer=customer, token=new_token())
    manager_api.get(f"/api/v1/events/{event.pk}/attendees/")  # the token's last use is noted

    with django_assert_num_queries(4):  # token, roles, event, page
        response = manager_api.get(f"/api/v1/events/{event.pk}/attendees/")

    assert sorted(row["customer"] for row in response.json()["results"]) == [c.pk for c in mine]
