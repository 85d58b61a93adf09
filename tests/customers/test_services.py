"""Every write the business does to customers, against the real database."""

import math
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone

from customers import activity, contracts, ladder, merge, placement, records, sync, tasks, valuation
from customers.models import (
    BondChange,
    Complaint,
    ConsentChange,
    Customer,
    FollowUp,
    Interaction,
    Purchase,
    Tier,
    TierChange,
    TimelineEntry,
    ValueModel,
)
from customers.signals import tier_changed
from tests.factories import CustomerFactory, FollowUpFactory

pytestmark = pytest.mark.django_db


def rows() -> tuple[int, int]:
    """How many customers and timeline entries there are: what a refused write must not change."""
    return Customer.objects.count(), TimelineEntry.objects.count()


def tier(slug: str) -> Tier:
    return Tier.objects.get(slug=slug)


def days_ago(days: int):
    return timezone.localdate() - timedelta(days=days)


def buy(customer: Customer, *, days: int = 0, amount: str = "50.00") -> Purchase:
    return activity.record_purchase(
        customer=customer, amount=Decimal(amount), purchased_on=days_ago(days)
    )


def repeat_customer(**fields) -> Customer:
    customer = records.create_customer(data={"first_name": "Ann", **fields}, by=None)
    buy(customer, days=30)
    buy(customer, days=3)
    return customer


def test_create_customer_stores_the_email_trimmed_and_in_lower_case(manager):
    customer = records.create_customer(
        data={"first_name": "Ann", "email": "  Ann.Lee@Example.COM "}, by=manager
    )

    customer.refresh_from_db()
    assert customer.email == "ann.lee@example.com"


def test_create_customer_stores_the_phone_in_e164(manager):
    customer = records.create_customer(
        data={"first_name": "Ann", "phone": "+1 (650) 253-0000"}, by=manager
    )

    customer.refresh_from_db()
    assert customer.phone == "+16502530000"


def test_create_customer_places_them_on_the_lowest_tier_and_tells_the_timeline(manager):
    customer = records.create_customer(data={"first_name": "Ann"}, by=manager)

    customer.refresh_from_db()
    assert customer.tier.slug == "prospect"
    assert customer.highest_tier.slug == "prospect"
    entry = TimelineEntry.objects.get(customer=customer)
    assert (entry.kind, entry.title, entry.actor) == ("note", "Customer created", manager)


def test_consent_given_at_creation_is_recorded_with_its_source(manager):
    customer = records.create_customer(
        data={"first_name": "Ann", "email": "ann@x.com", "consent_email": True},
        by=manager,
        consent_source="web form",
    )

    change = ConsentChange.objects.get(customer=customer)
    assert (change.channel, change.granted, change.source) == ("email", True, "web form")
    assert change.changed_by == manager
    assert TimelineEntry.objects.filter(customer=customer, kind="consent").count() == 1


def test_consent_given_at_creation_is_stored_on_the_customer(manager):
    customer = records.create_customer(
        data={
            "first_name": "Ann",
            "email": "ann@x.com",
            "consent_email": True,
            "consent_sms": True,
        },
        by=manager,
        consent_source="web form",
    )

    customer.refresh_from_db()
    assert customer.consents() == {"email": True, "sms": True, "phone": False, "letter": False}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"email": "ann@"}, "email", id="bad e-mail"),
        pytest.param({"phone": "12345"}, "phone", id="bad phone"),
        pytest.param({"phone": "call me maybe"}, "phone", id="phone that is not a number"),
        pytest.param({"timezone": "Mars/Olympus_Mons"}, "timezone", id="unknown time zone"),
        pytest.param({"partner_kind": "dealer"}, "partner_kind", id="partner kind on a prospect"),
        pytest.param({"estimated_wallet": Decimal("-1.00")}, "estimated_wallet", id="wallet < 0"),
    ],
)
def test_create_customer_refuses_bad_input_naming_the_field_and_writes_nothing(
    manager, data, field
):
    before = rows()

    with pytest.raises(ValidationError) as error:
        records.create_customer(data={"first_name": "Ann", **data}, by=manager)

    assert field in error.value.message_dict
    assert rows() == before


