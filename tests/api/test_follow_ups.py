"""GET /api/v1/follow-ups/ (mine by default for account managers), GET .../{id}/ and
POST .../{id}/complete/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import FollowUp, TimelineEntry
from tests.api.conftest import customer_page
from tests.factories import CustomerFactory, FollowUpFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(manager):
    return CustomerFactory(owner=manager)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_a_manager_lists_their_own_follow_ups_soonest_first(manager_api, manager, marketer, ann):
    later = FollowUpFactory(customer=ann, due_at=timezone.now() + timedelta(days=2))
    sooner = FollowUpFactory(customer=ann, due_at=timezone.now() - timedelta(days=1))
    # On their customer, but a marketer's to do.
    for_marketer = FollowUpFactory(customer=ann, assignee=marketer)

    assert ids(manager_api.get("/api/v1/follow-ups/")) == [sooner.pk, later.pk]
    assert ids(manager_api.get("/api/v1/follow-ups/", {"mine": "1"})) == [sooner.pk, later.pk]
    assert set(ids(manager_api.get("/api/v1/follow-ups/", {"mine": "0"}))) == {
        sooner.pk,
        later.pk,
        for_marketer.pk,
    }


def test_a_marketer_sees_everyones_unless_asking_for_their_own(marketer_api, marketer, ann):
    managers = FollowUpFactory(customer=ann)
    theirs = FollowUpFactory(customer=ann, assignee=marketer)

    assert set(ids(marketer_api.get("/api/v1/follow-ups/"))) == {managers.pk, theirs.pk}
    assert ids(marketer_api.get("/api/v1/follow-ups/", {"mine": "true"})) == [theirs.pk]


def test_the_list_filters_open_and_done(manager_api, manager, ann):
    open_one = FollowUpFactory(customer=ann)
    done = FollowUpFactory(customer=ann, done_at=timezone.now(), done_by=manager)

    assert ids(manager_api.get("/api/v1/follow-ups/", {"done": "false"})) == [open_one.pk]
    assert ids(manager_api.get("/api/v1/follow-ups/", {"done": "true"})) == [done.pk]


@pytest.mark.parametrize("query", [{"mine": "maybe"}, {"done": "yes"}])
def test_a_yes_or_no_that_is_neither_is_400(manager_api, ann, query):
    FollowUpFactory(customer=ann)

    response = manager_api.get("/api/v1/follow-ups/", query)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(query)


def test_completing_marks_it_done_and_tells_the_page(manager_api, manager, ann):
    follow_up = FollowUpFactory(customer=ann, reason="Call about the renewal")

    response = manager_api.post(f"/api/v1/follow-ups/{follow_up.pk}/complete/")

    assert response.status_code == 200, response.json()
    assert response.json()["done_by"] == "manager" and response.json()["done_at"]
    follow_up.refresh_from_db()
    assert follow_up.done_by == manager
    assert "Follow-up done: Call about the renewal" in customer_page(manager, ann)


def test_one_assigned_to_someone_else_on_my_customer_is_mine_to_read_and_complete(
    manager_api, marketer, ann
):
    follow_up = FollowUpFactory(customer=ann, assignee=marketer)

    read = manager_api.get(f"/api/v1/follow-ups/{follow_up.pk}/")
    complete = manager_api.post(f"/api/v1/follow-ups/{follow_up.pk}/complete/")

    assert read.status_code == 200
    assert complete.status_code == 200 and complete.json()["done_by"] == "manager"


def test_completing_twice_changes_nothing_the_second_time(manager_api, ann):
    follow_up = FollowUpFactory(customer=ann)
    first = manager_api.post(f"/api/v1/follow-ups/{follow_up.pk}/complete/")

    again = manager_api.post(f"/api/v1/follow-ups/{follow_up.pk}/complete/")

    assert again.status_code == 200
    assert again.json()["done_at"] == first.json()["done_at"]
    assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.FOLLOW_UP).count() == 1


def test_another_owners_follow_up_is_404_to_read_and_to_complete(manager_api, other_manager):
    theirs = FollowUpFactory(customer=CustomerFactory(owner=other_manager))

    read = manager_api.get(f"/api/v1/follow-ups/{theirs.pk}/")
    complete = manager_api.post(f"/api/v1/follow-ups/{theirs.pk}/complete/")

    assert read.status_code == 404
    assert complete.status_code == 404
    assert ids(manager_api.get("/api/v1/follow-ups/", {"mine": "0"})) == []
    theirs.refresh_from_db()
    assert theirs.done_at is None
    assert not TimelineEntry.objects.exists()


def test_the_list_runs_few_queries(manager_api, ann, django_assert_num_queries):
    for _ in range(20):
        FollowUpFactory(customer=ann)
    manager_api.get("/api/v1/follow-ups/")

    with django_assert_num_queries(3):  # token, roles, page
        response = manager_api.get("/api/v1/follow-ups/")

    assert len(response.json()["results"]) == 20
    assert FollowUp.objects.count() == 20
