"""The demo's referral from a promoter's answer, followed link by link through the services:
record_response → the promoter ask (a touch carrying their code) → the friend signs up with
the code → the friend's first purchase converts it → both earn once."""

from decimal import Decimal

import pytest
from django.utils import timezone

from bonding import demo_referral
from customers import activity, rewards
from customers.models import Referral, Reward, RewardRule
from nps.models import Response, Survey
from programs.models import PromoterAsk, Step, Touch
from tests.factories import CustomerFactory

# Committed for real: the answer asks the promoter on commit, as it does outside a test.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_promoters_answer_becomes_a_converted_referral_paying_both_once(manager):
    if not Survey.objects.filter(is_active=True).exists():
        Survey.objects.create(name="Satisfaction")
    rewards.set_rule(event=RewardRule.Event.REFERRAL_CONVERTED, value=Decimal(20))
    rewards.set_rule(event=RewardRule.Event.FRIEND_FIRST_PURCHASE, value=Decimal(10))
    promoter = CustomerFactory(
        owner=manager, email="pia@example.com", consent_email=True, external_id="demo-pia"
    )
    assert demo_referral.a_promoter() == promoter

    chain = demo_referral.promoter_refers_a_friend(
        promoter=promoter, friend_name="Fred Stone", friend_email="fred@example.com"
    )

    assert chain is not None
    assert Response.objects.get(customer=promoter).score == 10
    ask = PromoterAsk.objects.get(customer=promoter)
    assert ask.touch_id == chain.touch.pk
    touch = Touch.objects.get(pk=chain.touch.pk)
    assert (touch.status, touch.step.kind, touch.unsettled) == (
        "sent",
        Step.Kind.REFER_FRIEND,
        False,
    )
    referral = chain.referral
    assert (referral.referrer_id, referral.status) == (promoter.pk, Referral.Status.CONVERTED)
    assert chain.friend.email == "fred@example.com"
    assert referral.referred_customer_id == chain.friend.pk
    # (The survey's premium is a line of its own.)
    referred = Reward.objects.filter(cause__in=["referral", "first_purchase"])
    earned = referred.values_list("customer_id", "cause", "value")
    assert sorted(earned) == sorted(
        [(promoter.pk, "referral", Decimal(20)), (chain.friend.pk, "first_purchase", Decimal(10))]
    )
    # The same purchase reported again, and a second one: nobody earns twice.
    activity.convert_first_purchases(customer_ids={chain.friend.pk})
    activity.record_purchase(
        customer=chain.friend, amount=Decimal(5), purchased_on=timezone.localdate()
    )
    assert referred.count() == 2
    # Asked once: the promoter is not picked again.
    assert demo_referral.a_promoter() is None
