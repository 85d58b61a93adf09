"""GET /api/v1/customers/?external_id=a,b,c and GET /api/v1/customers/by-external-id/{id}/."""

import pytest

from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(manager, other_manager):
    return {
        "mine-1": CustomerFactory(owner=manager, external_id="mine-1"),
        "mine-2": CustomerFactory(owner=manager, external_id="mine-2"),
        "theirs": CustomerFactory(owner=other_manager, external_id="theirs"),
    }


def test_the_list_finds_customers_by_their_external_ids(marketer_api, customers):
    response = marketer_api.get("/api/v1/customers/", {"external_id": "mine-2, theirs,unknown"})

    assert response.status_code == 200
    assert sorted(row["external_id"] for row in response.json()["results"]) == [
        "mine-2",
        "theirs",
    ]


def test_a_manager_finds_only_their_own_by_external_id(manager_api, customers):
    response = manager_api.get("/api/v1/customers/", {"external_id": "mine-1,theirs"})

    assert [row["external_id"] for row in response.json()["results"]] == ["mine-1"]


def test_more_than_a_hundred_external_ids_is_400(marketer_api, customers):
    wanted = ",".join(f"id-{n}" for n in range(101))

    response = marketer_api.get("/api/v1/customers/", {"external_id": wanted})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["external_id"]


def test_a_hundred_external_ids_are_one_page_of_few_queries(
    marketer_api, customers, django_assert_num_queries
):
    wanted = ",".join(["mine-1", "mine-2", *(f"id-{n}" for n in range(98))])
    marketer_api.get("/api/v1/customers/", {"external_id": wanted})

    with django_assert_num_queries(4):  # token, roles, page, the page's topics
        response = marketer_api.get("/api/v1/customers/", {"external_id": wanted})

    assert len(response.json()["results"]) == 2


def test_one_customer_by_external_id_comes_with_its_etag(manager_api, customers):
    response = manager_api.get("/api/v1/customers/by-external-id/mine-1/")

    assert response.status_code == 200
    assert response.json()["id"] == customers["mine-1"].pk
    detail = manager_api.get(f"/api/v1/customers/{customers['mine-1'].pk}/")
    assert response["ETag"] == detail["ETag"]


@pytest.mark.parametrize("external_id", ["theirs", "nobody", "%00", "%ED%A0%80"])
def test_someone_elses_or_no_customer_by_external_id_is_404(manager_api, customers, external_id):
    response = manager_api.get(f"/api/v1/customers/by-external-id/{external_id}/")

    assert response.status_code == 404


def test_a_deleted_customer_is_not_found_by_external_id(marketer_api, customers):
    Customer.objects.filter(external_id="mine-1").update(deleted_at="2026-01-01T00:00:00Z")

    response = marketer_api.get("/api/v1/customers/by-external-id/mine-1/")

    assert response.status_code == 404
