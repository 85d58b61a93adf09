"""Sign-in cannot be brute-forced: the page and the token API share one lockout (django-axes)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from bonding.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttle():
    # The token endpoint's own throttle counts in the shared cache: start from nothing.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def limit(settings) -> int:
    settings.AXES_FAILURE_LIMIT = 3
    return 3


def sign_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def exchange(client: Client, username: str, password: str):
    return client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
    )


def test_the_sign_in_page_locks_a_username_out_after_the_limit(client, marketer, limit):
    answers = [sign_in(client, "marketer", f"guess{n}").status_code for n in range(limit)]
    right = sign_in(client, "marketer", "pw")

    assert answers == [200] * (limit - 1) + [429]
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    content = right.content.decode()
    assert "Sign-in paused" in content
    assert "Too many failed sign-ins for this username or from this address." in content
    assert "Try again in 15 minutes." in content


def test_one_address_trying_many_usernames_is_locked_out_too(client, marketer, limit):
    for n in range(limit):
        sign_in(client, f"nobody{n}", "guess")

    response = sign_in(client, "marketer", "pw")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_token_exchange_locks_out_with_a_clear_detail(client, marketer, limit):
    answers = [exchange(client, "marketer", f"guess{n}").status_code for n in range(limit)]
    right = exchange(client, "marketer", "pw")

    assert answers == [401] * (limit - 1) + [429]
    assert right.status_code == 429
    assert right.json() == {
        "detail": "Too many failed sign-ins for this username or from this address. "
        "Try again in 15 minutes.",
        "errors": {},
    }
    assert not ApiToken.objects.exists()


def test_failures_on_the_page_and_the_api_count_together(client, marketer, limit):
    sign_in(client, "marketer", "guess")
    for n in range(limit - 1):
        exchange(client, "marketer", f"guess{n}")

    assert exchange(client, "marketer", "pw").status_code == 429
    assert sign_in(client, "marketer", "pw").status_code == 429
    assert AccessAttempt.objects.get(username="marketer").failures_since_start >= limit


def test_a_success_before_the_limit_starts_the_count_again(client, marketer, limit):
    for n in range(limit - 1):
        sign_in(client, "marketer", f"guess{n}")
    assert sign_in(client, "marketer", "pw").status_code == 302
    client.post("/accounts/logout/")

    for n in range(limit - 1):
        sign_in(client, "marketer", f"again{n}")

    assert sign_in(client, "marketer", "pw").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, marketer, limit):
    for n in range(limit):
        sign_in(client, "marketer", f"guess{n}")
    assert sign_in(client, "marketer", "pw").status_code == 429

    # Sixteen minutes later, as far as the recorded attempts can tell.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert sign_in(client, "marketer", "pw").status_code == 302
    assert "_auth_user_id" in client.session