def test_a_channel_partner_may_have_a_partner_kind(manager):
    customer = records.create_customer(
        data={"first_name": "Ann", "relationship": "channel_partner", "partner_kind": "dealer"},
        by=manager,
    )

    customer.refresh_from_db()
    assert customer.partner_kind == "dealer"


def test_create_customer_refuses_an_email_a_live_customer_has_whatever_its_case(manager):
    records.create_customer(data={"first_name": "Ann", "email": "ann@x.com"}, by=manager)
    before = rows()

    with pytest.raises(ValidationError) as error:
        records.create_customer(data={"first_name": "Ann", "email": "ANN@x.com"}, by=manager)

    assert "Another customer already has this e-mail address." in error.value.messages
    assert rows() == before


def test_a_duplicate_email_is_reported_against_the_email_field(manager):
    records.create_customer(data={"first_name": "Ann", "email": "ann@x.com"}, by=manager)

    with pytest.raises(ValidationError) as error:
        records.create_customer(data={"first_name": "Ann", "email": "ANN@x.com"}, by=manager)

    assert error.value.message_dict == {
        "email": ["Another customer already has this e-mail address."]
    }


def test_a_deleted_customers_email_may_be_used_again(manager):
    old = records.create_customer(data={"first_name": "Ann", "email": "ann@x.com"}, by=manager)
    records.delete_customer(customer=old, by=manager)

    new = records.create_customer(data={"first_name": "Ann", "email": "Ann@X.com"}, by=manager)

    assert new.pk != old.pk
    assert list(Customer.objects.filter(email="ann@x.com").order_by("pk")) == [old, new]


def test_update_customer_records_a_consent_withdrawal(manager):
    customer = CustomerFactory(consent_email=True)

    records.update_customer(
        customer=customer, data={"consent_email": False}, by=manager, consent_source="phone call"
    )

    customer.refresh_from_db()
    assert customer.consent_email is False
    change = ConsentChange.objects.get(customer=customer)
    assert (change.channel, change.granted, change.source) == ("email", False, "phone call")
    assert change.changed_by == manager


def test_update_customer_records_nothing_when_consent_is_unchanged(manager):
    customer = CustomerFactory(consent_email=True)

    records.update_customer(
        customer=customer, data={"first_name": "Bo", "consent_email": True}, by=manager
    )

    customer.refresh_from_db()
    assert (customer.first_name, customer.consent_email) == ("Bo", True)
    assert not ConsentChange.objects.filter(customer=customer).exists()


def test_set_consent_twice_changes_once(manager):
    customer = CustomerFactory()

    first = records.set_consent(
        customer=customer, channel="sms", granted=True, source="web form", by=manager
    )
    second = records.set_consent(
        customer=customer, channel="sms", granted=True, source="web form", by=manager
    )

    assert (first, second) == (True, False)
    assert ConsentChange.objects.filter(customer=customer).count() == 1
    customer.refresh_from_db()
    assert customer.consent_sms is True


def test_log_interaction_puts_it_on_the_timeline(manager):
    customer = CustomerFactory(owner=manager)

    interaction = activity.log_interaction(
        customer=customer,
        author=manager,
        channel="call",
        direction="inbound",
        summary="Asked about prices",
    )

    entry = TimelineEntry.objects.get(customer=customer, kind="interaction")
    assert entry.title == "Call (inbound): Asked about prices"
    assert (entry.source_id, entry.actor) == (interaction.pk, manager)


def test_log_interaction_with_a_follow_up_date_gives_the_owner_a_follow_up_that_day(
    manager, marketer
):
    customer = CustomerFactory(owner=manager)
    day = timezone.localdate() + timedelta(days=3)

    activity.log_interaction(
        customer=customer, author=marketer, channel="meeting", summary="Demo", follow_up_on=day
    )

    follow_up = FollowUp.objects.get(customer=customer)
    assert follow_up.assignee == manager
    assert timezone.localtime(follow_up.due_at).date() == day
    assert (follow_up.reason, follow_up.source, follow_up.done_at) == (
        "Follow up: Demo",
        "interaction",
        None,
    )


