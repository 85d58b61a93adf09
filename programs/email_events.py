"""What an e-mail provider tells us through anymail's tracking webhooks, applied by a task to
the touch and the customer: delivered, bounced, complained, opened, clicked.

Each event is applied once (sms_events.work_event) and in any order: final states stay final,
so a "delivered" arriving after a bounce changes nothing.
"""

from datetime import datetime, timedelta

from django.utils.dateparse import parse_datetime

from customers import announce as customer_news
from customers import records
from customers.models import Channel, Customer
from programs import announce
from programs.models import ProviderEvent, Touch
from programs.responses import record_response
from programs.settlement import mark_delivered, tell_on_timeline

# A touch still being sent when its event arrives: the event waits for the send to be
# recorded (the task comes back later, or the sweeper does).
LATER = "later"
IN_FLIGHT = (Touch.Status.CLAIMED, Touch.Status.SENDING)
# Soft bounces (a full mailbox, a greylisting server) suspend the address once they repeat.
SOFT_BOUNCES_TO_SUSPEND = 3
SOFT_BOUNCE_WINDOW = timedelta(days=30)
# What providers call a soft bounce that anymail reports as "bounced": Postmark's bounce
# Type, Amazon SES's bounceType.
SOFT_BOUNCE_TYPES = {"SoftBounce", "Transient"}
OPENED = "opened (may be a privacy proxy)"


def is_soft(*, event_type: str, esp_event: dict) -> bool:
    """A bounce that may pass: deferred, or a bounce its provider calls soft."""
    if event_type == "deferred":
        return True
    bounce = esp_event.get("bounce")
    kind = esp_event.get("Type") or (bounce.get("bounceType") if isinstance(bounce, dict) else "")
    return event_type == "bounced" and kind in SOFT_BOUNCE_TYPES


def apply_event(event: ProviderEvent, now: datetime) -> str:
    """One stored tracking event: its touch's state, the customer's address and consent."""
    payload = event.payload
    kind = payload.get("event_type", "")
    touch = _touch_of(event)
    if touch is not None and touch.status in IN_FLIGHT:
        return LATER
    message_id = payload.get("message_id") or ""
    if touch is not None and touch.provider_message_id and message_id != touch.provider_message_id:
        # An earlier attempt's message (the touch was sent again since): what it says of the
        # address still counts, not of the touch.
        touch = None
    at = parse_datetime(payload.get("timestamp") or "") or event.received_at
    recipient = (payload.get("recipient") or "").strip().lower()
    if kind == "delivered":
        return _delivered(touch, message_id, now)
    if kind in ("bounced", "rejected") and not payload.get("soft"):
        reason = _reason(event)
        _fail(touch, reason)
        suspended = _suspend(recipient=recipient, reason=reason, now=now)
        return f"{reason}; {suspended} address(es) suspended"
    if payload.get("soft"):
        return _soft_bounce(event, recipient, now)
    if kind == "complained":
        withdrawn = sum(
            records.set_consent(
                customer=customer, channel=Channel.EMAIL, granted=False, source="complaint"
            )
            for customer in _customers_at(recipient)
        )
        return f"complaint: e-mail consent withdrawn for {withdrawn} customer(s)"
    if kind == "opened":
        if touch is not None:
            tell_on_timeline(touch=touch, said=OPENED)
        return OPENED  # never a response: privacy proxies open every message
    if kind == "clicked":
        if touch is None:
            return "clicked; no touch"
        tell_on_timeline(touch=touch, said="clicked a link")
        return "clicked: a response" if record_response(touch=touch, now=at) else "clicked again"
    return f"{kind or 'unknown'} noted"


def _touch_of(event: ProviderEvent) -> Touch | None:
    """The touch the message was: named in its metadata, else found by the provider's id."""
    touches = Touch.objects.select_for_update(of=("self",)).select_related(
        "step", "enrollment", "customer"
    )
    if event.touch_ref:
        return touches.filter(pk=event.touch_ref, channel=Channel.EMAIL).first()
    message_id = event.payload.get("message_id")
    if not message_id:
        return None
    return touches.filter(provider_message_id=message_id, channel=Channel.EMAIL).first()


def _delivered(touch: Touch | None, message_id: str, now: datetime) -> str:
    if touch is None:
        return "delivered; no touch"
    if touch.status not in (Touch.Status.SENT, Touch.Status.REVIEW):
        return f"delivered noted; the touch stays {touch.status}"
    # A touch from review may never have recorded the provider's id.
    return mark_delivered(
        touch, now=now, provider_message_id=touch.provider_message_id or message_id[:200]
    )


def _fail(touch: Touch | None, reason: str) -> None:
    """A message that never arrived: the touch failed, whatever was reported before."""
    if touch is None or touch.status not in (
        Touch.Status.SENT,
        Touch.Status.DELIVERED,
        Touch.Status.REVIEW,
    ):
        return
    # Not settled: a message that never arrived leaves nothing behind.
    Touch.objects.filter(pk=touch.pk).update(
        status=Touch.Status.FAILED, last_error=reason[:500], unsettled=False
    )
    touch.status, touch.last_error = Touch.Status.FAILED, reason[:500]
    # The provider says it bounced: touch.bounced, not touch.failed (which is a send that failed).
    announce.touches_moved("touch.bounced", [touch])


def _reason(event: ProviderEvent) -> str:
    payload = event.payload
    detail = payload.get("description") or payload.get("mta_response") or ""
    why = payload.get("reject_reason") or ""
    text = f"{event.provider}: {payload.get('event_type')}" + (f" ({why})" if why else "")
    return (text + (f", {detail}" if detail else ""))[:200]


def _soft_bounce(event: ProviderEvent, recipient: str, now: datetime) -> str:
    """Recorded; the third within the window suspends the address like a hard bounce."""
    if not recipient:
        return "soft bounce; no recipient"
    count = ProviderEvent.objects.filter(
        kind=ProviderEvent.Kind.EMAIL,
        payload__recipient=recipient,
        payload__soft=True,
        received_at__gte=now - SOFT_BOUNCE_WINDOW,
    ).count()
    if count < SOFT_BOUNCES_TO_SUSPEND:
        return f"soft bounce {count} of {SOFT_BOUNCES_TO_SUSPEND} within 30 days"
    reason = f"{event.provider}: {count} soft bounces within 30 days"
    return f"{reason}; {_suspend(recipient=recipient, reason=reason, now=now)} suspended"


def _customers_at(recipient: str):
    """The customers whose address it is now (one who changed it since is not concerned)."""
    if not recipient:
        return Customer.objects.none()
    return Customer.objects.filter(email=recipient, deleted_at__isnull=True).order_by("id")


def _suspend(*, recipient: str, reason: str, now: datetime) -> int:
    """Suspend e-mail to the address (the first reason stays); a customer.updated each."""
    suspended = list(_customers_at(recipient).filter(email_suspended_reason="").select_for_update())
    Customer.objects.filter(pk__in=[c.pk for c in suspended]).update(
        email_suspended_reason=reason[:200], email_suspended_at=now, updated_at=now
    )
    for customer in suspended:
        customer.email_suspended_reason, customer.email_suspended_at = reason[:200], now
        customer.updated_at = now
    customer_news.customers_changed("customer.updated", suspended, now=now)
    return len(suspended)
