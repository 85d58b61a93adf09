"""A legacy negative reward never makes a balance start below zero (customers 0028), on both
databases: each legacy take-back takes at most what the customer held at that point."""

from datetime import timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from customers import queries, rewards
from customers.models import Reward
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

migration = import_module("customers.migrations.0028_legacy_takebacks_within_the_balance")


def legacy(customer, value, days_ago, movement="earned", unit="money"):
    # What 0016 left: earned lines for positive values, redemptions for negative ones.
    return Reward.objects.create(
        customer=customer,
        movement=movement,
        unit=unit,
        value=Decimal(value),
        reason="typed by hand",
        given_at=timezone.now() - timedelta(days=days_ago),
        expires_at=timezone.now() + timedelta(days=300) if movement == "earned" else None,
        expiry_settled=movement != "earned",
    )


def balances(customer):
    return queries.reward_ledger(customer, latest=0).balances


def test_a_take_back_larger_than_the_balance_takes_only_what_was_held():
    ann, bob, cat = CustomerFactory(), CustomerFactory(), CustomerFactory()
    legacy(ann, "10", 30)
    too_much = legacy(ann, "-30", 20, "redeemed")
    legacy(ann, "5", 10)
    first = legacy(bob, "-7", 30, "redeemed")  # before anything was earned
    legacy(bob, "4", 20)
    fine = legacy(cat, "8", 30)
    legacy(cat, "-3", 20, "redeemed")
    assert balances(ann) == {"money": Decimal(-15)}

    migration.keep_balances_at_or_above_zero(apps, None)
    migration.keep_balances_at_or_above_zero(apps, None)  # again: nothing more changes

    too_much.refresh_from_db()
    first.refresh_from_db()
    assert (too_much.value, too_much.reason) == (
        Decimal(-10),
        "typed by hand (asked 30.00, 10.00 held)",
    )
    assert first.value == Decimal(0)
    assert balances(ann) == {"money": Decimal(5)}
    assert balances(bob) == {"money": Decimal(4)}
    assert balances(cat) == {"money": Decimal(5)}  # within the balance: untouched
    fine.refresh_from_db()
    assert fine.value == Decimal(8)


def test_after_it_the_ledger_spends_from_what_is_left(marketer):
    ann = CustomerFactory()
    legacy(ann, "10", 30)
    legacy(ann, "-30", 20, "redeemed")
    legacy(ann, "6", 10)
    migration.keep_balances_at_or_above_zero(apps, None)
    rewards.redeem(customer=ann, value=Decimal(6), unit="money", reason="voucher", by=marketer)
    assert balances(ann) == {"money": Decimal(0)}