def test_log_interaction_refuses_an_unknown_channel_and_writes_nothing(manager):
    customer = CustomerFactory(owner=manager)
    before = rows()

    with pytest.raises(ValidationError) as error:
        activity.log_interaction(
            customer=customer,
            author=manager,
            channel="pigeon",
            summary="Sent a bird",
            follow_up_on=timezone.localdate(),
        )

    assert "channel" in error.value.message_dict
    assert rows() == before
    assert not Interaction.objects.exists()
    assert not FollowUp.objects.exists()


def test_an_open_complaint_raises_churn_risk_and_says_why(manager):
    customer = CustomerFactory(owner=manager)
    customer.refresh_from_db()
    before = customer.churn_risk

    activity.open_complaint(
        customer=customer, by=manager, category="Delivery", description="Late again"
    )

    customer.refresh_from_db()
    assert customer.churn_risk > before
    assert any("open complaint" in reason for reason in customer.churn_reasons)


def test_resolving_a_complaint_closes_it_logs_it_and_lowers_churn_risk(manager):
    customer = CustomerFactory(owner=manager)
    complaint = activity.open_complaint(
        customer=customer, by=manager, category="Delivery", description="Late again"
    )
    customer.refresh_from_db()
    risk_while_open = customer.churn_risk

    activity.resolve_complaint(complaint=complaint, by=manager, resolution="Refunded shipping")

    complaint.refresh_from_db()
    assert complaint.status == "resolved"
    assert complaint.resolution == "Refunded shipping"
    assert complaint.resolved_at is not None
    entry = TimelineEntry.objects.get(customer=customer, kind="complaint_resolved")
    assert (entry.title, entry.detail) == ("Complaint resolved: Delivery", "Refunded shipping")
    customer.refresh_from_db()
    assert customer.churn_risk < risk_while_open
    assert not any("open complaint" in reason for reason in customer.churn_reasons)


def test_resolving_a_complaint_twice_is_refused_and_changes_nothing(manager):
    customer = CustomerFactory(owner=manager)
    complaint = activity.open_complaint(
        customer=customer, by=manager, category="Delivery", description="Late again"
    )
    activity.resolve_complaint(complaint=complaint, by=manager, resolution="Refunded shipping")
    first_resolved_at = Complaint.objects.get(pk=complaint.pk).resolved_at
    before = rows()

    with pytest.raises(ValidationError):
        activity.resolve_complaint(complaint=complaint, by=manager, resolution="Something else")

    complaint.refresh_from_db()
    assert (complaint.resolution, complaint.resolved_at) == ("Refunded shipping", first_resolved_at)
    assert rows() == before


def test_resolving_a_complaint_without_saying_how_is_refused_and_changes_nothing(manager):
    customer = CustomerFactory(owner=manager)
    complaint = activity.open_complaint(
        customer=customer, by=manager, category="Delivery", description="Late again"
    )
    before = rows()

    with pytest.raises(ValidationError) as error:
        activity.resolve_complaint(complaint=complaint, by=manager, resolution="   ")

    assert "resolution" in error.value.message_dict
    complaint.refresh_from_db()
    assert (complaint.status, complaint.resolved_at) == ("open", None)
    assert rows() == before


def test_a_first_purchase_moves_a_prospect_up_to_first_time_customer():
    customer = records.create_customer(data={"first_name": "Ann"}, by=None)

    buy(customer)

    customer.refresh_from_db()
    assert customer.tier.slug == "first-time"
    change = TierChange.objects.get(customer=customer)
    assert (change.from_tier.slug, change.to_tier.slug) == ("prospect", "first-time")
    assert (change.direction, change.rule) == ("up", "first-time.single_purchase")
    assert TimelineEntry.objects.filter(
        customer=customer, kind="tier", source_id=change.pk
    ).exists()


