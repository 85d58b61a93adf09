"""Every API list answers 400 to a query parameter it does not know, naming the ones it takes."""

import pytest

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# Every list of the API with a parameter each one does take.
LISTS = [
    ("/api/v1/customers/", "updated_since=2026-01-01T00:00:00Z"),
    ("/api/v1/customers/deleted/", "since=2026-01-01T00:00:00Z"),
    ("/api/v1/interactions/", "customer=1"),
    ("/api/v1/purchases/", "customer=1"),
    ("/api/v1/tiers/", "format=json"),
    ("/api/v1/programs/", "page_size=2"),
    ("/api/v1/touches/", "status=sent"),
    ("/api/v1/nps/surveys/", "ordering=-id"),
    ("/api/v1/nps/responses/", "since=2026-01-01T00:00:00Z"),
    ("/api/v1/nps/summary/", "group_by=month"),
    ("/api/v1/accounts/", "updated_since=2026-01-01T00:00:00Z"),
    ("/api/v1/complaints/", "status=open"),
    ("/api/v1/contracts/", "customer=1"),
    ("/api/v1/referrals/", "status=invited"),
    ("/api/v1/follow-ups/", "mine=1"),
]


@pytest.mark.parametrize(("url", "known"), LISTS)
def test_an_unknown_parameter_is_400_naming_it_and_the_known_ones(marketer_api, url, known):
    response = marketer_api.get(f"{url}?{known}&external_idd=a")

    assert response.status_code == 400
    [message] = response.json()["errors"]["external_idd"]
    assert message.startswith("Unknown parameter; this list accepts: ")
    assert known.split("=")[0] in message
    assert "format" in message


@pytest.mark.parametrize(("url", "known"), LISTS)
def test_the_parameters_a_list_takes_are_accepted(marketer_api, url, known):
    assert marketer_api.get(f"{url}?{known}").status_code == 200


def test_the_customer_list_still_takes_its_filters_pages_and_sorts(marketer_api, manager):
    CustomerFactory(owner=manager, first_name="Ann", external_id="shop-1")
    query = {
        "q": "ann",
        "search": "ann",
        "tier": "prospect",
        "owner": "manager",
        "audience": "retail",
        "relationship": "prospect",
        "bond": "awareness",
        "risk": "low",
        "open_complaint": "false",
        "updated_since": "2000-01-01T00:00:00Z",
        "external_id": "shop-1",
        "ordering": "-id",
        "page_size": "10",
        "format": "json",
    }

    response = marketer_api.get("/api/v1/customers/", query)

    assert response.status_code == 200, response.json()
    assert [row["external_id"] for row in response.json()["results"]] == ["shop-1"]
    cursor = marketer_api.get("/api/v1/customers/", {"page_size": 1, "cursor": "eyJpZCI6IDB9"})
    assert cursor.status_code == 200


def test_several_unknown_parameters_are_each_named(manager_api):
    response = manager_api.get("/api/v1/interactions/?page=2&limit=5")

    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["limit", "page"]


def test_one_record_is_not_a_list_and_keeps_its_parameters_to_itself(manager_api, manager):
    customer = CustomerFactory(owner=manager)

    response = manager_api.get(f"/api/v1/customers/{customer.pk}/?expand=owner")

    assert response.status_code == 200


def test_a_stranger_learns_nothing_of_the_parameters(client):
    response = client.get("/api/v1/customers/?external_idd=a")

    assert response.status_code == 401
