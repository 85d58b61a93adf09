"""The public unsubscribe page answers 429 past its limit per address, like the survey pages."""

import pytest

from customers.models import Customer
from programs.unsubscribe import unsubscribe_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def token() -> str:
    ann = Customer.objects.create(first_name="Ann", email="ann@example.com", consent_email=True)
    return unsubscribe_token(customer=ann, channel="email")


def test_it_answers_429_past_the_limit_and_changes_nothing(client, settings, token):
    settings.UNSUBSCRIBE_RATE_PER_MINUTE = 3

    answers = [client.get(f"/u/{token}/").status_code for _ in range(3)]
    refused = client.post(f"/u/{token}/")

    assert answers == [200, 200, 200]
    assert refused.status_code == 429
    assert "Please try again in a minute." in refused.content.decode()
    assert Customer.objects.get().consent_email is True


def test_unknown_tokens_count_against_the_limit_too(client, settings):
    settings.UNSUBSCRIBE_RATE_PER_MINUTE = 2

    answers = [client.get(f"/u/guess{n}/").status_code for n in range(4)]

    assert answers == [404, 404, 429, 429]


def test_the_choose_form_is_limited_as_well(client, settings, token):
    settings.UNSUBSCRIBE_RATE_PER_MINUTE = 1
    client.get(f"/u/{token}/")

    response = client.post(f"/u/{token}/choose/", {"channels": ["email"]})

    assert response.status_code == 429
    assert Customer.objects.get().consent_email is True
