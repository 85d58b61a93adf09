"""Twilio's webhooks: delivery reports and inbound texts, public and verified by signature.

Each request is checked with Twilio's RequestValidator over SITE_URL + the path Twilio called
and the POST parameters (403 otherwise), stored in one statement, answered at once, and
worked by the drain task (programs.event_intake); a repeat is answered the same and changes
nothing.
"""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from programs import sms_events
from programs.event_intake import Incoming, take
from programs.models import ProviderEvent

logger = logging.getLogger(__name__)


def _signed_by_twilio(request: HttpRequest) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    url = settings.SITE_URL + request.get_full_path()
    return RequestValidator(token).validate(url, request.POST, signature)


def _forbidden() -> HttpResponse:
    return HttpResponse("Forbidden.", status=403, content_type="text/plain")


@login_not_required
@csrf_exempt
@never_cache
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Twilio reports a text's fate (queued, sent, delivered, undelivered, failed)."""
    if not _signed_by_twilio(request):
        return _forbidden()
    sid, status = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
    touch = request.GET.get("touch", "")
    if not sid or not status or not touch.isdigit() or len(touch) > 18:
        return HttpResponse(
            "MessageSid, MessageStatus and ?touch= are required.",
            status=400,
            content_type="text/plain",
        )
    take(
        Incoming(
            provider="twilio",
            kind=ProviderEvent.Kind.STATUS,
            key=f"{sid}:{status}",
            payload=request.POST.dict(),
            touch_ref=int(touch),
        )
    )
    return HttpResponse(status=204)


@login_not_required
@csrf_exempt
@never_cache
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """A text to our number: HELP is answered here (TwiML); the rest is worked by a task."""
    if not _signed_by_twilio(request):
        return _forbidden()
    sid = request.POST.get("MessageSid", "")
    if not sid or not request.POST.get("From"):
        return HttpResponse(
            "MessageSid and From are required.", status=400, content_type="text/plain"
        )
    take(
        Incoming(
            provider="twilio", kind=ProviderEvent.Kind.INBOUND, key=sid, payload=request.POST.dict()
        )
    )
    answer = MessagingResponse()
    if sms_events.keyword(request.POST.get("Body", "")) in sms_events.HELP_WORDS:
        answer.message(sms_events.help_text())
    return HttpResponse(str(answer), content_type="text/xml")
