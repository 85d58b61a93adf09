"""The satisfaction step's survey link: an NPS invitation for the touch."""

from django.conf import settings

from customers.models import Customer
from nps import services as nps_services
from nps.models import Invitation, Survey
from programs.models import Touch


def link_for(*, customer: Customer, touch: Touch | None, channel: str) -> str:
    """The invitation's link for this touch (made once); empty when the customer was asked too
    recently (survey fatigue) or no survey is active: the step is then a plain check-in."""
    survey = Survey.objects.filter(is_active=True).order_by("id").first()
    if survey is None:
        return ""
    if touch is None:
        return f"{settings.SITE_URL}/s/PREVIEW/"  # a preview invites nobody
    existing = Invitation.objects.filter(touch_id=touch.pk).first()
    if existing is not None:
        return nps_services.link(existing)
    outcome = nps_services.invite(
        survey=survey, customers=[customer], channel=channel, touch_id=touch.pk
    )
    return nps_services.link(outcome.invited[0]) if outcome.invited else ""
