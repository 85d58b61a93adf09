"""Topics and each customer's preferences over the API: GET /api/v1/topics/, and `topics` and
`frequency` on the customer (read, written, and synced with bad rows reported by index)."""

import pytest

from customers.models import Customer, Topic
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def topics() -> dict[str, Topic]:
    return {
        "news": Topic.objects.create(name="Product news", description="Monthly"),
        "tips": Topic.objects.create(name="Tips", is_active=False),
    }


def sync(client, rows):
    return client.post(
        "/api/v1/customers/sync/", {"customers": rows}, content_type="application/json"
    )


def test_the_topics_are_listed_by_name(manager_api, topics, django_assert_num_queries):
    manager_api.get("/api/v1/topics/")  # the token's last_used_at is written once

    with django_assert_num_queries(3):  # token, roles, topics
        response = manager_api.get("/api/v1/topics/")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": topics["news"].pk,
            "name": "Product news",
            "description": "Monthly",
            "is_active": True,
        },
        {"id": topics["tips"].pk, "name": "Tips", "description": "", "is_active": False},
    ]


def test_an_unknown_list_parameter_is_a_400(manager_api):
    response = manager_api.get("/api/v1/topics/?name=news")

    assert response.status_code == 400


def test_a_customer_carries_their_topics_and_frequency(marketer_api, topics):
    ann = CustomerFactory(frequency="less")
    ann.topics.add(topics["news"])

    body = marketer_api.get(f"/api/v1/customers/{ann.pk}/").json()

    assert (body["topics"], body["frequency"]) == ([topics["news"].pk], "less")


def test_patching_topics_and_frequency(marketer_api, topics):
    ann = CustomerFactory()

    response = marketer_api.patch(
        f"/api/v1/customers/{ann.pk}/",
        {"topics": [topics["news"].pk, topics["tips"].pk], "frequency": "less"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert sorted(response.json()["topics"]) == sorted([topics["news"].pk, topics["tips"].pk])
    ann.refresh_from_db()
    assert ann.frequency == "less"


@pytest.mark.parametrize("bad", [{"topics": [999999]}, {"frequency": "never"}])
def test_a_bad_topic_or_frequency_is_a_400_that_changes_nothing(marketer_api, topics, bad):
    ann = CustomerFactory()

    response = marketer_api.patch(
        f"/api/v1/customers/{ann.pk}/", bad, content_type="application/json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(bad)
    ann.refresh_from_db()
    assert (ann.frequency, list(ann.topics.all())) == ("usual", [])


def test_sync_sets_topics_and_reports_unknown_ones_by_index(marketer_api, topics):
    news = topics["news"].pk
    rows = [
        {"external_id": "a", "first_name": "Ann", "topics": [news], "frequency": "less"},
        {"external_id": "b", "first_name": "Bob", "topics": [news, 999999]},
        {"external_id": "c", "first_name": "Cy", "topics": "news"},
        {"external_id": "d", "first_name": "Di", "frequency": "sometimes"},
    ]

    outcome = sync(marketer_api, rows).json()

    assert outcome["created"] == 1
    errors = {error["index"]: error["errors"] for error in outcome["errors"]}
    assert errors == {
        1: {"topics": ["Unknown topics: 999999."]},
        2: {"topics": ["Must be a list of topic ids."]},
        3: {"frequency": ["“sometimes” is not a valid choice: less, usual."]},
    }
    ann = Customer.objects.get(external_id="a")
    assert (ann.frequency, list(ann.topics.values_list("pk", flat=True))) == ("less", [news])


def test_a_sync_that_changes_only_topics_is_an_update(marketer_api, topics):
    news, tips = topics["news"].pk, topics["tips"].pk
    sync(marketer_api, [{"external_id": "a", "first_name": "Ann", "topics": [news]}])

    again = sync(marketer_api, [{"external_id": "a", "first_name": "Ann", "topics": [news]}])
    changed = sync(marketer_api, [{"external_id": "a", "first_name": "Ann", "topics": [tips]}])
    untouched = sync(marketer_api, [{"external_id": "a", "first_name": "Ann"}])

    assert again.json()["unchanged"] == 1
    assert changed.json()["updated"] == 1
    assert untouched.json()["unchanged"] == 1
    ann = Customer.objects.get(external_id="a")
    assert list(ann.topics.values_list("pk", flat=True)) == [tips]
