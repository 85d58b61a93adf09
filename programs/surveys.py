"""The satisfaction step's survey link: an NPS invitation for the touch."""

from collections import defaultdict

from django.conf import settings
from django.db import transaction

from customers.models import Customer
from nps import links
from nps import services as nps_services
from nps.models import Invitation, Survey
from programs.models import Touch


def active_survey() -> Survey | None:
    """The survey the satisfaction step sends: the oldest active one."""
    return Survey.objects.filter(is_active=True).order_by("id").first()


def link_for(*, customer: Customer, touch: Touch | None, channel: str) -> str:
    """The invitation's link for this touch (made once); empty when the customer was asked too
    recently (survey fatigue) or no survey is active: the step is then a plain check-in."""
    survey = active_survey()
    if survey is None:
        return ""
    if touch is None:
        return f"{settings.SITE_URL}/s/PREVIEW/"  # a preview invites nobody
    existing = Invitation.objects.filter(touch_id=touch.pk).first()
    if existing is not None:
        return links.link(existing)
    outcome = nps_services.invite(
        survey=survey, customers=[customer], channel=channel, touch_ids={customer.pk: touch.pk}
    )
    return links.link(outcome.invited[0]) if outcome.invited else ""


def links_for(touches: list[Touch]) -> dict[int, str]:
    """The survey link of each satisfaction touch of a delivery batch, {touch id: link}: its
    invitation, made in bulk for those without one. A customer asked too recently (or twice in
    the batch) gets none, as in `link_for`."""
    if not touches:
        return {}
    survey = active_survey()
    if survey is None:
        return {}
    invitations = {
        invitation.touch_id: invitation
        for invitation in Invitation.objects.filter(touch_id__in=[t.pk for t in touches])
    }
    new: dict[str, dict[int, Touch]] = defaultdict(dict)  # channel -> customer -> touch
    for touch in touches:
        if touch.pk not in invitations:
            new[touch.channel].setdefault(touch.customer_id, touch)
    with transaction.atomic():
        for channel, by_customer in new.items():
            outcome = nps_services.invite(
                survey=survey,
                customers=[t.customer for t in by_customer.values()],
                channel=channel,
                touch_ids={customer_id: t.pk for customer_id, t in by_customer.items()},
            )
            for invitation in outcome.invited:
                invitations[invitation.touch_id] = invitation
    return {touch_id: links.link(invitation) for touch_id, invitation in invitations.items()}
