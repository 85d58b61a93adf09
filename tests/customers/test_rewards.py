"""The reward ledger's services: grant, redeem, reverse, expire, the rules, who may do what."""

import contextlib
import importlib
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import hypothesis
import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from customers import activity, queries, rewards, tasks
from customers.models import Referral, Reward, RewardRule, TimelineEntry
from tests.factories import CustomerFactory, ReferralFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
POINTS = Reward.Unit.POINTS


@pytest.fixture
def ann(manager):
    return CustomerFactory(first_name="Ann", owner=manager)


def balance(customer, unit=POINTS) -> Decimal:
    return queries.reward_ledger(customer).balances.get(unit, Decimal(0))


def test_a_grant_is_an_earned_line_that_expires_after_the_configured_time(ann, settings):
    settings.REWARD_EXPIRY_DAYS = 30
    entry = rewards.grant(customer=ann, value=Decimal(20), reason="Welcome", now=NOW)
    assert (entry.movement, entry.cause, entry.value) == ("earned", "manual", 20)
    assert entry.expires_at == NOW + timedelta(days=30)
    assert balance(ann) == 20
    assert ann.timeline.filter(kind=TimelineEntry.Kind.REWARD).count() == 1


def test_redeeming_more_than_the_balance_is_refused_and_changes_nothing(ann, marketer):
    rewards.grant(customer=ann, value=Decimal(10), reason="Welcome", now=NOW)
    with pytest.raises(ValidationError) as error:
        rewards.redeem(customer=ann, value=Decimal(11), reason="Voucher", by=marketer, now=NOW)
    assert "Only 10.00 points can be spent." in str(error.value)
    assert ann.rewards.count() == 1
    with pytest.raises(ValidationError):
        rewards.redeem(customer=ann, value=Decimal(0), reason="Voucher", by=marketer, now=NOW)


def test_redemption_spends_the_lines_closest_to_expiry_first(ann, marketer, settings):
    settings.REWARD_EXPIRY_DAYS = 100
    late = rewards.grant(customer=ann, value=Decimal(10), reason="Later", now=NOW)
    soon = rewards.grant(
        customer=ann, value=Decimal(10), reason="Sooner", now=NOW, given_at=NOW - timedelta(90)
    )
    rewards.redeem(customer=ann, value=Decimal(12), reason="Voucher", by=marketer, now=NOW)
    # The sooner line was spent whole: at its expiry nothing of it is left to write off.
    assert rewards.expire_due(now=soon.expires_at) == 0
    assert rewards.expire_due(now=late.expires_at) == 1
    expiry = ann.rewards.get(movement=Reward.Movement.EXPIRED)
    assert (expiry.value, expiry.applies_to) == (Decimal(-8), late)
    assert balance(ann) == 0


def test_expiry_runs_nightly_and_writes_each_line_off_once(ann, settings):
    settings.REWARD_EXPIRY_DAYS = 1
    # The task runs on the real clock: one line earned days ago, one just now.
    today = timezone.now()
    rewards.grant(customer=ann, value=Decimal(5), reason="Old", now=today - timedelta(days=3))
    rewards.grant(customer=ann, value=Decimal(7), reason="New", now=today)
    assert tasks.expire_rewards_task.apply().get() == 1
    assert tasks.expire_rewards_task.apply().get() == 0
    assert balance(ann) == 7
    assert ann.rewards.filter(movement=Reward.Movement.EXPIRED).get().value == -5


def test_a_reversal_takes_back_what_is_left_once(ann, marketer):
    entry = rewards.grant(customer=ann, value=Decimal(10), reason="Oops", now=NOW)
    rewards.redeem(customer=ann, value=Decimal(4), reason="Voucher", by=marketer, now=NOW)
    first = rewards.reverse(entry=entry, reason="Refunded", by=marketer, now=NOW)
    again = rewards.reverse(entry=entry, reason="Refunded", by=marketer, now=NOW)
    assert first == again and first.value == -6
    assert balance(ann) == 0
    with pytest.raises(ValidationError):
        rewards.reverse(entry=first, reason="No", by=marketer, now=NOW)


def test_the_same_source_key_writes_once(ann):
    first = rewards.grant(customer=ann, value=Decimal(3), reason="A", source_key="k1", now=NOW)
    again = rewards.grant(customer=ann, value=Decimal(3), reason="A", source_key="k1", now=NOW)
    assert first == again and ann.rewards.count() == 1


def test_account_managers_grant_goodwill_within_the_limit_and_never_redeem(ann, manager, settings):
    settings.REWARD_GOODWILL_LIMIT = 25
    entry = rewards.grant(customer=ann, value=Decimal(25), reason="Sorry", by=manager, now=NOW)
    assert (entry.cause, entry.author) == (Reward.Cause.GOODWILL, manager)
    with pytest.raises(PermissionDenied):
        rewards.grant(customer=ann, value=Decimal(26), reason="Sorry", by=manager, now=NOW)
    with pytest.raises(PermissionDenied):
        rewards.grant(customer=ann, value=Decimal(1), reason="x", cause="referral", by=manager)
    with pytest.raises(PermissionDenied):
        rewards.redeem(customer=ann, value=Decimal(1), reason="Voucher", by=manager, now=NOW)
    assert ann.rewards.count() == 1


