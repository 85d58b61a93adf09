"""Errors say a value is taken or refused, never whose it is or who else exists.

An account manager sees only their own customers: a collision with someone else's customer
(its external_id, its e-mail) or an owner they may not choose must not tell them that
customer's name, id or owner, nor whether some other username exists.
"""

import json
import re

import pytest

from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(other_manager) -> Customer:
    return CustomerFactory(
        owner=other_manager,
        external_id="crm-42",
        first_name="Zelda",
        last_name="Secret",
        email="zelda@example.com",
    )


def says_nothing_of(text: str, customer: Customer) -> bool:
    owner = customer.owner
    text = text.replace(customer.email, "")  # the caller's own input, echoed in the form
    names = [customer.first_name, customer.last_name, owner.username, owner.first_name]
    found = [name for name in names if re.search(rf"\b{re.escape(name)}\b", text, re.I)]
    links = [f"/customers/{customer.pk}/", f"/api/v1/customers/{customer.pk}/"]
    return found == [] and not any(link in text for link in links)


def sync(client, rows):
    return client.post("/api/v1/customers/sync/", {"customers": rows}, "application/json")


def test_syncing_someone_elses_external_id_is_refused_without_naming_them(manager_api, theirs):
    response = sync(manager_api, [{"external_id": "crm-42", "first_name": "Mine"}])

    [error] = response.json()["errors"]
    assert error["index"] == 0 and "external_id" in error["errors"]
    assert says_nothing_of(json.dumps(response.json()), theirs)
    assert Customer.objects.get(pk=theirs.pk).first_name == "Zelda"


def test_syncing_someone_elses_email_says_it_is_taken_not_whose(manager_api, theirs):
    response = sync(manager_api, [{"external_id": "new-1", "email": "zelda@example.com"}])

    [error] = response.json()["errors"]
    assert error["errors"] == {"email": ["Another customer already has this e-mail address."]}
    assert says_nothing_of(json.dumps(response.json()), theirs)


def test_creating_with_someone_elses_email_says_it_is_taken_not_whose(
    manager_api, client, manager, theirs
):
    api = manager_api.post(
        "/api/v1/customers/",
        {"first_name": "A", "email": "zelda@example.com"},
        "application/json",
    )
    client.force_login(manager)
    page = client.post(
        "/customers/new/",
        {
            "first_name": "A",
            "email": "zelda@example.com",
            "audience": "retail",
            "relationship": "customer",
            "preferred_channel": "email",
        },
    )

    assert api.status_code == 400
    assert "already" in json.dumps(api.json())
    assert says_nothing_of(api.content.decode(), theirs)
    assert page.status_code == 400
    assert b"already has this e-mail" in page.content
    assert says_nothing_of(page.content.decode().split("<main", 1)[-1], theirs)


@pytest.mark.parametrize("owner", ["manager2", "nobody-by-this-name"])
def test_an_owner_an_account_manager_may_not_choose_gets_one_answer(
    manager_api, other_manager, owner
):
    created = manager_api.post(
        "/api/v1/customers/", {"first_name": "A", "owner": owner}, "application/json"
    )
    synced = sync(manager_api, [{"external_id": "new-2", "first_name": "A", "owner": owner}])

    assert created.status_code == 400
    assert created.json()["errors"] == {"owner": ["You may only assign customers to yourself."]}
    assert synced.json()["errors"][0]["errors"] == {
        "owner": ["You may only assign customers to yourself."]
    }
