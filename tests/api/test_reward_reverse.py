"""Reversing a reward line: the 360 page's button and POST /api/v1/rewards/{id}/reverse/.
Marketers only; once per line (twice is a 400); bad input changes nothing."""

import json
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


def reverse_api(client, entry_id, body=None):
    return client.post(
        f"/api/v1/rewards/{entry_id}/reverse/",
        json.dumps(body or {"reason": "Fraud"}),
        content_type="application/json",
    )


def test_the_api_reverses_what_is_left_once(marketer_api, ann, marketer):
    earned = rewards.grant(customer=ann, value=Decimal(20), reason="Welcome")
    rewards.redeem(customer=ann, value=Decimal(5), reason="Coffee", by=marketer)
    response = reverse_api(marketer_api, earned.pk)
    assert response.status_code == 201
    body = response.json()
    assert (body["movement"], body["value"], body["applies_to"]) == (
        "reversed",
        "-15.00",
        earned.pk,
    )
    again = reverse_api(marketer_api, earned.pk)
    assert again.status_code == 400
    assert ann.rewards.filter(movement=Reward.Movement.REVERSED).count() == 1
    assert sum(ann.rewards.values_list("value", flat=True)) == 0


def test_the_api_refuses_bad_input_changing_nothing(marketer_api, manager_api, ann, marketer):
    earned = rewards.grant(customer=ann, value=Decimal(20), reason="Welcome")
    spent = rewards.redeem(customer=ann, value=Decimal(5), reason="Coffee", by=marketer)
    assert reverse_api(manager_api, earned.pk).status_code == 403  # account managers
    assert reverse_api(marketer_api, spent.pk).status_code == 400  # not an earned line
    assert reverse_api(marketer_api, earned.pk, {"reason": "x" * 201}).status_code == 400
    assert reverse_api(marketer_api, 999999).status_code == 404
    assert marketer_api.post("/api/v1/rewards/abc/reverse/").status_code == 404
    assert ann.rewards.count() == 2


def test_the_360_page_reverses_a_line_once(client, marketer, ann, django_assert_num_queries):
    earned = rewards.grant(customer=ann, value=Decimal(20), reason="Welcome")
    client.force_login(marketer)
    page = client.get(f"/customers/{ann.pk}/").content.decode()
    url = f"/customers/{ann.pk}/rewards/{earned.pk}/reverse/"
    assert f'action="{url}"' in page
    response = client.post(url, {"reason": "Entered twice"})
    assert response.status_code == 302
    reversal = ann.rewards.get(movement=Reward.Movement.REVERSED)
    assert (reversal.value, reversal.reason) == (Decimal(-20), "Entered twice")
    # Reversed: no button any more, and a second post is a 400 that writes nothing.
    assert f'action="{url}"' not in client.get(f"/customers/{ann.pk}/").content.decode()
    assert client.post(url, {"reason": "Again"}).status_code == 400
    assert ann.rewards.count() == 2


def test_account_managers_see_no_button_and_get_403(client, manager, marketer, ann):
    earned = rewards.grant(customer=ann, value=Decimal(20), reason="Welcome")
    client.force_login(manager)
    url = f"/customers/{ann.pk}/rewards/{earned.pk}/reverse/"
    assert f'action="{url}"' not in client.get(f"/customers/{ann.pk}/").content.decode()
    assert client.post(url).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(marketer)
    assert strict.post(url).status_code == 403
    other = CustomerFactory(owner=manager)
    client.force_login(marketer)
    assert client.post(f"/customers/{other.pk}/rewards/{earned.pk}/reverse/").status_code == 404
    assert ann.rewards.count() == 1