def test_a_second_purchase_within_a_year_makes_a_repeat_customer():
    customer = records.create_customer(data={"first_name": "Ann"}, by=None)
    buy(customer, days=40)

    buy(customer, days=1)

    customer.refresh_from_db()
    assert customer.tier.slug == "repeat"
    change = TierChange.objects.filter(customer=customer).first()
    assert (change.from_tier.slug, change.to_tier.slug) == ("first-time", "repeat")
    assert (change.direction, change.rule) == ("up", "repeat.purchases_12m")


def test_an_active_contract_makes_a_client():
    customer = records.create_customer(data={"first_name": "Ann"}, by=None)

    contracts.add_contract(
        customer=customer,
        title="Maintenance",
        starts_on=days_ago(10),
        ends_on=days_ago(-355),
        value=Decimal("1200.00"),
    )

    customer.refresh_from_db()
    assert customer.tier.slug == "client"
    change = TierChange.objects.filter(customer=customer).first()
    assert (change.to_tier.slug, change.direction, change.rule) == (
        "client",
        "up",
        "client.active_contract",
    )


def test_a_converted_referral_makes_a_repeat_customer_an_advocate():
    customer = repeat_customer()
    referral = activity.record_referral(referrer=customer, referred_name="Bo")

    activity.convert_referral(referral=referral)

    customer.refresh_from_db()
    assert customer.tier.slug == "advocate"
    change = TierChange.objects.filter(customer=customer).first()
    assert (change.from_tier.slug, change.to_tier.slug) == ("repeat", "advocate")
    assert (change.direction, change.rule) == ("up", "advocate.converted_referrals")


def test_an_open_complaint_holds_a_would_be_advocate_at_repeat_customer(manager):
    customer = repeat_customer()
    activity.open_complaint(customer=customer, by=manager, category="Billing", description="x2")
    referral = activity.record_referral(referrer=customer, referred_name="Bo")

    activity.convert_referral(referral=referral)

    customer.refresh_from_db()
    assert customer.tier.slug == "repeat"
    assert not TierChange.objects.filter(customer=customer, to_tier__slug="advocate").exists()


def test_an_open_complaint_does_not_take_the_rung_before_its_review(manager):
    customer = repeat_customer()
    activity.convert_referral(referral=activity.record_referral(referrer=customer))

    activity.open_complaint(customer=customer, by=manager, category="Billing", description="x2")

    customer.refresh_from_db()
    assert (customer.tier.slug, customer.tier_at_risk_until) == ("advocate", None)
    assert customer.tier_review_on == timezone.localdate() + timedelta(
        days=settings.LADDER_REVIEW_DAYS
    )


def test_highest_tier_keeps_the_peak_after_a_move_down(manager):
    customer = repeat_customer()
    activity.convert_referral(referral=activity.record_referral(referrer=customer))
    activity.open_complaint(customer=customer, by=manager, category="Billing", description="x2")
    Customer.objects.filter(pk=customer.pk).update(tier_review_on=timezone.localdate())
    review = timezone.now()
    grace_over = review + timedelta(days=settings.LADDER_GRACE_DAYS)

    placement.place_customer(customer=Customer.objects.get(pk=customer.pk), now=review)
    placement.place_customer(customer=Customer.objects.get(pk=customer.pk), now=grace_over)

    customer.refresh_from_db()
    # The rules give repeat (the complaint holds them there), but a landing is one rung at most.
    assert (customer.tier.slug, customer.highest_tier.slug) == ("client", "advocate")
    change = TierChange.objects.filter(customer=customer).first()
    assert (change.from_tier.slug, change.to_tier.slug) == ("advocate", "client")
    assert (change.direction, change.rule) == ("down", "review.soft_landing")
    assert change.changed_at == grace_over


def test_set_tier_by_hand_holds_the_tier_against_the_rules(manager):
    customer = records.create_customer(data={"first_name": "Ann"}, by=manager)

    change = placement.set_tier(
        customer=customer, tier=tier("client"), by=manager, reason="Signed a framework deal"
    )
    buy(customer)
    buy(customer, days=2)

    customer.refresh_from_db()
    assert customer.tier.slug == "client"
    assert customer.manual_tier_until == timezone.localdate() + timedelta(
        days=settings.MANUAL_TIER_HOLD_DAYS
    )
    assert (change.rule, change.changed_by, change.reason) == (
        "manual",
        manager,
        "Signed a framework deal",
    )
    assert list(TierChange.objects.filter(customer=customer)) == [change]


