"""GET/POST /api/v1/accounts/ and GET/PUT/PATCH /api/v1/accounts/{id}/: marketers and admins
read and change every account; an account manager reads the accounts of their customers."""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from customers.models import Account
from tests.factories import AccountFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(manager):
    account = AccountFactory(name="Acme")
    CustomerFactory(owner=manager, account=account)
    return account


@pytest.fixture
def globex(other_manager):
    account = AccountFactory(name="Globex")
    CustomerFactory(owner=other_manager, account=account)
    return account


def snapshot(account: Account) -> dict:
    account.refresh_from_db()
    return {**model_to_dict(account), "updated_at": account.updated_at}


def test_a_marketer_creates_an_account_and_gets_its_etag(marketer_api, manager):
    response = marketer_api.post(
        "/api/v1/accounts/",
        {"name": "Initech", "website": "https://initech.example", "owner": "manager"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    account = Account.objects.get(pk=response.json()["id"])
    assert account.name == "Initech" and account.owner == manager
    assert response.json()["owner"] == "manager"
    assert response["ETag"] == marketer_api.get(f"/api/v1/accounts/{account.pk}/")["ETag"]


@pytest.mark.parametrize(
    ("field", "payload"),
    [
        ("name", {"website": "https://initech.example"}),
        ("website", {"name": "Initech", "website": "not a url"}),
        ("owner", {"name": "Initech", "owner": "nobody"}),
        ("industry", {"name": "Initech", "industry": "x" * 101}),
    ],
)
def test_a_bad_account_is_400_and_creates_nothing(marketer_api, field, payload):
    response = marketer_api.post("/api/v1/accounts/", payload, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Account.objects.exists()


def test_a_manager_reads_only_the_accounts_of_their_customers(manager_api, acme, globex):
    AccountFactory(name="Nobody's")

    listed = manager_api.get("/api/v1/accounts/")
    own = manager_api.get(f"/api/v1/accounts/{acme.pk}/")
    other = manager_api.get(f"/api/v1/accounts/{globex.pk}/")

    assert [row["name"] for row in listed.json()["results"]] == ["Acme"]
    assert own.status_code == 200 and own["ETag"]
    assert other.status_code == 404


def test_a_manager_changes_no_account(manager_api, acme, globex):
    before = {a.pk: snapshot(a) for a in (acme, globex)}

    created = manager_api.post(
        "/api/v1/accounts/", {"name": "Mine now"}, content_type="application/json"
    )
    own = manager_api.patch(
        f"/api/v1/accounts/{acme.pk}/", {"name": "Renamed"}, content_type="application/json"
    )
    other = manager_api.patch(
        f"/api/v1/accounts/{globex.pk}/", {"name": "Renamed"}, content_type="application/json"
    )

    assert (created.status_code, own.status_code, other.status_code) == (403, 403, 404)
    assert {a.pk: snapshot(a) for a in (acme, globex)} == before
    assert Account.objects.count() == 2


def test_a_marketer_changes_an_account_with_if_match(marketer_api, acme):
    Account.objects.filter(pk=acme.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    etag = marketer_api.get(f"/api/v1/accounts/{acme.pk}/")["ETag"]

    response = marketer_api.patch(
        f"/api/v1/accounts/{acme.pk}/",
        {"industry": "Anvils"},
        content_type="application/json",
        headers={"if-match": etag},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["industry"] == "Anvils" and response.json()["name"] == "Acme"
    assert response["ETag"] != etag
    stale = marketer_api.put(
        f"/api/v1/accounts/{acme.pk}/",
        {"name": "Acme Corp"},
        content_type="application/json",
        headers={"if-match": etag},
    )
    assert stale.status_code == 412
    assert snapshot(acme)["name"] == "Acme"


def test_a_bad_change_is_400_and_changes_nothing(marketer_api, acme):
    before = snapshot(acme)

    response = marketer_api.patch(
        f"/api/v1/accounts/{acme.pk}/",
        {"name": "", "website": "nope"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["name", "website"]
    assert snapshot(acme) == before


def test_updated_since_lists_the_accounts_changed_since(marketer_api, acme, globex):
    Account.objects.filter(pk=acme.pk).update(updated_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    response = marketer_api.get("/api/v1/accounts/", {"updated_since": since})

    assert [row["name"] for row in response.json()["results"]] == ["Globex"]


@pytest.mark.parametrize("since", ["yesterday", "9999-12-31T23:59:59-23:59"])
def test_a_bad_updated_since_is_400(marketer_api, since):
    response = marketer_api.get("/api/v1/accounts/", {"updated_since": since})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["updated_since"]


def test_the_list_runs_few_queries(manager_api, manager, django_assert_num_queries):
    for n in range(20):
        CustomerFactory(owner=manager, account=AccountFactory(name=f"Firm {n}", owner=manager))
    manager_api.get("/api/v1/accounts/")

    with django_assert_num_queries(3):  # token, roles, page
        response = manager_api.get("/api/v1/accounts/")

    assert len(response.json()["results"]) == 20
    assert {row["owner"] for row in response.json()["results"]} == {"manager"}
