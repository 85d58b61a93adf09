"""The /settings/tokens/ page: create a token (its key shown once) and revoke your own."""

import re

import pytest
from django.test import Client

from bonding import services
from bonding.models import ApiToken, hash_key

pytestmark = pytest.mark.django_db

KEY = re.compile(r'id="new-key"[^>]*value="(bnd_[^"]+)"')


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/settings/tokens/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_creating_a_token_shows_its_key_once(client, manager):
    client.force_login(manager)

    created = client.post("/settings/tokens/", {"name": "shop sync"})

    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    key = KEY.search(created.content.decode()).group(1)
    token = ApiToken.objects.get(user=manager)
    assert token.name == "shop sync"
    assert token.key_hash == hash_key(key)
    again = client.get("/settings/tokens/")
    assert key not in again.content.decode()
    assert token.prefix in again.content.decode()
    api = Client(headers={"authorization": f"Token {key}"})
    assert api.get("/api/v1/customers/").status_code == 200


def test_a_token_without_a_name_is_refused(client, manager):
    client.force_login(manager)

    response = client.post("/settings/tokens/", {"name": "  "})

    assert response.status_code == 200
    assert not KEY.search(response.content.decode())
    assert not ApiToken.objects.exists()


def test_revoking_your_token_stops_it_at_once(client, manager):
    token, key = services.issue_token(user=manager, name="shop sync")
    client.force_login(manager)

    response = client.post("/settings/tokens/", {"action": "revoke", "token": token.pk})

    assert response.status_code == 302
    assert response["Location"] == "/settings/tokens/"
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = Client(headers={"authorization": f"Token {key}"})
    assert api.get("/api/v1/customers/").status_code == 401


def test_revoking_another_users_token_is_404_and_leaves_it_live(client, manager, other_manager):
    theirs, key = services.issue_token(user=other_manager, name="their sync")
    client.force_login(manager)

    response = client.post("/settings/tokens/", {"action": "revoke", "token": theirs.pk})

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    api = Client(headers={"authorization": f"Token {key}"})
    assert api.get("/api/v1/customers/").status_code == 200


def test_the_page_lists_only_your_own_tokens(client, manager, other_manager):
    services.issue_token(user=manager, name="mine")
    services.issue_token(user=other_manager, name="theirs")
    client.force_login(manager)

    page = client.get("/settings/tokens/").content.decode()

    assert "mine" in page
    assert "theirs" not in page
