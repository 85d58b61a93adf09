"""The customers services take a clock (`now=`): the row, its timeline line and any tier or bond
move it causes carry that time, so a history can be played through them (the demo does)."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers import activity, contracts, placement, records
from customers.models import (
    BondChange,
    Contract,
    Customer,
    FollowUp,
    Interaction,
    Purchase,
    Tier,
    TierChange,
    TimelineEntry,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# A moment long gone: what the services write must say it happened then, not now.
THEN = timezone.make_aware(datetime(2025, 3, 14, 15, 30))
EARLIER = THEN - timedelta(days=40)


def line(kind: str, source_id: int) -> TimelineEntry:
    return TimelineEntry.objects.get(kind=kind, source_id=source_id)


def moves_to(customer: Customer, slug: str) -> TierChange:
    return TierChange.objects.get(customer=customer, to_tier__slug=slug)


def newcomer(**fields) -> Customer:
    return records.create_customer(data={"first_name": "Ann", **fields}, by=None, now=EARLIER)


def buy(customer: Customer, *, at, amount: str = "50.00") -> Purchase:
    return activity.record_purchase(
        customer=customer, amount=Decimal(amount), purchased_on=timezone.localdate(at), now=at
    )


def repeat_customer() -> Customer:
    customer = newcomer()
    buy(customer, at=EARLIER)
    buy(customer, at=EARLIER + timedelta(days=10))
    return customer


def test_create_customer_dates_the_row_the_consent_and_the_first_bond_move(manager):
    customer = records.create_customer(
        data={"first_name": "Ann", "email": "ann@example.com", "consent_email": True},
        by=manager,
        now=THEN,
    )

    customer.refresh_from_db()
    assert (customer.created_at, customer.updated_at) == (THEN, THEN)
    assert customer.consent_changes.get().changed_at == THEN
    assert set(customer.timeline.values_list("occurred_at", flat=True)) == {THEN}
    bond = BondChange.objects.get(customer=customer)
    assert (bond.to_stage, bond.changed_at) == ("identity", THEN)
    assert line("bond", bond.pk).occurred_at == THEN


def test_set_consent_dates_the_change_and_its_line(manager):
    customer = newcomer(email="ann@example.com")

    records.set_consent(customer=customer, channel="email", granted=True, source="form", now=THEN)

    change = customer.consent_changes.get()
    assert change.changed_at == THEN
    assert line("consent", change.pk).occurred_at == THEN
    assert BondChange.objects.get(customer=customer).changed_at == THEN


def test_a_purchase_dates_the_tier_move_it_causes_and_the_refresh():
    customer = newcomer()

    purchase = buy(customer, at=THEN)

    change = moves_to(customer, "first-time")
    assert change.changed_at == THEN
    assert line("tier", change.pk).occurred_at == THEN
    # The purchase's own line is on the morning of the day it was made, as always.
    morning = timezone.make_aware(datetime.combine(purchase.purchased_on, time(9, 0)))
    assert line("purchase", purchase.pk).occurred_at == morning
    customer.refresh_from_db()
    assert (customer.value_refreshed_at, customer.updated_at) == (THEN, THEN)


def test_record_purchases_writes_each_with_its_line_and_leaves_the_refresh_to_the_caller(
    django_assert_num_queries,
):
    customers = CustomerFactory.create_batch(2)
    purchases = [
        Purchase(customer=customers[n % 2], amount=Decimal(n + 10), purchased_on=THEN.date())
        for n in range(6)
    ]

    # A savepoint, the purchases, their events, their lines, the buyers' open referrals, the
    # release: however many there are.
    with django_assert_num_queries(6):
        activity.record_purchases(purchases=purchases)

    assert Purchase.objects.count() == 6
    assert sorted(TimelineEntry.objects.values_list("source_id", "title")) == sorted(
        (p.pk, f"Purchase: {p.amount:.2f} EUR") for p in purchases
    )
    assert not TierChange.objects.exists()


def test_record_purchases_refuses_a_bad_row_and_writes_nothing():
    customer = CustomerFactory()
    good = Purchase(customer=customer, amount=Decimal(5), purchased_on=THEN.date())
    bad = Purchase(customer=customer, amount=None, purchased_on=THEN.date())

    with pytest.raises(ValidationError) as error:
        activity.record_purchases(purchases=[good, bad])

    assert "amount" in error.value.message_dict
    assert not Purchase.objects.exists() and not TimelineEntry.objects.exists()


def test_log_interaction_dates_its_line_the_follow_up_and_the_bond_move(manager):
    customer = newcomer(owner=manager)
    called = THEN - timedelta(hours=2)

    interaction = activity.log_interaction(
        customer=customer,
        author=manager,
        channel="call",
        direction="inbound",
        summary="Asked about grinders",
        occurred_at=called,
        follow_up_on=THEN.date() + timedelta(days=3),
        now=THEN,
    )

    assert line("interaction", interaction.pk).occurred_at == called
    follow_up = FollowUp.objects.get(customer=customer)
    assert (follow_up.created_at, follow_up.assignee) == (THEN, manager)
    bond = BondChange.objects.get(customer=customer, to_stage="relationship")
    assert bond.changed_at == THEN and line("bond", bond.pk).occurred_at == THEN


def test_log_interactions_logs_many_with_their_follow_ups_in_a_fixed_number_of_queries(
    manager, django_assert_num_queries
):
    customers = CustomerFactory.create_batch(3, owner=manager)
    interactions = [
        Interaction(
            customer=customers[n % 3],
            author=manager,
            channel="email",
            summary=f"Sent quote {n}",
            occurred_at=THEN - timedelta(hours=n),
            follow_up_on=THEN.date() + timedelta(days=1) if n % 2 else None,
        )
        for n in range(6)
    ]

    # A savepoint, the interactions and their events, their lines, the follow-ups and their
    # events, the release.
    with django_assert_num_queries(7):
        activity.log_interactions(interactions=interactions, now=THEN)

    for interaction in interactions:
        assert line("interaction", interaction.pk).occurred_at == interaction.occurred_at
    follow_ups = FollowUp.objects.all()
    assert len(follow_ups) == 3
    assert {(f.created_at, f.assignee) for f in follow_ups} == {(THEN, manager)}
    assert not BondChange.objects.filter(customer__in=customers).exists()


def test_log_interactions_refuses_an_unknown_channel_and_writes_nothing(manager):
    customer = CustomerFactory()
    rows = [
        Interaction(customer=customer, author=manager, channel="call", summary="ok"),
        Interaction(customer=customer, author=manager, channel="pigeon", summary="no"),
    ]

    with pytest.raises(ValidationError) as error:
        activity.log_interactions(interactions=rows, now=THEN)

    assert "channel" in error.value.message_dict
    assert not Interaction.objects.exists() and not TimelineEntry.objects.exists()


def test_follow_ups_are_asked_for_and_done_on_the_clock(manager):
    customer = newcomer(owner=manager)
    asked = activity.schedule_follow_up(
        customer=customer,
        assignee=manager,
        due_at=THEN + timedelta(days=1),
        reason="Call back",
        now=EARLIER,
    )

    activity.complete_follow_up(follow_up=asked, by=manager, now=THEN)

    asked.refresh_from_db()
    assert (asked.created_at, asked.done_at, asked.updated_at) == (EARLIER, THEN, THEN)
    assert line("follow_up", asked.pk).occurred_at == THEN


def test_a_complaint_opened_and_resolved_on_the_clock_dates_the_moves_it_causes(manager):
    customer = repeat_customer()
    later = EARLIER + timedelta(days=20)  # after the purchases: a clock never runs back
    activity.convert_referral(
        referral=activity.record_referral(referrer=customer, now=later), now=later
    )
    opened = THEN - timedelta(days=5)

    complaint = activity.open_complaint(
        customer=customer, by=manager, category="Billing", description="Charged twice", now=opened
    )
    activity.resolve_complaint(complaint=complaint, by=manager, resolution="Refunded", now=THEN)

    complaint.refresh_from_db()
    assert (complaint.opened_at, complaint.resolved_at, complaint.updated_at) == (
        opened,
        THEN,
        THEN,
    )
    assert line("complaint", complaint.pk).occurred_at == opened
    assert line("complaint_resolved", complaint.pk).occurred_at == THEN
    # The advocate keeps the rung until its review: the complaint moves nobody on the day.
    latest = TierChange.objects.filter(customer=customer).order_by("-changed_at").first()
    assert (latest.to_tier.slug, latest.changed_at) == ("advocate", later)


def test_add_contract_dates_its_line_and_the_move_to_client():
    customer = newcomer()

    contract = contracts.add_contract(
        customer=customer,
        title="Maintenance",
        starts_on=THEN.date() - timedelta(days=3),
        ends_on=THEN.date() + timedelta(days=362),
        now=THEN,
    )

    assert line("contract", contract.pk).occurred_at == THEN
    assert moves_to(customer, "client").changed_at == THEN


def test_settle_renewal_dates_its_line_once_and_a_cancelled_contract_stops_counting():
    customer = newcomer()
    contract = contracts.add_contract(
        customer=customer,
        title="Maintenance",
        starts_on=THEN.date() - timedelta(days=3),
        ends_on=THEN.date() + timedelta(days=362),
        now=THEN - timedelta(days=1),
    )

    first = contracts.settle_renewal(contract=contract, status="cancelled", now=THEN)
    second = contracts.settle_renewal(contract=contract, status="renewed", now=THEN)

    assert (first, second) == (True, False)
    contract.refresh_from_db()
    assert contract.renewal_status == "cancelled"
    settled = TimelineEntry.objects.get(kind="contract", title__startswith="Contract cancelled")
    assert settled.occurred_at == THEN
    assert moves_to(customer, "client").changed_at == THEN - timedelta(days=1)
    # The cancelled contract stops counting, but the rung is kept until its review.
    customer.refresh_from_db()
    assert customer.tier.slug == "client"
    assert customer.tier_review_on == (THEN - timedelta(days=1)).date() + timedelta(days=365)


def test_settle_renewal_refuses_pending_and_unknown_outcomes_and_changes_nothing():
    contract = contracts.add_contract(
        customer=newcomer(),
        title="Maintenance",
        starts_on=THEN.date(),
        ends_on=THEN.date() + timedelta(days=365),
    )
    before = TimelineEntry.objects.count()

    for status in ("pending", "forgotten"):
        with pytest.raises(ValidationError) as error:
            contracts.settle_renewal(contract=contract, status=status)
        assert "status" in error.value.message_dict

    assert Contract.objects.get().renewal_status == "pending"
    assert TimelineEntry.objects.count() == before


def test_a_referral_made_and_converted_on_the_clock_dates_the_moves_it_causes():
    customer = repeat_customer()
    made = THEN - timedelta(days=2)

    referral = activity.record_referral(referrer=customer, referred_name="Bo", now=made)
    activity.convert_referral(referral=referral, now=THEN)

    referral.refresh_from_db()
    assert (referral.created_at, referral.converted_at, referral.updated_at) == (made, THEN, THEN)
    assert sorted(
        TimelineEntry.objects.filter(kind="referral").values_list("occurred_at", flat=True)
    ) == [made, THEN]
    assert BondChange.objects.get(customer=customer, to_stage="advocacy").changed_at == made
    assert moves_to(customer, "advocate").changed_at == THEN


def test_set_tier_holds_from_the_clocks_day_and_dates_the_move(manager):
    customer = newcomer()

    change = placement.set_tier(
        customer=customer,
        tier=Tier.objects.get(slug="client"),
        by=manager,
        reason="Framework deal",
        now=THEN,
    )

    assert change.changed_at == THEN
    assert line("tier", change.pk).occurred_at == THEN
    customer.refresh_from_db()
    assert customer.manual_tier_until == THEN.date() + timedelta(
        days=settings.MANUAL_TIER_HOLD_DAYS
    )


def test_place_customers_places_many_as_of_the_clock(django_assert_num_queries):
    buyers = CustomerFactory.create_batch(3)
    activity.record_purchases(
        purchases=[
            Purchase(customer=c, amount=Decimal(20), purchased_on=THEN.date()) for c in buyers
        ]
    )
    for customer in buyers:
        customer.bond_stage = "identity"  # as if placed on the bond before: only the tier moves
        Customer.objects.filter(pk=customer.pk).update(bond_stage="identity")

    placement.place_customers(customers=buyers, now=THEN)

    changes = TierChange.objects.filter(customer__in=buyers, to_tier__slug="first-time")
    assert {c.changed_at for c in changes} == {THEN} and len(changes) == 3
    assert {line("tier", c.pk).occurred_at for c in changes} == {THEN}
    # Customers the rules leave where they are cost the facts and the ladder, however many.
    with django_assert_num_queries(8):
        placement.place_customers(customers=buyers, now=THEN)
