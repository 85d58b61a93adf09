"""POST /api/v1/customers/ and GET/PATCH/PUT/DELETE /api/v1/customers/{id}/."""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from customers.models import Account, ConsentChange, Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def snapshot(customer: Customer) -> dict:
    customer.refresh_from_db()
    return {**model_to_dict(customer), "updated_at": customer.updated_at}


def etag(client, customer: Customer) -> str:
    response = client.get(f"/api/v1/customers/{customer.pk}/")
    assert response.status_code == 200
    return response["ETag"]


@pytest.fixture
def ann(manager) -> Customer:
    return CustomerFactory(
        owner=manager,
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        updated_at=timezone.now() - timedelta(hours=1),
    )


def test_creating_a_customer_returns_it_with_an_etag(marketer_api, manager):
    response = marketer_api.post(
        "/api/v1/customers/",
        {
            "external_id": "shop-7",
            "first_name": "Bea",
            "email": " Bea@Example.com ",
            "phone": "(415) 555-2671",
            "account": "Acme",
            "owner": "manager",
            "timezone": "Europe/Paris",
            "consents": {"email": True},
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert response["ETag"]
    assert body["email"] == customer.email == "bea@example.com"
    assert body["phone"] == "+14155552671"
    assert body["account"] == "Acme"
    assert body["owner"] == "manager" and customer.owner == manager
    assert body["tier"] == customer.tier.slug
    assert body["consents"] == {"email": True, "sms": False, "phone": False, "letter": False}
    assert ConsentChange.objects.filter(customer=customer, channel="email", granted=True).exists()


def test_an_account_manager_owns_what_they_create(manager_api, manager):
    response = manager_api.post(
        "/api/v1/customers/", {"first_name": "Bea"}, content_type="application/json"
    )

    assert response.status_code == 201
    assert response.json()["owner"] == "manager"
    assert Customer.objects.get(pk=response.json()["id"]).owner == manager


def test_an_account_manager_cannot_create_for_another_owner(manager_api, other_manager):
    response = manager_api.post(
        "/api/v1/customers/",
        {"first_name": "Bea", "owner": "manager2"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "owner" in response.json()["errors"]
    assert not Customer.objects.exists()


INVALID = [
    ("email", "not-an-email"),
    ("phone", "call me maybe"),
    ("phone", "123"),
    ("timezone", "Mars/Olympus_Mons"),
    ("audience", "wholesale"),
    ("relationship", "friend"),
    ("partner_kind", "reseller"),
    ("preferred_channel", "pigeon"),
    ("consents", "yes"),
    ("consents", {"fax": True}),
    ("consents", {"email": "yes"}),
    ("estimated_wallet", "-5.00"),
    ("estimated_wallet", "lots"),
    ("owner", "nobody"),
    ("first_name", "x" * 101),
]


@pytest.mark.parametrize(("field", "value"), INVALID)
def test_creating_with_a_bad_field_is_400_naming_it_and_creates_nothing(marketer_api, field, value):
    payload = {"first_name": "Bea", "email": "bea@example.com", field: value}

    response = marketer_api.post("/api/v1/customers/", payload, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert list(body["errors"]) == [field]
    assert all(isinstance(message, str) for message in body["errors"][field])
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("field", "value"), INVALID)
def test_changing_a_bad_field_is_400_and_changes_nothing(marketer_api, ann, field, value):
    before = snapshot(ann)

    response = marketer_api.patch(
        f"/api/v1/customers/{ann.pk}/", {field: value}, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert snapshot(ann) == before


def test_a_partner_kind_needs_a_channel_partner(marketer_api, ann):
    before = snapshot(ann)

    refused = marketer_api.patch(
        f"/api/v1/customers/{ann.pk}/", {"partner_kind": "var"}, content_type="application/json"
    )
    accepted = marketer_api.patch(
        f"/api/v1/customers/{ann.pk}/",
        {"partner_kind": "var", "relationship": "channel_partner"},
        content_type="application/json",
    )

    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["partner_kind"]
    assert accepted.status_code == 200
    assert before["partner_kind"] == ""
    assert snapshot(ann)["partner_kind"] == "var"


def test_an_email_another_customer_has_is_400_whatever_its_case(marketer_api, ann):
    other = CustomerFactory(email="bob@example.com")
    before = snapshot(other)

    created = marketer_api.post(
        "/api/v1/customers/",
        {"first_name": "Ann again", "email": "ANN@example.com"},
        content_type="application/json",
    )
    changed = marketer_api.patch(
        f"/api/v1/customers/{other.pk}/",
        {"email": "Ann@Example.com"},
        content_type="application/json",
    )

    assert created.status_code == 400
    assert list(created.json()["errors"]) == ["email"]
    assert changed.status_code == 400
    assert list(changed.json()["errors"]) == ["email"]
    assert Customer.objects.count() == 2
    assert snapshot(other) == before


def test_a_customer_needs_a_name_or_an_email(marketer_api):
    response = marketer_api.post(
        "/api/v1/customers/", {"phone": "+14155552671"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["errors"]
    assert not Customer.objects.exists()


def test_a_refused_create_leaves_no_new_account_behind(marketer_api):
    response = marketer_api.post(
        "/api/v1/customers/",
        {"first_name": "Bea", "email": "not-an-email", "account": "Brand New Co"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert not Account.objects.filter(name="Brand New Co").exists()


def test_reading_a_customer_gives_its_fields_and_etag(manager_api, ann):
    response = manager_api.get(f"/api/v1/customers/{ann.pk}/")

    assert response.status_code == 200
    assert response.json()["email"] == "ann@example.com"
    assert response["ETag"].startswith('"') and len(response["ETag"]) > 10


def test_partial_update_changes_only_the_fields_sent(manager_api, ann):
    before = snapshot(ann)

    response = manager_api.patch(
        f"/api/v1/customers/{ann.pk}/",
        {"last_name": "Smith", "consents": {"sms": True}},
        content_type="application/json",
    )

    assert response.status_code == 200
    after = snapshot(ann)
    assert after["last_name"] == "Smith" and after["consent_sms"] is True
    assert after["updated_at"] > before["updated_at"]
    # A stated preference counts on the bond, so the bond stage may move too.
    unchanged = set(before) - {"last_name", "consent_sms", "updated_at", "bond_stage"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert response.json()["last_name"] == "Smith"
    assert response.json()["consents"]["sms"] is True


def test_full_update_replaces_the_fields(manager_api, ann):
    response = manager_api.put(
        f"/api/v1/customers/{ann.pk}/",
        {
            "external_id": "crm-1",
            "first_name": "Anna",
            "last_name": "Lee-Smith",
            "email": "anna@example.com",
            "phone": "+14155552671",
            "account": "Acme",
            "audience": "b2b",
            "relationship": "channel_partner",
            "partner_kind": "dealer",
            "owner": "manager",
            "preferred_channel": "letter",
            "timezone": "America/New_York",
            "consents": {"email": True, "sms": False, "phone": True, "letter": True},
            "estimated_wallet": "1000.00",
            "postal_address": "1 Main St",
        },
        content_type="application/json",
    )

    assert response.status_code == 200, response.json()
    ann.refresh_from_db()
    assert (ann.first_name, ann.email, ann.account.name) == ("Anna", "anna@example.com", "Acme")
    assert (ann.relationship, ann.partner_kind, ann.preferred_channel) == (
        "channel_partner",
        "dealer",
        "letter",
    )
    assert ann.consents() == {"email": True, "sms": False, "phone": True, "letter": True}
    assert str(ann.estimated_wallet) == "1000.00"


def test_an_account_manager_cannot_hand_a_customer_to_someone_else(manager_api, ann, other_manager):
    before = snapshot(ann)

    response = manager_api.patch(
        f"/api/v1/customers/{ann.pk}/", {"owner": "manager2"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "owner" in response.json()["errors"]
    assert snapshot(ann) == before


def test_a_marketer_can_reassign_a_customer(marketer_api, ann, other_manager):
    response = marketer_api.patch(
        f"/api/v1/customers/{ann.pk}/", {"owner": "manager2"}, content_type="application/json"
    )

    assert response.status_code == 200
    ann.refresh_from_db()
    assert ann.owner == other_manager


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_another_managers_customer_is_404_and_untouched(other_manager_api, ann, method):
    before = snapshot(ann)

    response = getattr(other_manager_api, method)(
        f"/api/v1/customers/{ann.pk}/", {"last_name": "Hacked"}, content_type="application/json"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {}}
    assert snapshot(ann) == before


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_a_customer_that_does_not_exist_is_404(marketer_api, method):
    response = getattr(marketer_api, method)(
        "/api/v1/customers/999999/", {}, content_type="application/json"
    )

    assert response.status_code == 404


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_non_numeric_id_is_404(marketer_api, method):
    marketer_api.raise_request_exception = False

    response = getattr(marketer_api, method)(
        "/api/v1/customers/abc/", {}, content_type="application/json"
    )

    assert response.status_code == 404


def test_an_account_manager_may_not_delete_even_their_own_customer(manager_api, ann):
    before = snapshot(ann)

    response = manager_api.delete(f"/api/v1/customers/{ann.pk}/")

    assert response.status_code == 403
    assert snapshot(ann) == before


def test_delete_is_soft_and_leaves_a_tombstone(marketer_api, manager_api, ann):
    before_delete = timezone.now()

    response = marketer_api.delete(f"/api/v1/customers/{ann.pk}/")

    assert response.status_code == 204
    ann.refresh_from_db()
    assert ann.deleted_at is not None and ann.deleted_at >= before_delete
    assert manager_api.get(f"/api/v1/customers/{ann.pk}/").status_code == 404
    assert manager_api.get("/api/v1/customers/").json()["results"] == []
    tombstones = manager_api.get(
        "/api/v1/customers/deleted/", {"since": before_delete.isoformat()}
    ).json()["results"]
    assert [t["id"] for t in tombstones] == [ann.pk]


def test_patch_with_the_current_etag_succeeds(manager_api, ann):
    current = etag(manager_api, ann)

    response = manager_api.patch(
        f"/api/v1/customers/{ann.pk}/",
        {"first_name": "Anna"},
        content_type="application/json",
        headers={"if-match": current},
    )

    assert response.status_code == 200
    assert response["ETag"] != current
    assert response["ETag"] == etag(manager_api, ann)


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_a_stale_etag_is_412_and_changes_nothing(manager_api, marketer_api, ann, method):
    # Only marketers and admins delete.
    writer = marketer_api if method == "delete" else manager_api
    stale = etag(manager_api, ann)
    manager_api.patch(
        f"/api/v1/customers/{ann.pk}/", {"last_name": "Lee2"}, content_type="application/json"
    )
    before = snapshot(ann)

    response = getattr(writer, method)(
        f"/api/v1/customers/{ann.pk}/",
        {"first_name": "Lost update"},
        content_type="application/json",
        headers={"if-match": stale},
    )

    assert response.status_code == 412
    assert response.json()["detail"]
    assert response.json()["errors"] == {}
    assert snapshot(ann) == before


def test_without_if_match_a_write_goes_through(manager_api, ann):
    response = manager_api.put(
        f"/api/v1/customers/{ann.pk}/", {"first_name": "Anna"}, content_type="application/json"
    )

    assert response.status_code == 200
    ann.refresh_from_db()
    assert ann.first_name == "Anna"


def test_the_etag_changes_when_anything_writes_the_customer(manager_api, ann):
    first = etag(manager_api, ann)

    manager_api.patch(
        f"/api/v1/customers/{ann.pk}/",
        {"consents": {"letter": True}},
        content_type="application/json",
    )

    assert etag(manager_api, ann) != first


def errors(api, payload: dict, **headers) -> dict:
    body = {"first_name": "Bea", **payload}
    response = api.post("/api/v1/customers/", body, content_type="application/json", **headers)
    assert response.status_code == 400
    return response.json()["errors"]


def test_a_bad_phone_or_time_zone_is_told_in_the_callers_language(marketer_api):
    german = {"headers": {"accept-language": "de"}}
    phone, zone = {"phone": "call me"}, {"timezone": "Mars/Olympus_Mons"}

    assert errors(marketer_api, phone, **german) == {
        "phone": ["„call me“ ist keine Telefonnummer."]
    }
    assert errors(marketer_api, zone, **german) == {
        "timezone": ["„Mars/Olympus_Mons“ ist keine bekannte Zeitzone (z. B. Europe/Paris)."]
    }
    # English stays the default.
    assert errors(marketer_api, phone) == {"phone": ["“call me” is not a phone number."]}
    assert errors(marketer_api, zone) == {
        "timezone": ["“Mars/Olympus_Mons” is not a known time zone (e.g. Europe/Paris)."]
    }
    assert not Customer.objects.exists()


def test_an_error_the_api_writes_itself_is_told_in_the_callers_language(marketer_api):
    consents = {"consents": {"fax": True}}

    german = errors(marketer_api, consents, headers={"accept-language": "de"})
    spanish = errors(marketer_api, consents, headers={"accept-language": "es"})

    assert german == {"consents": ["Unbekannte Kanäle: fax."]}
    assert spanish == {"consents": ["Canales desconocidos: fax."]}
    assert errors(marketer_api, consents) == {"consents": ["Unknown channels: fax."]}
