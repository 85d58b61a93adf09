"""anymail's tracking and inbound webhooks under /anymail/: public, authenticated by ANYMAIL's
WEBHOOK_SECRET (HTTP basic auth, 400 otherwise) and, where the provider signs, its signature.

The events anymail parses from one request are stored in one statement before the provider
gets its 2xx, and worked by the drain task (programs.event_intake, then programs.email_events);
replies are stored as posted and parsed by that task (programs.inbound_mail, then
programs.email_replies). A repeat of an event changes nothing.
"""

import hashlib
import logging

from anymail.exceptions import AnymailConfigurationError
from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, inbound, tracking
from anymail.urls import urlpatterns as anymail_urlpatterns
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.dispatch import receiver
from django.http import HttpResponse
from django.urls import URLPattern

from programs import email_events, email_replies, inbound_mail
from programs.event_intake import Incoming, collecting, take
from programs.models import ProviderEvent

logger = logging.getLogger(__name__)

# The providers whose delivery events we take (bonding/settings.py EMAIL_PROVIDERS).
TRACKED = ("amazon_ses", "mailgun", "postmark", "sendgrid")


def _guarded(view):
    """anymail's view, refused (403) while no webhook secret is set: anymail would then take
    anyone's events, with only a warning."""

    @login_not_required
    def guarded(request, *args, **kwargs):
        if not getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET"):
            return HttpResponse("Webhooks are off.", status=403, content_type="text/plain")
        try:
            # Every event of the request in one statement, stored before the answer leaves.
            with collecting():
                return view(request, *args, **kwargs)
        except AnymailConfigurationError:
            logger.exception("an e-mail webhook is not configured")
            return HttpResponse("Webhook not configured.", status=403, content_type="text/plain")

    guarded.csrf_exempt = True  # type: ignore[attr-defined]  # the provider has no token
    return guarded


def _deferred(view):
    """A reply posted to the inbound URL: checked and stored whole, parsed by the worker
    (programs.inbound_mail); HEAD and OPTIONS (a provider checking the URL) as anymail answers."""
    provider = inbound_mail.provider_of(view.view_class)

    def deferred(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        return inbound_mail.intake(request, provider)

    return deferred


def _served(pattern: URLPattern):
    view = pattern.callback
    if pattern.name.endswith("_inbound_webhook") and (
        inbound_mail.provider_of(view.view_class) in inbound_mail.INBOUND_VIEWS
    ):
        view = _deferred(view)
    return _guarded(view)


urlpatterns = [
    URLPattern(pattern.pattern, _served(pattern), pattern.default_args, pattern.name)
    for pattern in anymail_urlpatterns
    if isinstance(pattern, URLPattern)
    and pattern.name
    in {f"{esp}_{hook}_webhook" for esp in TRACKED for hook in ("tracking", "inbound")}
]


@receiver(tracking)
def on_tracking(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    """Store the event before anymail answers; a worker applies it."""
    ref = str((event.metadata or {}).get("touch", ""))
    esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
    when = event.timestamp.isoformat() if event.timestamp else ""
    payload = {
        "event_type": event.event_type,
        "message_id": str(event.message_id or ""),
        "recipient": (event.recipient or "").strip().lower(),
        "reject_reason": event.reject_reason or "",
        "description": event.description or "",
        "mta_response": event.mta_response or "",
        "timestamp": when,
        "click_url": event.click_url or "",
        "soft": email_events.is_soft(event_type=event.event_type, esp_event=esp_event),
        "esp_event": esp_event,
    }
    take(
        Incoming(
            provider=esp_name.lower().replace(" ", "_")[:20],
            kind=ProviderEvent.Kind.EMAIL,
            key=event.event_id or f"{event.message_id}:{event.event_type}:{when}",
            payload=payload,
            touch_ref=int(ref) if ref.isdigit() and len(ref) <= 18 else None,
        )
    )


@receiver(inbound)
def on_inbound(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    """A reply anymail parsed in the request (Amazon SES's, see programs.inbound_mail): stored
    before anymail answers; a worker puts it on the timeline."""
    message = event.message
    if message is None:
        return
    payload = email_replies.payload_of(message)
    key = event.event_id or message.get("Message-ID") or ""
    if not key or len(key) > 120:
        # No id, or one too long for the key: the message itself, hashed, is its identity.
        key = hashlib.sha256(
            repr((key, payload["from"], payload["subject"], payload["text"])).encode()
        ).hexdigest()
    take(
        Incoming(
            provider=esp_name.lower().replace(" ", "_")[:20],
            kind=ProviderEvent.Kind.REPLY,
            key=key,
            payload=payload,
        )
    )
