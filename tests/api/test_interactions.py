"""GET/POST /api/v1/interactions/: interactions on customers the caller may see."""

import pytest

from customers.models import Interaction, TimelineEntry
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(manager):
    return CustomerFactory(owner=manager)


def test_the_list_filters_by_customer(manager_api, ann, manager):
    mine = InteractionFactory(customer=ann, author=manager)
    InteractionFactory(customer=CustomerFactory(owner=manager))

    response = manager_api.get("/api/v1/interactions/", {"customer": ann.pk})

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["id"] == mine.pk
    assert row["customer"] == ann.pk
    assert row["author"] == "manager"
    assert {"channel", "direction", "occurred_at", "summary", "sentiment"} <= set(row)


def test_other_managers_interactions_are_not_listed(manager_api, ann, other_manager):
    mine = InteractionFactory(customer=ann)
    theirs = InteractionFactory(customer=CustomerFactory(owner=other_manager))

    listed = manager_api.get("/api/v1/interactions/")
    filtered = manager_api.get("/api/v1/interactions/", {"customer": theirs.customer_id})
    detail = manager_api.get(f"/api/v1/interactions/{theirs.pk}/")

    assert [row["id"] for row in listed.json()["results"]] == [mine.pk]
    assert filtered.json()["results"] == []
    assert detail.status_code == 404


def test_logging_an_interaction_puts_it_on_the_timeline(manager_api, ann):
    response = manager_api.post(
        "/api/v1/interactions/",
        {
            "customer": ann.pk,
            "channel": "meeting",
            "direction": "inbound",
            "summary": "Quarterly review",
            "notes": "Wants the premium plan.",
            "sentiment": "positive",
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    interaction = Interaction.objects.get(pk=response.json()["id"])
    assert interaction.customer == ann
    assert interaction.author.username == "manager"
    assert response.json()["author"] == "manager"
    entry = TimelineEntry.objects.get(
        customer=ann, kind=TimelineEntry.Kind.INTERACTION, source_id=interaction.pk
    )
    assert "Quarterly review" in entry.title


@pytest.mark.parametrize(
    ("field", "payload"),
    [
        ("summary", {"channel": "call"}),
        ("summary", {"summary": "x" * 201}),
        ("channel", {"summary": "Hi", "channel": "pigeon"}),
        ("direction", {"summary": "Hi", "direction": "sideways"}),
        ("sentiment", {"summary": "Hi", "sentiment": "ecstatic"}),
        ("occurred_at", {"summary": "Hi", "occurred_at": "soon"}),
        ("follow_up_on", {"summary": "Hi", "follow_up_on": "2024-02-30"}),
    ],
)
def test_a_bad_field_is_400_and_logs_nothing(manager_api, ann, field, payload):
    response = manager_api.post(
        "/api/v1/interactions/", {"customer": ann.pk, **payload}, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Interaction.objects.exists()
    assert not TimelineEntry.objects.filter(kind=TimelineEntry.Kind.INTERACTION).exists()


def test_logging_on_another_managers_customer_is_refused(manager_api, other_manager):
    theirs = CustomerFactory(owner=other_manager)

    response = manager_api.post(
        "/api/v1/interactions/",
        {"customer": theirs.pk, "summary": "Sneaky"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["customer"]
    assert not Interaction.objects.exists()


def test_the_list_runs_few_queries(manager_api, ann, manager, django_assert_max_num_queries):
    for _ in range(20):
        InteractionFactory(customer=ann, author=manager)
    manager_api.get("/api/v1/interactions/")

    with django_assert_max_num_queries(3):  # token, roles, page
        response = manager_api.get("/api/v1/interactions/")

    assert len(response.json()["results"]) == 20
