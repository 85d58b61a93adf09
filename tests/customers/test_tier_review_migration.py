"""The migration that moves existing customers onto reviews: nobody drops, or is even at risk,
on the day it runs."""

from datetime import datetime, time, timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from customers import placement
from customers.models import Customer, TierChange
from tests.factories import CustomerFactory, PurchaseFactory

pytestmark = pytest.mark.django_db

migration = import_module("customers.migrations.0014_tier_review")


def _tier(slug):
    from customers.models import Tier

    return Tier.objects.get(slug=slug)


def test_everyone_on_a_rung_gets_a_review_in_the_future_and_keeps_it_that_day():
    today = timezone.localdate()
    long_ago = CustomerFactory(tier=_tier("client"), highest_tier=_tier("client"))
    lately = CustomerFactory(tier=_tier("repeat"), highest_tier=_tier("repeat"))
    reached = timezone.make_aware(datetime.combine(today - timedelta(days=30), time(12)))
    TierChange.objects.create(
        customer=lately, to_tier=_tier("repeat"), reason="x", direction="up", changed_at=reached
    )
    # Both bought long ago: the rules today give them no more than first-time.
    for customer in (long_ago, lately):
        PurchaseFactory(customer=customer, purchased_on=today - timedelta(days=700))
        PurchaseFactory(customer=customer, purchased_on=today - timedelta(days=600))
    Customer.objects.update(tier_review_on=None, tier_at_risk_until=None)

    migration.schedule_first_reviews(apps, None, today=today)

    long_ago.refresh_from_db()
    lately.refresh_from_db()
    assert long_ago.tier_review_on == today + timedelta(days=migration.FIRST_REVIEW_AT_LEAST_DAYS)
    assert lately.tier_review_on == today + timedelta(days=335)
    placement.place_customers(
        customers=list(Customer.objects.filter(pk__in=[long_ago.pk, lately.pk]))
    )
    for customer in (long_ago, lately):
        customer.refresh_from_db()
        assert customer.tier_at_risk_until is None
    assert (long_ago.tier.slug, lately.tier.slug) == ("client", "repeat")