def test_when_the_hold_ends_the_hand_set_rung_is_reviewed_and_lands_one_rung_lower(manager):
    customer = records.create_customer(data={"first_name": "Ann"}, by=manager)
    placement.set_tier(
        customer=customer, tier=tier("client"), by=manager, reason="Trial", hold_days=0
    )
    buy(customer)
    today = timezone.localdate()

    valuation.refresh_everyone(today=today + timedelta(days=1))

    customer.refresh_from_db()
    assert (customer.tier.slug, customer.manual_tier_until) == ("client", None)
    grace_until = today + timedelta(days=1 + settings.LADDER_GRACE_DAYS)
    assert customer.tier_at_risk_until == grace_until

    valuation.refresh_everyone(today=grace_until)

    customer.refresh_from_db()
    assert (customer.tier.slug, customer.tier_at_risk_until) == ("repeat", None)
    change = TierChange.objects.filter(customer=customer).first()
    assert (change.from_tier.slug, change.direction) == ("client", "down")


def test_set_tier_without_a_reason_is_refused_and_changes_nothing(manager):
    customer = records.create_customer(data={"first_name": "Ann"}, by=manager)

    with pytest.raises(ValidationError) as error:
        placement.set_tier(customer=customer, tier=tier("client"), by=manager, reason="  ")

    assert "reason" in error.value.message_dict
    customer.refresh_from_db()
    assert (customer.tier.slug, customer.manual_tier_until) == ("prospect", None)
    assert not TierChange.objects.exists()


def test_consent_at_creation_reaches_the_identity_bond_stage(manager):
    customer = records.create_customer(
        data={"first_name": "Ann", "email": "ann@x.com", "consent_letter": True}, by=manager
    )

    customer.refresh_from_db()
    assert customer.bond_stage == "identity"
    change = BondChange.objects.get(customer=customer)
    assert (change.from_stage, change.to_stage, change.rule) == (
        "awareness",
        "identity",
        "identity.stated_preferences",
    )


def test_each_deeper_bond_is_a_bond_change(manager):
    customer = records.create_customer(data={"first_name": "Ann"}, by=manager)

    buy(customer)
    activity.log_interaction(
        customer=customer, author=manager, channel="call", direction="inbound", summary="Thanks"
    )
    activity.log_interaction(
        customer=customer, author=manager, channel="event", summary="Came to the user day"
    )
    activity.record_referral(referrer=customer, referred_name="Bo", by=manager)

    customer.refresh_from_db()
    assert customer.bond_stage == "advocacy"
    moves = [
        (change.from_stage, change.to_stage, change.rule)
        for change in BondChange.objects.filter(customer=customer).order_by("id")
    ]
    assert moves == [
        ("awareness", "identity", "identity.purchase"),
        ("identity", "relationship", "relationship.two_way"),
        ("relationship", "community", "community.event"),
        ("community", "advocacy", "advocacy.referrals_made"),
    ]
    assert TimelineEntry.objects.filter(customer=customer, kind="bond").count() == 4


def test_completing_a_follow_up_twice_logs_it_once(manager):
    follow_up = FollowUpFactory(customer=CustomerFactory(owner=manager))

    first = activity.complete_follow_up(follow_up=follow_up, by=manager)
    second = activity.complete_follow_up(follow_up=follow_up, by=manager)

    assert (first, second) == (True, False)
    follow_up.refresh_from_db()
    assert follow_up.done_by == manager
    assert TimelineEntry.objects.filter(kind="follow_up", source_id=follow_up.pk).count() == 1


def test_tier_changed_is_sent_after_commit_with_the_from_and_to_tiers(
    django_capture_on_commit_callbacks,
):
    customer = records.create_customer(data={"first_name": "Ann"}, by=None)
    received = []

    def receiver(sender, customer, from_tier, to_tier, change, **kwargs):
        received.append((customer.pk, from_tier.slug, to_tier.slug, change.rule))

    tier_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            buy(customer)
            assert received == []
    finally:
        tier_changed.disconnect(receiver)

    assert received == [(customer.pk, "prospect", "first-time", "first-time.single_purchase")]


