"""GET/POST /api/v1/purchases/: purchases added in bulk, keyed by their external_id."""

import pytest

from customers.models import Purchase
from tests.factories import CustomerFactory, PurchaseFactory

pytestmark = pytest.mark.django_db


def post(client, purchases):
    return client.post(
        "/api/v1/purchases/", {"purchases": purchases}, content_type="application/json"
    )


def test_purchases_land_by_customer_id_or_customer_external_id(manager_api, manager):
    ann = CustomerFactory(owner=manager)
    bob = CustomerFactory(owner=manager, external_id="shop-bob")

    response = post(
        manager_api,
        [
            {
                "customer": ann.pk,
                "external_id": "o-1",
                "amount": "19.90",
                "purchased_on": "2024-03-01",
            },
            {
                "customer_external_id": "shop-bob",
                "external_id": "o-2",
                "amount": 7,
                "currency": "usd",
                "purchased_on": "2024-03-02",
                "product_category": "Shoes",
            },
        ],
    )

    assert response.status_code == 200
    assert response.json() == {"created": 2, "unchanged": 0, "errors": []}
    assert Purchase.objects.get(external_id="o-1").customer == ann
    two = Purchase.objects.get(external_id="o-2")
    assert (two.customer, str(two.amount), two.currency, two.product_category) == (
        bob,
        "7.00",
        "USD",
        "Shoes",
    )


def test_sending_the_same_purchases_again_adds_none(manager_api, manager):
    ann = CustomerFactory(owner=manager)
    rows = [
        {"customer": ann.pk, "external_id": f"o-{n}", "amount": "1", "purchased_on": "2024-01-01"}
        for n in range(3)
    ]
    post(manager_api, rows)

    response = post(manager_api, rows)

    assert response.json() == {"created": 0, "unchanged": 3, "errors": []}
    assert Purchase.objects.count() == 3


def test_bad_rows_come_back_by_index_and_good_ones_land(manager_api, manager, other_manager):
    ann = CustomerFactory(owner=manager)
    theirs = CustomerFactory(owner=other_manager, external_id="shop-theirs")
    good = {"customer": ann.pk, "external_id": "o-1", "amount": "5", "purchased_on": "2024-01-01"}

    response = post(
        manager_api,
        [
            good,
            {**good, "external_id": "o-2", "amount": "lots", "purchased_on": "yesterday"},
            {**good, "external_id": "o-3", "customer": theirs.pk},
            {
                "customer_external_id": "shop-theirs",
                **{k: v for k, v in good.items() if k != "customer"},
                "external_id": "o-4",
            },
            {**good, "external_id": "o-5", "currency": "EURO"},
            {**good, "external_id": None},
        ],
    )

    body = response.json()
    assert body["created"] == 1
    errors = {e["index"]: e for e in body["errors"]}
    assert list(errors) == [1, 2, 3, 4, 5]
    assert set(errors[1]["errors"]) == {"amount", "purchased_on"}
    assert errors[1]["external_id"] == "o-2"
    assert set(errors[2]["errors"]) == {"customer"}
    assert set(errors[3]["errors"]) == {"customer"}
    assert set(errors[4]["errors"]) == {"currency"}
    assert set(errors[5]["errors"]) == {"external_id"}
    assert list(Purchase.objects.values_list("external_id", flat=True)) == ["o-1"]
    assert not theirs.purchases.exists()


def test_more_than_1000_purchases_are_refused_whole(manager_api, manager):
    ann = CustomerFactory(owner=manager)
    rows = [
        {"customer": ann.pk, "external_id": f"o-{n}", "amount": "1", "purchased_on": "2024-01-01"}
        for n in range(1001)
    ]

    response = post(manager_api, rows)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["purchases"]
    assert not Purchase.objects.exists()


def test_a_customer_that_is_not_an_id_refuses_its_row(manager_api, manager):
    manager_api.raise_request_exception = False

    response = post(
        manager_api,
        [{"customer": [1], "external_id": "o-1", "amount": "1", "purchased_on": "2024-01-01"}],
    )

    assert response.status_code == 200
    assert [e["index"] for e in response.json()["errors"]] == [0]


def test_the_list_shows_only_purchases_of_your_customers(manager_api, manager, other_manager):
    mine = PurchaseFactory(customer=CustomerFactory(owner=manager))
    PurchaseFactory(customer=CustomerFactory(owner=other_manager))

    listed = manager_api.get("/api/v1/purchases/")
    filtered = manager_api.get("/api/v1/purchases/", {"customer": mine.customer_id})

    assert [row["id"] for row in listed.json()["results"]] == [mine.pk]
    assert [row["id"] for row in filtered.json()["results"]] == [mine.pk]
