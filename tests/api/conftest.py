"""Fixtures for the REST API tests: token-signed clients for each role, and a clean throttle."""

import pytest
from django.core.cache import cache
from django.test import Client

from bonding import services


def token_client(user) -> Client:
    """A test client that signs every request with a fresh API token of `user`."""
    _, key = services.issue_token(user=user, name="tests")
    client = Client(headers={"authorization": f"Token {key}"})
    client.key = key
    return client


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # Throttle counters live in the cache: no test may spend another's budget.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def marketer_api(marketer) -> Client:
    return token_client(marketer)


@pytest.fixture
def manager_api(manager) -> Client:
    return token_client(manager)


@pytest.fixture
def other_manager_api(other_manager) -> Client:
    return token_client(other_manager)


def customer_page(user, customer) -> str:
    """The customer's 360 page as `user` sees it in the browser (its timeline among the rest)."""
    client = Client()
    client.force_login(user)
    response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    return response.content.decode()
