"""A tier's own review period (instead of LADDER_REVIEW_DAYS), and tenure gathered as a rule
fact from the first purchase."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers import placement, rule_facts
from customers.models import Customer, Tier
from tests.factories import CustomerFactory, PurchaseFactory

pytestmark = pytest.mark.django_db


def test_a_rung_reached_is_reviewed_after_its_own_period(settings):
    settings.LADDER_REVIEW_DAYS = 365
    Tier.objects.filter(slug="repeat").update(review_days=90)
    today = timezone.localdate()
    repeat, first = CustomerFactory(), CustomerFactory()
    for days in (5, 40):
        PurchaseFactory(
            customer=repeat, amount=Decimal(10), purchased_on=today - timedelta(days=days)
        )
    PurchaseFactory(customer=first, amount=Decimal(10), purchased_on=today - timedelta(days=5))
    Customer.objects.filter(pk__in=[repeat.pk, first.pk]).update(tier=None, tier_review_on=None)
    placement.place_customers(customers=list(Customer.objects.filter(pk__in=[repeat.pk, first.pk])))
    repeat.refresh_from_db()
    first.refresh_from_db()
    assert (repeat.tier.slug, repeat.tier_review_on) == ("repeat", today + timedelta(days=90))
    assert (first.tier.slug, first.tier_review_on) == ("first-time", today + timedelta(days=365))


def test_the_ladder_page_sets_a_tiers_review_period_and_refuses_zero(client, marketer):
    client.force_login(marketer)
    tier = Tier.objects.get(slug="client")
    prefix = f"t{tier.pk}"
    data = {
        f"{prefix}-rank": tier.rank,
        f"{prefix}-name": tier.name,
        f"{prefix}-slug": tier.slug,
        f"{prefix}-colour": tier.colour,
        f"{prefix}-description": tier.description,
        f"{prefix}-review_days": "180",
        "tier": tier.pk,
        "action": "save",
    }
    url = "/customers/ladder/"
    response = client.post(url, data)
    assert response.status_code == 302
    tier.refresh_from_db()
    assert tier.review_days == 180
    response = client.post(url, {**data, f"{prefix}-review_days": "0"})
    assert response.status_code == 200  # the page again, with the error
    assert "greater than or equal to 1" in response.content.decode()
    tier.refresh_from_db()
    assert tier.review_days == 180


def test_tenure_counts_from_the_first_purchase():
    today = timezone.localdate()
    customer = CustomerFactory()
    for days in (800, 30):
        PurchaseFactory(customer=customer, purchased_on=today - timedelta(days=days))
    facts = rule_facts.gather_facts([customer], today=today)[customer.pk].ladder
    assert facts.customer_since == today - timedelta(days=800)
    assert facts.tenure_months in (25, 26)
