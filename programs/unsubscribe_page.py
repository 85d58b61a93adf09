"""The stop pages: the public unsubscribe page /u/<token>/ (one click, or choosing
channels) and the plain SMS provider's STOP endpoint."""

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from customers.contact import normalize_phone
from customers.languages import speaking_to
from customers.models import Channel, Customer
from customers.preferences import preference_tokens
from nps.public import over_public_limit
from programs.forms import UnsubscribeChoiceForm
from programs.models import UnsubscribeToken
from programs.sms_events import STOP_WORDS
from programs.unsubscribe import stop_by_sms
from programs.unsubscribe import unsubscribe as withdraw_by_token


def _unknown_link(request: HttpRequest) -> HttpResponse:
    return render(request, "programs/unsubscribe_unknown.html", status=404)


def _no_store(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


@login_not_required
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponseBase:
    """GET: choose the channels to stop. POST: RFC 8058 one-click, the link's channel at once.

    No CSRF check: a mail client posts here without a session. The one-click post only ever
    stops the link's own channel; choosing others goes through the form at `choose/`.
    """
    if _unsubscribe_over_limit(request):
        return _no_store(render(request, "nps/too_many.html", status=429))
    link = _link(token)
    if link is None:
        return _no_store(_unknown_link(request))
    choose = _preferences_path(link.customer_id)
    with speaking_to(link.customer, request):
        if request.method == "POST":
            withdraw_by_token(token=token)
            context = {"stopped": [Channel(link.channel).label], "preferences_path": choose}
            return _no_store(render(request, "programs/unsubscribe_done.html", context))
        form = UnsubscribeChoiceForm(initial={"channels": [link.channel]})
        context = {"form": form, "token": token, "preferences_path": choose}
        return _no_store(render(request, "programs/unsubscribe.html", context))


def _link(token: str) -> UnsubscribeToken | None:
    # The customer's language comes in the same query: the page speaks it.
    return (
        UnsubscribeToken.objects.filter(token=token)
        .select_related("customer")
        .only("channel", "customer_id", "customer__language")
        .first()
    )


def _preferences_path(customer_id: int) -> str:
    # Rather than stop everything, a customer may choose less often or only some topics.
    return f"/p/{preference_tokens(customer_ids={customer_id})[customer_id]}/"


def _unsubscribe_over_limit(request: HttpRequest) -> bool:
    return over_public_limit(
        request, scope="unsubscribe", per_minute=settings.UNSUBSCRIBE_RATE_PER_MINUTE
    )


@login_not_required
@csrf_exempt
@require_POST
def unsubscribe_choose(request: HttpRequest, token: str) -> HttpResponseBase:
    """The choose-channels form of the unsubscribe page.

    The unguessable token in the URL is the credential, as for the one-click POST: a CSRF
    cookie would fail for customers who block cookies, and the page's no-referrer policy
    makes Chromium send `Origin: null`. A forged post without the token is a 404.
    """
    if _unsubscribe_over_limit(request):
        return _no_store(render(request, "nps/too_many.html", status=429))
    link = _link(token)
    if link is None:
        return _no_store(_unknown_link(request))
    choose = _preferences_path(link.customer_id)
    with speaking_to(link.customer, request):
        form = UnsubscribeChoiceForm(request.POST)
        if not form.is_valid():
            context = {"form": form, "token": token, "preferences_path": choose}
            return _no_store(render(request, "programs/unsubscribe.html", context, status=400))
        channels = form.cleaned_data["channels"]
        withdraw_by_token(token=token, channels=channels)
        context = {
            "stopped": [Channel(channel).label for channel in channels],
            "preferences_path": choose,
        }
        return _no_store(render(request, "programs/unsubscribe_done.html", context))


@login_not_required
@csrf_exempt
@never_cache
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """An SMS provider posts replies here (From, Body); STOP and its synonyms withdraw consent."""
    expected = settings.SMS_INBOUND_TOKEN
    given = request.headers.get("X-Bonding-Token") or request.GET.get("token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return HttpResponse("Forbidden.", status=403, content_type="text/plain")
    if request.POST.get("Body", "").strip().upper() not in STOP_WORDS:
        return HttpResponse("OK", content_type="text/plain")
    try:
        phone = normalize_phone(request.POST.get("From", ""), region=settings.PHONE_REGION)
    except ValidationError:
        phone = ""
    speaker = None
    if phone:
        stop_by_sms(phone=phone)
        speaker = (
            Customer.objects.filter(phone=phone, deleted_at__isnull=True).only("language").first()
        )
    with speaking_to(speaker, request):
        reply = _("You will get no more text messages from us.")
    return HttpResponse(reply, content_type="text/plain")