def purchase_days(rng: random.Random, age: int) -> list[int]:
    """Days after the first purchase on which one customer bought, drawn as BG/NBD tells it:
    a personal buying rate, and after each repeat purchase a personal chance of leaving."""
    rate = rng.gammavariate(2.0, 1 / 15) / 7  # per day; on average a purchase every 7.5 weeks
    dropout = rng.betavariate(1.0, 3.0)
    days = [0.0]
    while (day := days[-1] + rng.expovariate(rate)) <= age:
        days.append(day)
        if rng.random() < dropout:
            break
    return sorted({round(day) for day in days})


def synthetic_base(*, repeat_buyers: int, seed: int = 1) -> list[Customer]:
    """Buyers drawn until `repeat_buyers` have bought twice, each on the rung the rules give them.

    First purchases are 60 to 360 days old, so every purchase falls in the last 12 months. Being
    placed already (a rung and its review date), a refresh only recomputes their values. The base
    is the same every day.
    """
    rng = random.Random(seed)
    histories = []
    while sum(len(history) > 1 for history in histories) < repeat_buyers:
        age = rng.randint(60, 360)
        histories.append(
            [(age - day, Decimal(rng.randint(20, 120))) for day in purchase_days(rng, age)]
        )
    tiers = {slug: tier(slug) for slug in ("first-time", "repeat", "client")}
    start = Customer.objects.count()
    customers = []
    for i, history in enumerate(histories):
        facts = ladder.LadderFacts(
            today=timezone.localdate(),
            purchase_count=len(history),
            purchases_12m=len(history),
            spend_12m=sum(amount for _, amount in history),
        )
        rung = tiers[ladder.place_on_ladder(facts=facts).slug]
        customers.append(
            Customer(
                email=f"buyer{start + i}@example.com",
                tier=rung,
                highest_tier=rung,
                tier_review_on=timezone.localdate() + timedelta(days=365),
                bond_stage="identity",
            )
        )
    Customer.objects.bulk_create(customers)
    Purchase.objects.bulk_create(
        Purchase(customer=customer, amount=amount, purchased_on=days_ago(days))
        for customer, history in zip(customers, histories, strict=True)
        for days, amount in history
    )
    return customers


def test_refresh_everyone_fits_a_value_model_and_stores_the_figures():
    customers = synthetic_base(repeat_buyers=150)

    result = valuation.refresh_everyone()

    model = ValueModel.objects.get()
    assert result == {"customers": len(customers), "model": model.pk}
    assert model.customers == len(customers)
    stored = Customer.objects.annotate(days=Count("purchases__purchased_on", distinct=True))
    repeat_buyers = [customer for customer in stored if customer.days > 1]
    one_time_buyers = [customer for customer in stored if customer.days == 1]
    assert len(repeat_buyers) == 150
    assert one_time_buyers
    for customer in repeat_buyers:
        assert customer.value_method == "bg_nbd_gamma_gamma"
        assert customer.predicted_value_12m > 0
        assert 0 < customer.probability_alive <= 1
        assert 0 <= customer.churn_risk <= 100
        assert customer.value_refreshed_at is not None
    for customer in one_time_buyers:
        purchase = customer.purchases.get()
        assert customer.value_method == "trailing_12m"
        assert customer.predicted_value_12m == purchase.amount
        assert customer.lifetime_value == purchase.amount
        assert customer.probability_alive is None
        assert 0 <= customer.churn_risk <= 100
    assert not TierChange.objects.exists()
    assert not BondChange.objects.exists()


