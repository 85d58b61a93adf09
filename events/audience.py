"""Who an event is for: its tiers, audiences and relationships (empty means everyone)."""

from customers.models import Customer
from events.models import Event


def fits(event: Event, customer: Customer, tier_ids: set[int]) -> str | None:
    """Why this customer is not in the event's audience, or None when they are."""
    if customer.deleted_at:
        return "deleted"
    if tier_ids and customer.tier_id not in tier_ids:
        return "not in the event's tiers"
    if event.audiences and customer.audience not in event.audiences:
        return "not in the event's audience"
    if event.relationships and customer.relationship not in event.relationships:
        return "not in the event's relationships"
    return None