def test_marketers_grant_any_cause_and_amount(ann, marketer, settings):
    settings.REWARD_GOODWILL_LIMIT = 25
    entry = rewards.grant(customer=ann, value=Decimal(500), reason="Big", by=marketer, now=NOW)
    assert entry.cause == Reward.Cause.MANUAL and balance(ann) == 500


@pytest.fixture
def referral_rules(db):
    RewardRule.objects.create(event=RewardRule.Event.REFERRAL_CONVERTED, value=20)
    RewardRule.objects.create(event=RewardRule.Event.FRIEND_FIRST_PURCHASE, value=10)


def test_a_referral_converting_twice_rewards_both_sides_once(ann, referral_rules):
    friend = CustomerFactory(first_name="Bob")
    referral = ReferralFactory(referrer=ann, referred_customer=friend)
    activity.convert_referral(referral=referral, now=NOW)
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.SIGNED_UP)
    activity.convert_referral(referral=Referral.objects.get(pk=referral.pk), now=NOW)
    activity.convert_first_purchases(customer_ids={friend.pk}, now=NOW)
    assert [(e.cause, e.value) for e in ann.rewards.all()] == [("referral", 20)]
    assert [(e.cause, e.value) for e in friend.rewards.all()] == [("first_purchase", 10)]


def test_a_survey_answered_rule_and_no_rule(ann):
    assert rewards.apply_rule(event="survey_answered", customer=ann, source="r:1") is None
    RewardRule.objects.create(event=RewardRule.Event.SURVEY_ANSWERED, value=5)
    entry = rewards.apply_rule(event="survey_answered", customer=ann, source="r:1", now=NOW)
    assert entry.cause == Reward.Cause.PREMIUM and entry.value == 5


def test_existing_rewards_move_into_the_ledger_as_money_that_lapses_only_later(ann, settings):
    settings.REWARD_EXPIRY_DAYS = 10
    old = Reward.objects.create(customer=ann, kind="premium", value=Decimal(15), reason="Old")
    gift = Reward.objects.create(customer=ann, kind="gift", reason="Mug")
    migration = importlib.import_module("customers.migrations.0016_rewards_into_the_ledger")
    migration.rewards_into_the_ledger(apps, None)
    old.refresh_from_db()
    gift.refresh_from_db()
    assert (old.unit, old.movement, old.cause, old.value) == ("money", "earned", "premium", 15)
    assert old.expires_at > old.given_at + timedelta(days=9)
    assert gift.expiry_settled and gift.reason == "Mug"


def in_parallel(count, work):
    """Run `work` in `count` threads at once, each on its own connection."""
    barrier, errors = threading.Barrier(count), []

    def run():
        try:
            barrier.wait()
            work()
        except Exception as error:  # noqa: BLE001 (reported below, in the test's thread)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_the_same_conversion_sent_at_once_rewards_each_side_once(referral_rules):
    referrer, friend = CustomerFactory(), CustomerFactory()
    referral = ReferralFactory(referrer=referrer, referred_customer=friend)
    in_parallel(4, lambda: activity.convert_referral(referral=Referral.objects.get(pk=referral.pk)))
    in_parallel(
        4,
        lambda: rewards.apply_rule(
            event="referral_converted", customer=referrer, source=f"referral:{referral.pk}"
        ),
    )
    assert list(referrer.rewards.values_list("value", flat=True)) == [20]
    assert list(friend.rewards.values_list("value", flat=True)) == [10]


@pytest.mark.django_db(transaction=True)
def test_redemptions_at_once_never_spend_more_than_the_balance(marketer):
    customer = CustomerFactory()
    rewards.grant(customer=customer, value=Decimal(10), reason="Welcome")
    refused = []

    def spend():
        try:
            rewards.redeem(customer=customer, value=Decimal(4), reason="Voucher", by=marketer)
        except ValidationError:
            refused.append(1)

    in_parallel(4, spend)
    assert len(refused) == 2
    assert queries.reward_ledger(customer).balances[POINTS] == 2


ledger_steps = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.integers(1, 30), st.integers(1, 10)),
        st.tuples(st.just("redeem"), st.integers(1, 40), st.just(0)),
        st.tuples(st.just("expire"), st.just(0), st.just(0)),
    ),
    max_size=12,
)


@hypothesis.settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=ledger_steps)
def test_through_the_services_a_balance_is_its_lines_and_never_negative(plan, marketer, settings):
    customer = CustomerFactory()
    for n, (action, amount, days) in enumerate(plan):
        at = NOW + timedelta(days=n)
        if action == "grant":
            settings.REWARD_EXPIRY_DAYS = days
            rewards.grant(customer=customer, value=Decimal(amount), reason="g", now=at)
        elif action == "redeem":
            with contextlib.suppress(ValidationError):  # more than the balance: refused
                rewards.redeem(
                    customer=customer, value=Decimal(amount), reason="r", by=marketer, now=at
                )
        else:
            rewards.expire_due(now=at)
        values = list(customer.rewards.values_list("value", flat=True))
        assert balance(customer) == sum(values, Decimal(0)) >= 0