def test_a_model_whose_forecast_overflows_falls_back_to_trailing_spend():
    # Large a and b with a fixed ratio is the limit where every customer drops out with the
    # same chance; the BG/NBD fit can reach it on bases with little spread in dropout, and its
    # forecast then overflows. The honest answer is the trailing 12 months, said so.
    ValueModel.objects.create(
        customers=1000,
        bg_nbd_params={"r": 1.56, "alpha": 11.93, "a": 4.2e6, "b": 1.41e7},
        gamma_gamma_params={"p": 11.7, "q": 52.4, "v": 311.4},
    )
    customer = CustomerFactory()
    buy(customer, days=70, amount="40.00")
    buy(customer, days=40, amount="60.00")

    buy(customer, days=10, amount="50.00")

    customer.refresh_from_db()
    assert customer.value_method == "trailing_12m"
    assert customer.predicted_value_12m == Decimal("150.00")


# The nightly refresh: the fit (one read, one write), the tiers, and the empty read that ends the
# loop; then per batch: the batch, a savepoint, seven grouped reads of facts, one bulk update,
# the webhook events of the customers whose figures moved (their topics read, one insert) and
# the savepoint's release. Customers who move on the ladder add writes of their own.
REFRESH_FIXED_QUERIES = 4
REFRESH_QUERIES_PER_BATCH = 13
REFRESH_QUERIES = REFRESH_FIXED_QUERIES + REFRESH_QUERIES_PER_BATCH


@pytest.mark.parametrize("buyers", [50, 150])
def test_refresh_everyone_runs_the_same_queries_for_50_or_150_customers(
    buyers, django_assert_max_num_queries
):
    synthetic_base(repeat_buyers=buyers)

    with django_assert_max_num_queries(REFRESH_QUERIES) as captured:
        valuation.refresh_everyone(batch_size=1000)

    # 50 buyers are too few to fit a model, so there is no model to store.
    assert len(captured) == REFRESH_QUERIES - (buyers < 100)


def test_refresh_everyone_adds_a_fixed_number_of_queries_per_batch(django_assert_num_queries):
    customers = synthetic_base(repeat_buyers=150)
    batches = math.ceil(len(customers) / 50)

    with django_assert_num_queries(REFRESH_FIXED_QUERIES + batches * REFRESH_QUERIES_PER_BATCH):
        valuation.refresh_everyone(batch_size=50)

    assert batches >= 3


def test_a_new_owner_takes_over_the_open_follow_ups_of_the_previous_one(manager, other_manager):
    customer = CustomerFactory(owner=manager)
    waiting = FollowUpFactory(customer=customer, source="detractor:1")
    done = FollowUpFactory(customer=customer, done_at=timezone.now())
    someone_elses = FollowUpFactory(customer=customer, assignee=other_manager)

    records.update_customer(customer=customer, data={"owner": other_manager}, by=manager)

    assignees = dict(FollowUp.objects.values_list("pk", "assignee_id"))
    assert assignees == {
        waiting.pk: other_manager.pk,
        done.pk: manager.pk,
        someone_elses.pk: other_manager.pk,
    }


def test_a_sync_that_changes_the_owner_moves_the_open_follow_ups(manager, other_manager, marketer):
    moved = CustomerFactory(owner=manager, external_id="x-1")
    kept = CustomerFactory(owner=manager, external_id="x-2")
    waiting = FollowUpFactory(customer=moved)
    staying = FollowUpFactory(customer=kept)

    outcome = sync.upsert_customers(
        rows=[
            {"external_id": "x-1", "owner": "manager2"},
            {"external_id": "x-2", "owner": "manager"},
        ],
        by=marketer,
        refresh_later=tasks.refresh_customers_task.delay,
    )

    assert (outcome.updated, outcome.unchanged) == (1, 1)
    waiting.refresh_from_db()
    staying.refresh_from_db()
    assert (waiting.assignee_id, staying.assignee_id) == (other_manager.pk, manager.pk)


def test_a_merge_gives_the_merged_records_open_follow_ups_to_the_survivors_owner(
    manager, other_manager
):
    survivor = CustomerFactory(owner=other_manager)
    merged = CustomerFactory(owner=manager)
    waiting = FollowUpFactory(customer=merged)

    merge.merge_customers(survivor=survivor, merged=merged, by=other_manager)

    waiting.refresh_from_db()
    assert (waiting.customer_id, waiting.assignee_id) == (survivor.pk, other_manager.pk)
