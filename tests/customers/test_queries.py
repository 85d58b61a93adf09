"""Reads about customers: who sees whom, the rules' facts, and an account manager's day."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from customers import queries, records, rule_facts
from customers.models import Customer
from tests.factories import (
    ComplaintFactory,
    ContractFactory,
    CustomerFactory,
    FollowUpFactory,
    PurchaseFactory,
    ReferralFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(manager, other_manager) -> dict[str, Customer]:
    """One customer of each manager, one of nobody's, and one deleted."""
    return {
        "mine": CustomerFactory(owner=manager),
        "theirs": CustomerFactory(owner=other_manager),
        "nobodys": CustomerFactory(),
        "deleted": CustomerFactory(owner=manager, deleted_at=timezone.now()),
    }


def test_marketers_and_admins_see_every_live_customer(marketer, admin_user, book):
    live = {book["mine"], book["theirs"], book["nobodys"]}

    assert set(queries.visible_customers(marketer)) == live
    assert set(queries.visible_customers(admin_user)) == live


def test_an_account_manager_sees_only_their_own_live_customers(manager, other_manager, book):
    assert list(queries.visible_customers(manager)) == [book["mine"]]
    assert list(queries.visible_customers(other_manager)) == [book["theirs"]]


def test_a_user_with_no_role_and_an_anonymous_visitor_see_nobody(book):
    assert list(queries.visible_customers(UserFactory())) == []
    assert list(queries.visible_customers(AnonymousUser())) == []


def test_customer_for_another_managers_customer_is_not_found(manager, book):
    assert queries.customer_for(manager, book["mine"].pk) == book["mine"]
    with pytest.raises(Http404):
        queries.customer_for(manager, book["theirs"].pk)
    with pytest.raises(Http404):
        queries.customer_for(manager, book["deleted"].pk)


def test_gather_facts_counts_the_last_twelve_months_in_a_fixed_number_of_queries(
    django_assert_num_queries,
):
    today = timezone.localdate()
    busy, refunded, lapsed = CustomerFactory(), CustomerFactory(), CustomerFactory()
    for days, amount in [(10, "100.00"), (364, "50.00"), (365, "30.00"), (400, "20.00")]:
        PurchaseFactory(
            customer=busy, amount=Decimal(amount), purchased_on=today - timedelta(days=days)
        )
    PurchaseFactory(customer=refunded, amount=Decimal("80.00"), purchased_on=today)
    PurchaseFactory(customer=refunded, amount=Decimal("-20.00"), purchased_on=today)
    PurchaseFactory(customer=lapsed, purchased_on=today - timedelta(days=500))
    ComplaintFactory.create_batch(2, customer=busy)
    ComplaintFactory(customer=busy, status="resolved", resolved_at=timezone.now())
    ReferralFactory.create_batch(2, referrer=busy, status="converted")
    ReferralFactory(referrer=busy)
    ReferralFactory(referrer=refunded)
    ContractFactory(customer=refunded, starts_on=today - timedelta(days=30))

    # One grouped read each: purchases, contracts, referrals, complaints, interactions,
    # latest sentiment, consents.
    with django_assert_num_queries(7):
        facts = rule_facts.gather_facts([busy, refunded, lapsed], today=today)

    busy_facts = facts[busy.pk]
    assert (busy_facts.ladder.purchase_count, busy_facts.ladder.purchases_12m) == (4, 2)
    assert busy_facts.spend_12m == Decimal("150.00")
    assert busy_facts.lifetime_value == Decimal("200.00")
    assert busy_facts.ladder.open_complaints == 2
    assert busy_facts.churn.resolved_complaints_12m == 1
    assert (busy_facts.ladder.converted_referrals, busy_facts.ladder.referrals_made) == (2, 3)
    refunded_facts = facts[refunded.pk]
    assert (refunded_facts.ladder.purchases_12m, refunded_facts.spend_12m) == (2, Decimal("60.00"))
    assert refunded_facts.purchase_days == 1
    assert refunded_facts.ladder.has_active_contract is True
    assert (refunded_facts.ladder.converted_referrals, refunded_facts.ladder.open_complaints) == (
        0,
        0,
    )
    lapsed_facts = facts[lapsed.pk]
    assert (lapsed_facts.ladder.purchase_count, lapsed_facts.ladder.purchases_12m) == (1, 0)
    assert lapsed_facts.spend_12m == Decimal("0")
    assert lapsed_facts.churn.days_since_last_purchase == 500


def test_gather_facts_issues_the_same_queries_for_one_or_many_customers(
    django_assert_num_queries,
):
    customers = CustomerFactory.create_batch(20)
    for customer in customers:
        PurchaseFactory(customer=customer)
        ComplaintFactory(customer=customer)

    with django_assert_num_queries(7):
        facts = rule_facts.gather_facts(customers, today=timezone.localdate())

    assert {f.ladder.open_complaints for f in facts.values()} == {1}


@pytest.mark.parametrize("consent", [False, True])
def test_a_new_customers_facts_are_what_gather_facts_would_read_and_cost_no_query(
    consent, django_assert_num_queries
):
    customer = records.create_customer(
        data={"first_name": "Ann", "email": "ann@example.com", "consent_email": consent}, by=None
    )
    today = timezone.localdate()

    with django_assert_num_queries(0):
        facts = rule_facts.new_customer_facts(customer, today=today, consented=consent)

    assert facts == rule_facts.gather_facts([customer], today=today)[customer.pk]
    assert facts.ladder.stated_preferences is consent


def test_my_day_lists_the_users_open_follow_ups_that_are_due_or_overdue(manager, other_manager):
    now = timezone.now()
    mine = CustomerFactory(owner=manager)
    overdue = FollowUpFactory(customer=mine, due_at=now - timedelta(days=3), reason="Overdue")
    due = FollowUpFactory(customer=mine, due_at=now, reason="Due")
    later = FollowUpFactory(customer=mine, due_at=now + timedelta(days=2), reason="Later")
    FollowUpFactory(customer=mine, due_at=now - timedelta(days=1), done_at=now, done_by=manager)
    FollowUpFactory(customer=CustomerFactory(owner=other_manager), due_at=now)
    FollowUpFactory(customer=CustomerFactory(owner=manager, deleted_at=now), due_at=now)

    day = queries.my_day(manager)

    assert day.due == [overdue, due]
    assert day.upcoming == [later]


def test_my_day_lists_the_users_customers_at_risk_riskiest_first(
    manager, other_manager, django_assert_num_queries
):
    calm = CustomerFactory(owner=manager, churn_risk=30)
    worried = CustomerFactory(owner=manager, churn_risk=80)
    uneasy = CustomerFactory(owner=manager, churn_risk=50)
    CustomerFactory(owner=other_manager, churn_risk=90)
    CustomerFactory(owner=manager, churn_risk=95, deleted_at=timezone.now())

    # The user's roles, due, upcoming, at risk, complaints, at risk of dropping a tier.
    with django_assert_num_queries(6):
        day = queries.my_day(manager)

    assert day.at_risk == [worried, uneasy, calm]
