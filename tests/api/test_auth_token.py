"""POST /api/v1/auth/token/ and how every API request is authenticated (token or session)."""

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from bonding import services
from bonding.models import ApiToken, hash_key
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db


def test_good_credentials_get_a_token_that_signs_requests(client, marketer):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "marketer", "password": "pw", "name": "shop sync"},
        content_type="application/json",
    )

    assert response.status_code == 201
    key = response.json()["token"]
    token = ApiToken.objects.get(user=marketer)
    assert token.name == "shop sync"
    listed = Client().get("/api/v1/customers/", headers={"authorization": f"Token {key}"})
    assert listed.status_code == 200


def test_a_wrong_password_is_401_and_issues_nothing(client, marketer):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "marketer", "password": "wrong"},
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response.json() == {"detail": response.json()["detail"], "errors": {}}
    assert response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_missing_fields_are_400_naming_each_field(client, marketer):
    response = client.post("/api/v1/auth/token/", {}, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert set(body["errors"]) == {"username", "password"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())


def test_a_password_that_is_not_a_string_is_400(client, marketer):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "marketer", "password": ["pw"]},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["password"]


def test_a_body_that_is_not_an_object_is_400(client, marketer):
    client.raise_request_exception = False

    response = client.post("/api/v1/auth/token/", [None, None], content_type="application/json")

    assert response.status_code == 400


def test_an_inactive_user_gets_no_token(client, marketer):
    marketer.is_active = False
    marketer.save()

    response = client.post(
        "/api/v1/auth/token/",
        {"username": "marketer", "password": "pw"},
        content_type="application/json",
    )

    assert response.status_code == 401
    assert not ApiToken.objects.exists()


def test_a_request_without_a_token_is_401(client, marketer):
    response = client.get("/api/v1/customers/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": response.json()["detail"], "errors": {}}


def test_a_wrong_token_is_401(marketer):
    client = Client(headers={"authorization": "Token bnd_not-a-real-key"})

    response = client.get("/api/v1/customers/")

    assert response.status_code == 401
    assert response.json()["errors"] == {}


def test_a_revoked_token_is_401(marketer):
    client = token_client(marketer)
    token = ApiToken.objects.get(key_hash=hash_key(client.key))
    assert client.get("/api/v1/customers/").status_code == 200

    services.revoke_token(token=token)
    response = client.get("/api/v1/customers/")

    assert response.status_code == 401


def test_the_token_of_an_inactive_user_is_401(marketer):
    client = token_client(marketer)
    marketer.is_active = False
    marketer.save()

    response = client.get("/api/v1/customers/")

    assert response.status_code == 401


def test_tokens_are_stored_hashed_and_the_key_is_nowhere_in_the_database(client, marketer):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "marketer", "password": "pw"},
        content_type="application/json",
    )
    key = response.json()["token"]

    token = ApiToken.objects.get(user=marketer)
    assert token.key_hash == hash_key(key)
    assert key.startswith(token.prefix) and len(token.prefix) < len(key) // 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM bonding_apitoken")
        stored = [str(value) for row in cursor.fetchall() for value in row]
    assert not any(key in value for value in stored)


def test_using_a_token_records_when_it_was_last_used(marketer):
    client = token_client(marketer)
    before = timezone.now()

    client.get("/api/v1/customers/")

    token = ApiToken.objects.get(key_hash=hash_key(client.key))
    assert token.last_used_at is not None and token.last_used_at >= before


def test_a_signed_in_person_can_use_the_browsable_api(client, marketer):
    client.login(username="marketer", password="pw")

    html = client.get("/api/v1/customers/", headers={"accept": "text/html"})
    data = client.get("/api/v1/customers/")

    assert html.status_code == 200
    assert html["Content-Type"].startswith("text/html")
    assert data.status_code == 200
    assert "results" in data.json()


def test_session_writes_need_the_csrf_token(marketer):
    client = Client(enforce_csrf_checks=True)
    client.login(username="marketer", password="pw")

    response = client.post(
        "/api/v1/customers/", {"first_name": "Ann"}, content_type="application/json"
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
