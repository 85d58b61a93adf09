"""The satisfaction step's survey link: an NPS invitation when the survey app can make one."""

from customers.models import Customer
from programs.models import Touch


def link_for(*, customer: Customer, touch: Touch | None, channel: str) -> str:
    """Until NPS invitations exist the survey step is a plain check-in: no link."""
    return ""
