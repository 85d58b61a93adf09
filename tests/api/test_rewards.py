"""GET /api/v1/customers/{id}/rewards/ and POST /api/v1/rewards/ with an idempotency key."""

import json
from decimal import Decimal

import pytest

from customers import rewards
from customers.models import Reward
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(manager):
    return CustomerFactory(first_name="Ann", owner=manager)


def post(client, body, **headers):
    return client.post(
        "/api/v1/rewards/", json.dumps(body), content_type="application/json", headers=headers
    )


def test_the_ledger_lists_lines_and_the_balance(
    marketer_api, ann, marketer, django_assert_num_queries
):
    rewards.grant(customer=ann, value=Decimal(20), reason="Welcome")
    rewards.grant(customer=ann, value=Decimal(5), reason="Voucher", unit="money")
    rewards.redeem(customer=ann, value=Decimal(8), reason="Spent", by=marketer)
    # Token, user and roles, the customer, the page of lines, the balance.
    with django_assert_num_queries(6):
        response = marketer_api.get(f"/api/v1/customers/{ann.pk}/rewards/")
    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == {"money": "5.00", "points": "12.00"}
    assert [line["movement"] for line in body["results"]] == ["redeemed", "earned", "earned"]
    assert marketer_api.get(f"/api/v1/customers/{ann.pk}/rewards/?colour=red").status_code == 400


def test_another_managers_customer_is_not_found(other_manager_api, ann):
    assert other_manager_api.get(f"/api/v1/customers/{ann.pk}/rewards/").status_code == 404
    body = {"action": "grant", "customer": ann.pk, "value": "5", "reason": "Sorry"}
    assert post(other_manager_api, body).status_code == 400
    assert not ann.rewards.exists()


def test_the_same_key_twice_returns_the_first_result_and_changes_nothing(marketer_api, ann):
    body = {"action": "grant", "customer": ann.pk, "value": "20", "reason": "Welcome"}
    first = post(marketer_api, body, **{"Idempotency-Key": "abc"})
    again = post(marketer_api, body, **{"Idempotency-Key": "abc"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert ann.rewards.count() == 1
    by_field = post(marketer_api, {**body, "idempotency_key": "abc"})
    assert by_field.json() == first.json()
    changed = post(marketer_api, {**body, "value": "21"}, **{"Idempotency-Key": "abc"})
    assert changed.status_code == 400 and "idempotency_key" in changed.json()["errors"]
    assert ann.rewards.count() == 1


def test_a_redemption_by_key_spends_once(marketer_api, ann):
    rewards.grant(customer=ann, value=Decimal(10), reason="Welcome")
    body = {"action": "redeem", "customer": ann.pk, "value": "6", "reason": "Voucher"}
    assert post(marketer_api, body, **{"Idempotency-Key": "r1"}).status_code == 201
    assert post(marketer_api, body, **{"Idempotency-Key": "r1"}).status_code == 201
    too_much = post(marketer_api, body, **{"Idempotency-Key": "r2"})
    assert too_much.status_code == 400 and "value" in too_much.json()["errors"]
    assert ann.rewards.filter(movement=Reward.Movement.REDEEMED).count() == 1


def test_account_managers_grant_goodwill_within_the_limit_only(manager_api, ann, settings):
    settings.REWARD_GOODWILL_LIMIT = 25
    body = {"action": "grant", "customer": ann.pk, "value": "25", "reason": "Sorry"}
    assert post(manager_api, body).json()["cause"] == "goodwill"
    assert post(manager_api, {**body, "value": "26"}).status_code == 403
    assert post(manager_api, {**body, "cause": "manual"}).status_code == 403
    assert post(manager_api, {**body, "action": "redeem"}).status_code == 403
    assert ann.rewards.count() == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"action": "steal"},
        {"value": "-5"},
        {"value": "lots"},
        {"unit": "gold"},
        {"cause": "bribe"},
        {"reason": ""},
        {"customer": 999999},
        {"action": "redeem", "value": "0"},
        {"action": "redeem", "cause": "referral"},
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(marketer_api, ann, bad):
    body = {"action": "grant", "customer": ann.pk, "value": "5", "reason": "x", **bad}
    response = post(marketer_api, body)
    assert response.status_code == 400, response.content
    assert not ann.rewards.exists()


def test_an_overlong_key_is_a_400(marketer_api, ann):
    body = {"action": "grant", "customer": ann.pk, "value": "5", "reason": "x"}
    assert post(marketer_api, body, **{"Idempotency-Key": "k" * 101}).status_code == 400
    assert not ann.rewards.exists()
