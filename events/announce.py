"""What the events app tells webhook subscribers: rsvp.answered, the invitation as
GET /api/v1/events/{id}/attendees/ shows it (events/api.py: AttendeeSerializer) with its event's
id, written to the outbox in the transaction of the answer."""

from datetime import datetime

from customers.announce import record_data
from events.models import Invitation
from webhooks import outbox

ATTENDEE_FIELDS = (
    "event",
    "customer",
    "answer",
    "guests",
    "waitlist_position",
    "attendance",
    "walk_in",
    "invited_at",
    "answered_at",
    "checked_in_at",
)


def answered(invitation: Invitation, *, now: datetime | None = None) -> None:
    """rsvp.answered, in the customer's run of events."""
    outbox.publish(
        "rsvp.answered",
        record_data("invitation", invitation, ATTENDEE_FIELDS),
        customer_id=invitation.customer_id,
        now=now,
    )
