"""The 360 page's rewards: the balance and the lines, granting within the goodwill limit and
redeeming for marketers; bad input is a 4xx that changes nothing."""

from decimal import Decimal

import pytest
from django.test import Client

from customers import rewards
from customers.models import Reward
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(manager):
    return CustomerFactory(first_name="Ann", owner=manager)


def test_the_360_page_shows_the_balance_and_the_lines(client, marketer, ann):
    rewards.grant(customer=ann, value=Decimal(20), reason="Referral of Bob")
    rewards.redeem(customer=ann, value=Decimal(5), reason="Coffee voucher", by=marketer)
    client.force_login(marketer)
    content = client.get(f"/customers/{ann.pk}/").content.decode()
    assert "<strong>15.00 points</strong>" in content
    assert "Referral of Bob" in content and "Coffee voucher" in content
    assert 'id="redeem-form"' in content


def test_many_lines_cost_no_more_queries(client, marketer, ann, django_assert_max_num_queries):
    busy = CustomerFactory(owner=ann.owner)
    for n in range(30):
        rewards.grant(customer=busy, value=Decimal(n + 1), reason=f"line {n}", by=marketer)
    client.force_login(marketer)
    with django_assert_max_num_queries(30) as quiet:
        client.get(f"/customers/{ann.pk}/")
    with django_assert_max_num_queries(len(quiet.captured_queries)):
        client.get(f"/customers/{busy.pk}/")


def test_an_account_manager_grants_goodwill_within_the_limit(client, manager, ann, settings):
    settings.REWARD_GOODWILL_LIMIT = 25
    client.force_login(manager)
    response = client.post(f"/customers/{ann.pk}/rewards/", {"value": "10", "reason": "Sorry"})
    assert response.status_code == 302
    assert ann.rewards.get().cause == Reward.Cause.GOODWILL
    too_much = client.post(f"/customers/{ann.pk}/rewards/", {"value": "26", "reason": "Sorry"})
    assert too_much.status_code == 403
    assert ann.rewards.count() == 1
    assert client.get(f"/customers/{ann.pk}/").content.decode().count('id="redeem-form"') == 0


def test_only_marketers_redeem_and_never_more_than_the_balance(client, manager, marketer, ann):
    rewards.grant(customer=ann, value=Decimal(10), reason="Welcome")
    url = f"/customers/{ann.pk}/rewards/redeem/"
    client.force_login(manager)
    assert client.post(url, {"unit": "points", "value": "5", "reason": "x"}).status_code == 403
    client.force_login(marketer)
    too_much = client.post(url, {"unit": "points", "value": "11", "reason": "Voucher"})
    assert too_much.status_code == 400
    assert "Only 10.00 points can be spent." in too_much.content.decode()
    for bad in ({"value": "-1"}, {"value": "x"}, {"unit": "gold"}, {"reason": ""}):
        body = {"unit": "points", "value": "5", "reason": "Voucher", **bad}
        assert client.post(url, body).status_code == 400
    assert ann.rewards.count() == 1
    assert (
        client.post(url, {"unit": "points", "value": "4", "reason": "Voucher"}).status_code == 302
    )
    assert ann.rewards.filter(movement=Reward.Movement.REDEEMED).get().value == -4


def test_a_grant_without_the_csrf_token_is_refused(marketer, ann):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(marketer)
    response = strict.post(f"/customers/{ann.pk}/rewards/", {"value": "10", "reason": "x"})
    assert response.status_code == 403
    assert not ann.rewards.exists()
