"""Limits on every API request: body size (413) and request rate per token (429)."""

import pytest
from rest_framework.throttling import SimpleRateThrottle

from bonding.rest import TokenRateThrottle
from customers.models import Customer
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db


def test_a_body_over_the_limit_is_413_json_and_writes_nothing(marketer_api, settings):
    settings.API_MAX_BODY_BYTES = 200
    rows = [{"external_id": f"shop-{n}", "first_name": "Ann"} for n in range(10)]

    response = marketer_api.post(
        "/api/v1/customers/sync/", {"customers": rows}, content_type="application/json"
    )

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": response.json()["detail"], "errors": {}}
    assert "200" in response.json()["detail"]
    assert not Customer.objects.exists()


def test_a_body_under_the_limit_goes_through(marketer_api, settings):
    settings.API_MAX_BODY_BYTES = 200

    response = marketer_api.post(
        "/api/v1/customers/sync/",
        {"customers": [{"external_id": "shop-1", "first_name": "Ann"}]},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["created"] == 1


@pytest.fixture
def three_a_minute(monkeypatch):
    # DRF reads the rates once at import: set them on the throttle classes themselves.
    monkeypatch.setattr(TokenRateThrottle, "rate", "3/minute", raising=False)
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "auth", "3/minute")


def test_a_token_over_its_rate_gets_429_with_retry_after(marketer_api, three_a_minute):
    statuses = [marketer_api.get("/api/v1/customers/").status_code for _ in range(4)]

    response = marketer_api.get("/api/v1/tiers/")

    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json() == {"detail": response.json()["detail"], "errors": {}}


def test_each_token_has_its_own_budget(marketer, three_a_minute):
    busy, quiet = token_client(marketer), token_client(marketer)
    for _ in range(3):
        busy.get("/api/v1/customers/")

    assert busy.get("/api/v1/customers/").status_code == 429
    assert quiet.get("/api/v1/customers/").status_code == 200


def test_password_guessing_on_the_token_exchange_is_throttled(client, marketer, three_a_minute):
    for _ in range(3):
        client.post(
            "/api/v1/auth/token/",
            {"username": "marketer", "password": "guess"},
            content_type="application/json",
        )

    response = client.post(
        "/api/v1/auth/token/",
        {"username": "marketer", "password": "pw"},
        content_type="application/json",
    )

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
