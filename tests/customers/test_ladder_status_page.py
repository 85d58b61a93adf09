"""The ladder status on the 360 page: the review date, the next rung and, at risk, what keeps it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers import activity, records
from customers.models import Customer, Tier

pytestmark = pytest.mark.django_db


def test_the_360_page_says_the_review_date_and_what_the_next_rung_takes(client, manager):
    ann = records.create_customer(data={"first_name": "Ann", "owner": manager}, by=None)
    activity.record_purchase(customer=ann, amount="40.00", purchased_on=timezone.localdate())
    ann = Customer.objects.get(pk=ann.pk)
    client.force_login(manager)

    content = client.get(f"/customers/{ann.pk}/").content.decode()

    assert f"Kept until its review on {ann.tier_review_on:%Y-%m-%d}" in content
    assert "Next: Repeat customer, with:" in content
    assert "<li>1 more purchase in the last 12 months</li>" in content
    assert "At risk of dropping" not in content


def test_the_360_page_warns_a_customer_at_risk_and_says_what_keeps_the_rung(client, manager):
    ann = records.create_customer(data={"first_name": "Ann", "owner": manager}, by=None)
    activity.record_purchase(customer=ann, amount="40.00", purchased_on=timezone.localdate())
    # A repeat customer whose review found one purchase in the window.
    until = timezone.localdate() + timedelta(days=20)
    Customer.objects.filter(pk=ann.pk).update(
        tier=Tier.objects.get(slug="repeat"), tier_at_risk_until=until
    )
    client.force_login(manager)

    content = client.get(f"/customers/{ann.pk}/").content.decode()

    assert f"At risk of dropping from Repeat customer</strong> after {until:%Y-%m-%d}" in content
    assert "<li>1 more purchase in the last 12 months</li>" in content
