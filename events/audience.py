"""Who an event is for: its tiers, audiences and relationships (empty means everyone)."""

from django.utils.translation import gettext_noop

from customers.models import Customer
from events.models import Event


def fits(event: Event, customer: Customer, tier_ids: set[int]) -> str | None:
    """Why this customer is not in the event's audience (English, marked: reports say it in
    the reader's language), or None when they are."""
    if customer.deleted_at:
        return gettext_noop("deleted")
    if tier_ids and customer.tier_id not in tier_ids:
        return gettext_noop("not in the event's tiers")
    if event.audiences and customer.audience not in event.audiences:
        return gettext_noop("not in the event's audience")
    if event.relationships and customer.relationship not in event.relationships:
        return gettext_noop("not in the event's relationships")
    return None
