"""Webhooks go only to public addresses: a subscriber cannot make Bonding post to the
services inside its own network (loopback, private ranges, cloud metadata)."""

import json

import pytest

from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def check_addresses(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False


def subscribe(api, url: str):
    body = {"url": url, "events": ["customer.created"]}
    return api.post("/api/v1/webhooks/", json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://localhost/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.7/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
        "http://0.0.0.0/hooks",
        "https://no-such-host.invalid/hooks",
    ],
)
def test_an_endpoint_inside_the_network_is_refused_and_nothing_is_written(marketer_api, url):
    response = subscribe(marketer_api, url)

    assert response.status_code == 400
    assert "url" in response.json()["errors"]
    assert not Endpoint.objects.exists()


def test_a_public_address_is_accepted(marketer_api):
    response = subscribe(marketer_api, "https://93.184.215.14/hooks")

    assert response.status_code == 201
    assert Endpoint.objects.get().url == "https://93.184.215.14/hooks"


def test_the_settings_page_says_why(client, marketer):
    client.force_login(marketer)

    response = client.post(
        "/settings/webhooks/", {"url": "http://127.0.0.1/hooks", "events": ["customer.created"]}
    )

    assert response.status_code == 400
    assert "inside this network" in response.content.decode()
    assert not Endpoint.objects.exists()
