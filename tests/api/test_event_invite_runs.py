"""The events API invites a saved segment or a topic's customers in the background (202 with
the run) and shows the runs' progress."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bonding.celery import app
from customers.models import Topic
from events.models import Event, InviteRun
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def event() -> Event:
    starts = timezone.now() + timedelta(days=10)
    return Event.objects.create(
        name="Owners' club evening",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        place="The Old Mill",
        status=Event.Status.OPEN,
    )


def test_the_api_invites_a_topic_by_name_in_the_background(
    marketer_api, event, eager, django_capture_on_commit_callbacks
):
    news = Topic.objects.create(name="Product news")
    for _ in range(2):
        CustomerFactory(consent_email=True).topics.add(news)

    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_api.post(
            f"/api/v1/events/{event.pk}/invitations/",
            {"topic": "product news"},
            content_type="application/json",
        )

    assert response.status_code == 202
    assert response.json()["total"] == 2
    runs = marketer_api.get(f"/api/v1/events/{event.pk}/invitation-runs/").json()
    assert [(r["status"], r["invited"]) for r in runs] == [("done", 2)]


@pytest.mark.parametrize(
    "body",
    [
        {"topic": "nothing"},
        {"segment": 999},
        {"topic": "x", "segment": 1},
        {"customers": [1], "topic": "x"},
    ],
)
def test_the_api_refuses_an_unknown_or_double_choice(marketer_api, event, body):
    response = marketer_api.post(
        f"/api/v1/events/{event.pk}/invitations/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert not InviteRun.objects.exists()
