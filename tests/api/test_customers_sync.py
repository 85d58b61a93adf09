"""POST /api/v1/customers/sync/: upsert by external_id, good rows land, bad ones by index."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer, Purchase
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def sync(client, rows):
    return client.post(
        "/api/v1/customers/sync/", {"customers": rows}, content_type="application/json"
    )


def row(n: int, **fields) -> dict:
    return {
        "external_id": f"shop-{n}",
        "first_name": f"First{n}",
        "last_name": "Lee",
        "email": f"c{n}@example.com",
        **fields,
    }


def test_valid_rows_land_and_invalid_ones_come_back_by_index(marketer_api):
    rows = [
        row(0),
        row(1, email="not-an-email", timezone="Mars/Base"),
        row(2, phone="+14155552671", consents={"email": True}),
        row(3, audience="wholesale"),
    ]

    response = sync(marketer_api, rows)

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
    assert [(e["index"], e["external_id"]) for e in body["errors"]] == [
        (1, "shop-1"),
        (3, "shop-3"),
    ]
    assert set(body["errors"][0]["errors"]) == {"email", "timezone"}
    assert set(body["errors"][1]["errors"]) == {"audience"}
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"shop-0", "shop-2"}
    ann = Customer.objects.get(external_id="shop-2")
    assert (ann.phone, ann.consent_email) == ("+14155552671", True)


def test_the_same_payload_twice_is_all_unchanged_and_leaves_updated_at_alone(marketer_api):
    rows = [
        row(n, phone="+14155552671", account="Acme", estimated_wallet="120.5") for n in range(5)
    ]
    assert sync(marketer_api, rows).json()["created"] == 5
    stamps = dict(Customer.objects.values_list("external_id", "updated_at"))

    response = sync(marketer_api, rows)

    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, 5)
    assert body["errors"] == []
    assert dict(Customer.objects.values_list("external_id", "updated_at")) == stamps


def test_only_changed_rows_are_updated(marketer_api):
    rows = [row(n) for n in range(4)]
    sync(marketer_api, rows)
    stamps = dict(Customer.objects.values_list("external_id", "updated_at"))
    rows[2]["last_name"] = "Smith"
    rows[3]["consents"] = {"sms": True}

    body = sync(marketer_api, rows).json()

    assert (body["created"], body["updated"], body["unchanged"]) == (0, 2, 2)
    after = dict(Customer.objects.values_list("external_id", "updated_at"))
    assert after["shop-0"] == stamps["shop-0"] and after["shop-1"] == stamps["shop-1"]
    assert after["shop-2"] > stamps["shop-2"] and after["shop-3"] > stamps["shop-3"]
    assert Customer.objects.get(external_id="shop-2").last_name == "Smith"
    assert Customer.objects.get(external_id="shop-3").consent_sms is True


def test_a_row_updates_the_customer_with_its_external_id(marketer_api):
    ann = CustomerFactory(external_id="shop-1", first_name="Ann", email="ann@example.com")

    body = sync(marketer_api, [{"external_id": "shop-1", "first_name": "Anna"}]).json()

    assert body["updated"] == 1
    ann.refresh_from_db()
    assert (ann.first_name, ann.email) == ("Anna", "ann@example.com")
    assert Customer.objects.count() == 1


def test_nested_purchases_are_added_once_by_their_external_id(marketer_api):
    purchases = [
        {"external_id": "o-1", "amount": "19.90", "purchased_on": "2024-03-01"},
        {"external_id": "o-2", "amount": 5, "currency": "usd", "purchased_on": "2024-04-01"},
    ]
    first = sync(marketer_api, [row(1, purchases=purchases)]).json()

    again = sync(marketer_api, [row(1, purchases=purchases)]).json()
    more = sync(
        marketer_api, [row(1, purchases=[*purchases, {**purchases[0], "external_id": "o-3"}])]
    )

    assert first["purchases_created"] == 2
    assert again["purchases_created"] == 0 and again["unchanged"] == 1
    assert more.json()["purchases_created"] == 1
    customer = Customer.objects.get(external_id="shop-1")
    assert sorted(
        Purchase.objects.filter(customer=customer).values_list("external_id", "currency")
    ) == [
        ("o-1", "EUR"),
        ("o-2", "USD"),
        ("o-3", "EUR"),
    ]


def test_a_bad_nested_purchase_refuses_its_row(marketer_api):
    body = sync(marketer_api, [row(1, purchases=[{"external_id": "o-1", "amount": "x"}])]).json()

    assert body["created"] == 0
    assert body["errors"][0]["index"] == 0
    assert "purchases" in body["errors"][0]["errors"]
    assert not Purchase.objects.exists()


def test_more_than_1000_rows_are_refused_whole(marketer_api):
    response = sync(marketer_api, [row(n) for n in range(1001)])

    assert response.status_code == 400
    assert "customers" in response.json()["errors"]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("body", [{}, {"customers": {"external_id": "x"}}, [row(1)]])
def test_a_body_without_a_list_of_customers_is_400(marketer_api, body):
    response = marketer_api.post("/api/v1/customers/sync/", body, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["customers"]


def test_the_same_external_id_or_email_twice_refuses_the_later_row(marketer_api):
    rows = [row(1), row(1, first_name="Again"), row(2, email="c1@example.com"), row(3)]

    body = sync(marketer_api, rows).json()

    assert body["created"] == 2
    errors = {e["index"]: e["errors"] for e in body["errors"]}
    assert list(errors) == [1, 2]
    assert "external_id" in errors[1]
    assert "email" in errors[2]
    assert Customer.objects.get(external_id="shop-1").first_name == "First1"


def test_an_email_another_customer_has_refuses_the_row(marketer_api):
    CustomerFactory(external_id="crm-9", email="taken@example.com")

    body = sync(marketer_api, [row(1, email="Taken@Example.com"), row(2)]).json()

    assert body["created"] == 1
    assert body["errors"] == [
        {
            "index": 0,
            "external_id": "shop-1",
            "errors": {"email": [body["errors"][0]["errors"]["email"][0]]},
        }
    ]
    assert not Customer.objects.filter(external_id="shop-1").exists()


def test_an_unknown_owner_refuses_the_row(marketer_api, manager):
    body = sync(marketer_api, [row(1, owner="nobody"), row(2, owner="manager")]).json()

    assert body["created"] == 1
    assert [e["index"] for e in body["errors"]] == [0]
    assert "owner" in body["errors"][0]["errors"]
    assert Customer.objects.get(external_id="shop-2").owner == manager


def test_a_row_missing_its_external_id_or_with_unknown_fields_is_refused(marketer_api):
    body = sync(marketer_api, [{"first_name": "Ann"}, row(2, shoe_size=42), "not an object"]).json()

    errors = {e["index"]: e["errors"] for e in body["errors"]}
    assert "external_id" in errors[0]
    assert "shoe_size" in errors[1]
    assert "non_field_errors" in errors[2]
    assert not Customer.objects.exists()


def test_a_deleted_customer_is_not_brought_back_by_sync(marketer_api):
    CustomerFactory(external_id="shop-1", deleted_at=timezone.now())

    body = sync(marketer_api, [row(1)]).json()

    assert [e["index"] for e in body["errors"]] == [0]
    assert "external_id" in body["errors"][0]["errors"]
    assert Customer.objects.get(external_id="shop-1").deleted_at is not None


def test_an_account_manager_owns_what_they_sync_and_cannot_touch_others(
    manager_api, manager, other_manager
):
    theirs = CustomerFactory(
        external_id="shop-9", owner=other_manager, updated_at=timezone.now() - timedelta(hours=1)
    )
    before = (theirs.first_name, theirs.updated_at)

    body = sync(
        manager_api,
        [row(1), row(9, first_name="Taken over"), row(3, owner="manager2")],
    ).json()

    assert body["created"] == 1
    errors = {e["index"]: e["errors"] for e in body["errors"]}
    assert list(errors) == [1, 2]
    assert "external_id" in errors[1]
    assert "owner" in errors[2]
    assert Customer.objects.get(external_id="shop-1").owner == manager
    theirs.refresh_from_db()
    assert (theirs.first_name, theirs.updated_at) == before


@pytest.mark.parametrize("field", ["audience", "relationship", "partner_kind", "preferred_channel"])
def test_a_choice_that_is_not_a_string_refuses_the_row(marketer_api, field):
    marketer_api.raise_request_exception = False

    response = sync(marketer_api, [row(1, **{field: ["retail"]}), row(2)])

    assert response.status_code == 200
    assert [e["index"] for e in response.json()["errors"]] == [0]


def test_a_nul_character_refuses_only_its_row(marketer_api):
    marketer_api.raise_request_exception = False

    response = sync(marketer_api, [row(1, first_name="A\x00n"), row(2)])

    assert response.status_code == 200
    assert [e["index"] for e in response.json()["errors"]] == [0]
    assert Customer.objects.filter(external_id="shop-2").exists()


def test_syncing_1000_rows_runs_a_bounded_number_of_queries(
    marketer_api, manager, django_assert_max_num_queries
):
    rows = [
        row(
            n,
            owner="manager",
            account=f"Company {n % 20}",
            consents={"email": True},
            purchases=[{"external_id": f"o-{n}", "amount": "10", "purchased_on": "2024-01-02"}],
        )
        for n in range(1000)
    ]

    # Whatever the number of rows: token, roles, lock, owners, e-mails, accounts, upsert,
    # consents, purchases, the open referrals of first buyers (and their savepoints); the
    # webhook events: the owners' and accounts' names, the topics chosen, the customers', the
    # purchases read back and theirs.
    with django_assert_max_num_queries(25):
        created = sync(marketer_api, rows).json()
    for changed in rows[::2]:
        changed["last_name"] = "Changed"
    # The same, with the updated customers' events: names of their links and topics, then the
    # events.
    with django_assert_max_num_queries(18):
        updated = sync(marketer_api, rows).json()

    assert (created["created"], created["purchases_created"], created["errors"]) == (1000, 1000, [])
    assert (updated["updated"], updated["unchanged"], updated["purchases_created"]) == (500, 500, 0)
    assert Customer.objects.filter(last_name="Changed").count() == 500
