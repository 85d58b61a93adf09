"""GET/POST /api/v1/contracts/ and GET /api/v1/contracts/{id}/."""

from decimal import Decimal

import pytest

from customers.models import Contract, TimelineEntry
from tests.api.conftest import customer_page
from tests.factories import ContractFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(manager):
    return CustomerFactory(owner=manager)


def test_adding_a_contract_puts_it_on_the_timeline_the_page_shows(manager_api, manager, ann):
    response = manager_api.post(
        "/api/v1/contracts/",
        {
            "customer": ann.pk,
            "title": "Support plan",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "value": "2400.00",
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["renewal_status"] == "pending"
    contract = Contract.objects.get(pk=body["id"])
    assert contract.customer == ann and contract.value == Decimal("2400.00")
    assert "Contract: Support plan (2026-01-01 to 2026-12-31)" in customer_page(manager, ann)


@pytest.mark.parametrize(
    ("field", "payload"),
    [
        ("ends_on", {"title": "Plan", "starts_on": "2026-06-01", "ends_on": "2026-01-01"}),
        ("ends_on", {"title": "Plan", "starts_on": "2026-06-01", "ends_on": "2026-02-30"}),
        ("title", {"starts_on": "2026-01-01", "ends_on": "2026-12-31"}),
        ("title", {"title": "x" * 201, "starts_on": "2026-01-01", "ends_on": "2026-12-31"}),
        (
            "value",
            {"title": "Plan", "starts_on": "2026-01-01", "ends_on": "2026-12-31", "value": "1e400"},
        ),
    ],
)
def test_a_bad_contract_is_400_and_adds_nothing(manager_api, ann, field, payload):
    response = manager_api.post(
        "/api/v1/contracts/", {"customer": ann.pk, **payload}, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Contract.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_another_owners_contracts_are_404_and_cannot_be_added_to(manager_api, other_manager):
    customer = CustomerFactory(owner=other_manager)
    theirs = ContractFactory(customer=customer)

    read = manager_api.get(f"/api/v1/contracts/{theirs.pk}/")
    listed = manager_api.get("/api/v1/contracts/", {"customer": customer.pk})
    added = manager_api.post(
        "/api/v1/contracts/",
        {
            "customer": customer.pk,
            "title": "Sneaky",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
        },
        content_type="application/json",
    )

    assert read.status_code == 404
    assert listed.json()["results"] == []
    assert added.status_code == 400 and list(added.json()["errors"]) == ["customer"]
    assert Contract.objects.count() == 1


def test_the_list_filters_by_customer_and_renewal(marketer_api, ann, other_manager):
    pending = ContractFactory(customer=ann)
    ContractFactory(customer=ann, renewal_status=Contract.Renewal.RENEWED)
    ContractFactory(customer=CustomerFactory(owner=other_manager))

    response = marketer_api.get(
        "/api/v1/contracts/", {"customer": ann.pk, "renewal_status": "pending"}
    )

    assert [row["id"] for row in response.json()["results"]] == [pending.pk]


def test_the_list_runs_few_queries(manager_api, ann, django_assert_num_queries):
    for _ in range(20):
        ContractFactory(customer=ann)
    manager_api.get("/api/v1/contracts/")

    with django_assert_num_queries(3):  # token, roles, page
        response = manager_api.get("/api/v1/contracts/")

    assert len(response.json()["results"]) == 20
