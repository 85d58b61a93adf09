"""GET /api/v1/customers/{id}/ladder/: the rung, what it takes to climb, and to stay."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from customers import activity, placement, queries, records
from customers.models import Customer

pytestmark = pytest.mark.django_db


def _repeat_customer(owner):
    customer = records.create_customer(data={"first_name": "Ann", "owner": owner}, by=None)
    today = timezone.localdate()
    for days in (30, 3):
        activity.record_purchase(
            customer=customer, amount="100.00", purchased_on=today - timedelta(days=days)
        )
    return Customer.objects.get(pk=customer.pk)


def test_it_says_the_rung_the_next_and_what_is_missing(
    manager_api, manager, django_assert_num_queries
):
    customer = _repeat_customer(manager)

    # The token (read, last use), the roles, the customer, then the rungs and seven grouped
    # reads of facts.
    with django_assert_num_queries(12):
        response = manager_api.get(f"/api/v1/customers/{customer.pk}/ladder/")

    assert response.status_code == 200
    assert response.json() == {
        "tier": "repeat",
        "next_tier": "client",
        "to_next": [
            "2 more purchases in the last 12 months",
            "800 more spend in the last 12 months",
            "or an active contract instead",
        ],
        "review_on": (timezone.localdate() + timedelta(days=365)).isoformat(),
        "at_risk": False,
        "at_risk_until": None,
        "to_keep": [],
    }


def test_at_risk_it_says_what_keeps_the_rung(manager_api, manager):
    customer = _repeat_customer(manager)
    review = timezone.now() + timedelta(days=400)  # the purchases are out of the window

    placement.place_customer(customer=customer, now=timezone.now() + timedelta(days=365))
    placement.place_customer(customer=Customer.objects.get(pk=customer.pk), now=review)

    body = manager_api.get(f"/api/v1/customers/{customer.pk}/ladder/").json()
    assert (body["tier"], body["at_risk"]) == ("repeat", True)
    assert body["at_risk_until"] == (timezone.localdate() + timedelta(days=425)).isoformat()
    # On that day, what keeps the rung: the purchases left the window.
    status = queries.ladder_status(Customer.objects.get(pk=customer.pk), today=review.date())
    assert status.to_keep == ["2 more purchases in the last 12 months"]


def test_someone_elses_customer_is_not_found_and_parameters_are_refused(
    manager_api, other_manager, manager
):
    theirs = _repeat_customer(other_manager)
    mine = _repeat_customer(manager)

    assert manager_api.get(f"/api/v1/customers/{theirs.pk}/ladder/").status_code == 404
    assert manager_api.get("/api/v1/customers/999999/ladder/").status_code == 404
    refused = manager_api.get(f"/api/v1/customers/{mine.pk}/ladder/?tier=x")
    assert refused.status_code == 400
    assert "tier" in refused.json()["errors"]


def _loyal_repeat_customer(owner, *, first_months_ago):
    """Two purchases in the window and a first one `first_months_ago` months back."""
    customer = records.create_customer(data={"first_name": "Lou", "owner": owner}, by=None)
    today = timezone.localdate()
    month = today.year * 12 + today.month - 1 - first_months_ago
    first = date(month // 12, month % 12 + 1, min(today.day, 28))  # exactly that many months
    activity.record_purchase(customer=customer, amount="50.00", purchased_on=first)
    for days in (30, 3):
        activity.record_purchase(
            customer=customer, amount="100.00", purchased_on=today - timedelta(days=days)
        )
    return Customer.objects.get(pk=customer.pk)


def test_tenure_is_off_by_default(manager_api, manager):
    customer = _loyal_repeat_customer(manager, first_months_ago=40)

    body = manager_api.get(f"/api/v1/customers/{customer.pk}/ladder/").json()
    assert (body["tier"], body["next_tier"]) == ("repeat", "client")
    assert not any("as a customer" in line for line in body["to_next"])


def test_with_the_tenure_setting_a_long_standing_repeat_buyer_is_a_client(
    manager_api, manager, client, settings
):
    settings.LADDER_CLIENT_MIN_TENURE_MONTHS = 36
    loyal = _loyal_repeat_customer(manager, first_months_ago=40)
    newer = _loyal_repeat_customer(manager, first_months_ago=30)

    assert (loyal.tier.slug, loyal.tier_changes.latest("pk").rule) == ("client", "client.tenure")
    assert newer.tier.slug == "repeat"
    # The newer one is told the tenure route beside purchases, spend and a contract.
    body = manager_api.get(f"/api/v1/customers/{newer.pk}/ladder/").json()
    assert body["to_next"] == [
        "2 more purchases in the last 12 months",
        "800 more spend in the last 12 months",
        "or 6 more months as a customer, buying repeatedly",
        "or an active contract instead",
    ]
    client.force_login(manager)
    page = client.get(f"/customers/{newer.pk}/")
    assert "or 6 more months as a customer, buying repeatedly" in page.content.decode()
