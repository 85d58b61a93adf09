"""Replies as the provider posts them, parsed by a worker rather than in the request.

The inbound webhook checks the request as anymail does (its view's own validators: the basic
auth secret and, where the provider signs, the signature), then stores the body and the headers
anymail parses with in one row before the 2xx. Building the message (MIME) is most of a
reply's cost, so the drain task does it: anymail's parse_events on the request rebuilt, then
programs.email_replies. A repeat is the same row (keyed by the provider's id where the body has
it at hand, else by a hash of the body). A body anymail cannot read is kept, said so on the
event and listed with the unmatched replies for a person to look at: never a 5xx to the
provider, who would post it again and again.

Amazon SES is not deferred: its view confirms the SNS subscription and fetches the message
from S3 in the request, so it keeps anymail's own path (programs.email_webhooks.on_inbound).
"""

import hashlib
import io
import json
import logging
from datetime import datetime

from anymail.exceptions import AnymailConfigurationError
from anymail.urls import urlpatterns as anymail_urlpatterns
from django.core.handlers.wsgi import WSGIRequest
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern

from customers.models import Channel
from programs import email_replies
from programs.event_intake import Incoming, take
from programs.models import ProviderEvent, UnmatchedReply

logger = logging.getLogger(__name__)

# The providers whose replies are parsed by the worker.
DEFERRED = ("mailgun", "postmark", "sendgrid")
# Request headers never kept beside the body: credentials, checked before the row is written.
SECRET_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_COOKIE")
# The outcome of an event whose body could not be read; its listed reply can only be dismissed.
UNREADABLE = "unreadable: "
# Listed replies whose body could not be read: there is no message to put on a timeline.
UNREADABLE_REPLIES = Q(event__outcome__startswith=UNREADABLE)


def provider_of(view_class) -> str:
    """Our name of a provider (as stored on its events): anymail's, lower case."""
    return view_class.esp_name.lower().replace(" ", "_")[:20]


def _inbound_views() -> dict[str, tuple[type, dict]]:
    views = {}
    for pattern in anymail_urlpatterns:
        callback = getattr(pattern, "callback", None)
        if isinstance(pattern, URLPattern) and str(pattern.name).endswith("_inbound_webhook"):
            view_class = callback.view_class  # type: ignore[union-attr]
            views[provider_of(view_class)] = (view_class, callback.view_initkwargs)  # type: ignore[union-attr]
    return views


INBOUND_VIEWS = {
    provider: view for provider, view in _inbound_views().items() if provider in DEFERRED
}


def intake(request: HttpRequest, provider: str) -> HttpResponse:
    """Check the request as anymail's view would, and store it whole (stored by the caller's
    `collecting`, before the answer leaves). A failed check raises anymail's
    AnymailWebhookValidationFailure: 400, nothing stored."""
    view_class, initkwargs = INBOUND_VIEWS[provider]
    view_class(**initkwargs).run_validators(request)
    body = request.body
    meta = {
        name: value
        for name, value in request.META.items()
        if (name == "CONTENT_TYPE" or name.startswith("HTTP_"))
        and name not in SECRET_HEADERS
        and isinstance(value, str)
    }
    take(
        Incoming(
            provider=provider,
            kind=ProviderEvent.Kind.REPLY,
            key=key_of(provider, request, body),
            payload={"posted": {"path": request.path, "meta": meta}},
            raw=body,
        )
    )
    return HttpResponse()


def key_of(provider: str, request: HttpRequest, body: bytes) -> str:
    """A reply's identity where the request has it at hand: Postmark's MessageID (its body is a
    small JSON document), Mailgun's token (its form is already read to check the signature);
    else a hash of the body, which a provider posting the same reply again repeats exactly."""
    found = None
    if provider == "postmark":
        try:
            posted = json.loads(body)
        except ValueError:
            posted = None
        if isinstance(posted, dict):
            kind = posted.get("RecordType", "Inbound")
            if kind != "Inbound":
                # As anymail's view would say: a tracking webhook set to the inbound URL.
                raise AnymailConfigurationError(
                    f"Postmark's {kind} webhook is set to the inbound webhook's URL."
                )
            found = posted.get("MessageID")
    elif provider == "mailgun" and request.content_type != "application/json":
        found = request.POST.get("token")
    if isinstance(found, str) and 0 < len(found) <= 120:
        return found
    return "sha256:" + hashlib.sha256(body).hexdigest()


def rebuilt(event: ProviderEvent) -> HttpRequest:
    """The request the provider posted, as anymail's parsing reads it."""
    posted = event.payload["posted"]
    body = bytes(event.raw or b"")
    request = WSGIRequest(
        {
            **posted["meta"],
            "REQUEST_METHOD": "POST",
            "PATH_INFO": posted["path"],
            "SCRIPT_NAME": "",
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "443",
            "wsgi.url_scheme": "https",
            "wsgi.input": io.BytesIO(body),
        }
    )
    # Read whole, as the web process did (bonding.middleware.InboundBodyLimitMiddleware).
    request._body = body  # type: ignore[attr-defined]
    return request


def apply_posted(event: ProviderEvent, now: datetime) -> str:
    """A stored request: parsed by anymail, each message in it put where it belongs (see
    email_replies.apply_reply); a request that cannot be read is kept and listed."""
    view_class, initkwargs = INBOUND_VIEWS[event.provider]
    try:
        messages = [
            found.message
            for found in view_class(**initkwargs).parse_events(rebuilt(event))
            if found.message is not None
        ]
        payloads = [email_replies.payload_of(message) for message in messages]
    except Exception as error:  # whatever anymail or the body raises: kept, never retried
        return _unreadable(event, error)
    if not payloads:
        return _unreadable(event, ValueError("no message in the request"))
    outcomes = []
    for payload in payloads:
        event.payload = payload
        outcomes.append(email_replies.apply_reply(event, now))
    # Parsed: the stored message replaces the request (one per request at these providers).
    ProviderEvent.objects.filter(pk=event.pk).update(payload=event.payload, raw=None)
    event.raw = None
    return "; ".join(outcomes)


def _unreadable(event: ProviderEvent, error: Exception) -> str:
    said = f"{type(error).__name__}: {error}"
    logger.warning("reply event %s could not be read: %s", event.pk, said)
    UnmatchedReply.objects.create(
        channel=Channel.EMAIL,
        subject="(a reply the provider posted could not be read)",
        body=(
            f"{event.provider} posted a reply that could not be read ({said[:500]}). "
            f"Its body is kept on provider event {event.pk}."
        ),
        received_at=event.received_at,
        event=event,
    )
    return f"{UNREADABLE}{said}"[:200]
