"""The qualification window: purchases, spend and converted referrals count only within it."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers import rule_facts
from tests.factories import CustomerFactory, PurchaseFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def _at(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def test_referrals_converted_before_the_window_no_longer_count():
    today = timezone.localdate()
    customer = CustomerFactory()
    ReferralFactory(referrer=customer, status="converted", converted_at=_at(today))
    ReferralFactory(
        referrer=customer, status="converted", converted_at=_at(today - timedelta(days=364))
    )
    ReferralFactory(
        referrer=customer, status="converted", converted_at=_at(today - timedelta(days=365))
    )

    facts = rule_facts.gather_facts([customer], today=today)[customer.pk]

    assert facts.ladder.converted_referrals == 2
    assert facts.ladder.referrals_made == 3


def test_the_window_is_a_ladder_setting(settings):
    settings.LADDER_WINDOW_DAYS = 90
    today = timezone.localdate()
    customer = CustomerFactory()
    for days in (10, 89, 90, 200):
        PurchaseFactory(
            customer=customer, amount=Decimal("10.00"), purchased_on=today - timedelta(days=days)
        )
    ReferralFactory(
        referrer=customer, status="converted", converted_at=_at(today - timedelta(days=120))
    )

    facts = rule_facts.gather_facts([customer], today=today)[customer.pk]

    assert (facts.ladder.purchases_12m, facts.spend_12m) == (2, Decimal("20.00"))
    assert facts.ladder.converted_referrals == 0
