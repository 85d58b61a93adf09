"""The customers demo seeder writes its history through the services, each event on its own
clock: every row has the timeline line its service writes, at the time it happened."""

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from bonding import demo as bonding_demo
from customers import demo
from customers.models import (
    BondChange,
    Complaint,
    Contract,
    Customer,
    FollowUp,
    Interaction,
    Purchase,
    Referral,
    Reward,
    TierChange,
    TimelineEntry,
)
from tests.shared_data import kept_for_scope

pytestmark = pytest.mark.django_db


def lines(kind: str) -> list[tuple]:
    return sorted(TimelineEntry.objects.filter(kind=kind).values_list("source_id", "occurred_at"))


def morning(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(9, 0)))


def seed() -> int:
    bonding_demo.seed_users()
    return demo.seed_customers(count=60)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> Iterator[int]:
    """Seeded once for the tests that read it (tests/shared_data.py); the first test below,
    which needs an empty database, runs before it is."""
    with kept_for_scope(django_db_blocker, seed) as created:
        yield created


def test_it_seeds_customers_before_anyone_can_own_them():
    created = demo.seed_customers(count=20)

    assert created == 20
    assert not Customer.objects.filter(owner__isnull=False).exists()
    assert demo.seed_customers(count=20) == 0


def test_every_history_row_has_its_services_timeline_line_at_its_time(seeded):
    assert seeded == 60
    assert lines("purchase") == sorted(
        (pk, morning(day)) for pk, day in Purchase.objects.values_list("pk", "purchased_on")
    )
    assert lines("interaction") == sorted(Interaction.objects.values_list("pk", "occurred_at"))
    assert lines("complaint") == sorted(Complaint.objects.values_list("pk", "opened_at"))
    resolved = Complaint.objects.filter(status="resolved")
    assert resolved.exists()
    assert lines("complaint_resolved") == sorted(resolved.values_list("pk", "resolved_at"))
    assert lines("reward") == sorted(Reward.objects.values_list("pk", "given_at"))
    done = FollowUp.objects.filter(done_at__isnull=False)
    assert done.exists()
    assert lines("follow_up") == sorted(done.values_list("pk", "done_at"))
    referred = sorted(Referral.objects.values_list("pk", "created_at"))
    converted = sorted(
        Referral.objects.filter(status="converted").values_list("pk", "converted_at")
    )
    assert converted
    # A friend signing up writes a line on both timelines, at the moment they signed up.
    signups = TimelineEntry.objects.filter(kind="referral").filter(
        Q(title__contains="signed up with referral code") | Q(title__startswith="Referred by ")
    )
    assert signups.count() == 2 * Referral.objects.filter(referred_customer__isnull=False).count()
    others = TimelineEntry.objects.filter(kind="referral").exclude(pk__in=signups)
    assert sorted(others.values_list("source_id", "occurred_at")) == sorted(referred + converted)


def test_follow_ups_of_old_calls_were_done_after_they_were_asked_for_and_recent_ones_wait(
    seeded,
):
    asked = FollowUp.objects.filter(source="interaction")
    assert asked.filter(done_at__isnull=True).exists()
    for follow_up in asked.filter(done_at__isnull=False):
        assert follow_up.created_at <= follow_up.done_at


def test_contracts_are_settled_renewed_or_lapsed_and_only_the_running_ones_wait(seeded):
    today = timezone.localdate()
    settled = Contract.objects.exclude(renewal_status="pending")
    assert settled.exists()
    assert not settled.filter(ends_on__gte=today).exists()
    assert not Contract.objects.filter(renewal_status="pending", ends_on__lt=today).exists()


def test_tier_and_bond_moves_are_dated_by_the_services_with_their_lines(seeded):
    tier_changes = TierChange.objects.all()
    assert tier_changes.dates("changed_at", "month").count() >= 12
    assert lines("tier") == sorted(tier_changes.values_list("pk", "changed_at"))
    assert lines("bond") == sorted(BondChange.objects.values_list("pk", "changed_at"))
    # Nothing is dated in the future (a purchase's line is on its morning, which today may
    # still be ahead).
    future = TimelineEntry.objects.filter(occurred_at__gt=timezone.now())
    assert not future.exclude(kind="purchase").exists()
    for customer in Customer.objects.all():
        created = customer.timeline.get(title="Customer created")
        assert created.occurred_at == customer.created_at
        assert not customer.timeline.filter(occurred_at__lt=customer.created_at).exists()


def test_a_client_who_went_quiet_is_at_risk_or_landed_one_rung_never_two(seeded):
    downs = TierChange.objects.filter(direction="down").select_related("from_tier", "to_tier")
    for change in downs.exclude(rule__in=["manual", "import", "ladder.removed"]):
        assert change.rule == "review.soft_landing"
        assert change.from_tier.rank - change.to_tier.rank == 1
    # Bought, then nothing for three months or more: kept their rung to the review, now at risk.
    quiet = Customer.objects.filter(
        tier_at_risk_until__isnull=False,
        tier__rank__gte=2,
        last_purchase_on__lt=timezone.localdate() - timedelta(days=90),
    )
    assert quiet.exists()
    assert TimelineEntry.objects.filter(
        kind="tier_at_risk", customer__in=quiet, title__contains="to keep it"
    ).exists()


def test_each_converted_referral_rewarded_both_sides_once_through_the_rules(seeded):
    converted = Referral.objects.filter(status=Referral.Status.CONVERTED)
    assert converted.exists()
    for referral in converted:
        key = f"referral:{referral.pk}"
        earned = Reward.objects.filter(source_key__endswith=key)
        assert sorted(earned.values_list("customer_id", "cause", "value")) == sorted(
            [
                (referral.referrer_id, Reward.Cause.REFERRAL, 20),
                (referral.referred_customer_id, Reward.Cause.FIRST_PURCHASE, 10),
            ]
        )
