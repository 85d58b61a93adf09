"""What the programs app tells webhook subscribers: touch.sent, touch.failed, and from the
provider's events touch.delivered and touch.bounced, each touch as GET /api/v1/touches/ shows
it, written to the outbox in the transaction that moved the touch."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from programs.models import Touch
from webhooks import outbox


def touch_data(touch: Touch) -> dict[str, Any]:
    """A touch as the API shows it (programs/api.py: TouchSerializer)."""
    return {
        "id": touch.pk,
        "customer": touch.customer_id,
        "program": touch.step.program_id,
        "step": touch.step_id,
        "step_name": touch.step.name,
        "occurrence": touch.occurrence,
        "due_at": touch.due_at,
        "channel": touch.channel,
        "status": touch.status,
        "attempts": touch.attempts,
        "last_error": touch.last_error,
        "sent_at": touch.sent_at,
        "message_id": touch.message_id,
        "responded_at": touch.responded_at,
    }


def touches_moved(type: str, touches: Sequence[Touch], *, now: datetime | None = None) -> None:
    """touch.sent or touch.failed for each touch, in one statement."""
    outbox.publish_many(type, [(t.customer_id, touch_data(t)) for t in touches], now=now)
