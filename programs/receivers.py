"""What the programs app does when something happens to a customer below it."""

from django.dispatch import receiver

from customers.models import Customer
from customers.signals import (
    contract_added,
    customers_merged,
    follow_up_done,
    tier_at_risk,
    tier_changed,
)
from nps.signals import response_recorded
from programs import enrollment, responses


@receiver(tier_changed, sender=Customer)
def on_tier_changed(sender, customer, from_tier, to_tier, **kwargs) -> None:
    if from_tier is None or to_tier.rank > from_tier.rank:
        enrollment.enroll_on_tier(customer=customer, tier=to_tier)
    enrollment.leave_on_goal(customer=customer, tier=to_tier)


@receiver(tier_at_risk, sender=Customer)
def on_tier_at_risk(sender, customer, **kwargs) -> None:
    enrollment.enroll_on_tier_at_risk(customer=customer)


@receiver(follow_up_done)
def on_follow_up_done(sender, follow_up, **kwargs) -> None:
    # The touch is done when the call was logged, which may be earlier than now.
    responses.follow_up_done(follow_up=follow_up, now=follow_up.done_at)


@receiver(contract_added)
def on_contract_added(sender, contract, **kwargs) -> None:
    enrollment.add_renewal_touches(contract=contract)


@receiver(customers_merged, sender=Customer)
def on_customers_merged(sender, survivor, merged, **kwargs) -> None:
    enrollment.move_merged(survivor=survivor, merged=merged)


@receiver(response_recorded)
def on_response_recorded(sender, response, created, **kwargs) -> None:
    responses.survey_answered(response=response)
