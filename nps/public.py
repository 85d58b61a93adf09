"""The public survey pages a customer answers on: no sign-in, an unguessable token, a limit."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from customers.languages import speaking_to
from customers.models import Channel
from nps import services
from nps.models import Invitation
from nps.questions import questions_of

SCORES = list(range(11))


def _client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def over_public_limit(request: HttpRequest, *, scope: str, per_minute: int) -> bool:
    """More than `per_minute` requests to one kind of public page this minute from one address.

    Counted in the shared cache, so the limit holds however many processes serve the pages.
    """
    key = f"{scope}-rate:{_client_address(request)}"
    cache.add(key, 0, timeout=60)
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1
    return count > per_minute


def _over_limit(request: HttpRequest) -> bool:
    return over_public_limit(request, scope="survey", per_minute=settings.SURVEY_RATE_PER_MINUTE)


def _closed(request: HttpRequest, status: int) -> HttpResponse:
    # The same friendly words for unknown and expired links: a token reveals nothing.
    return render(request, "nps/closed.html", status=status)


@login_not_required
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """The survey: the score (one click from the e-mail), why, and what would earn a 10.

    No CSRF check: the unguessable token in the URL is the credential, and a customer who
    blocks cookies must still be able to answer. A post without a valid token is a 404.
    """
    if _over_limit(request):
        return render(request, "nps/too_many.html", status=429)
    invitation = services.invitation_for(token)
    if invitation is None:
        return _closed(request, 404)
    with speaking_to(invitation.customer, request):
        return _survey_page(request, token, invitation)


def _survey_page(request: HttpRequest, token: str, invitation: Invitation) -> HttpResponse:
    if not invitation.is_open:
        return _closed(request, 410)
    response = getattr(invitation, "response", None) if _answered(invitation) else None
    errors: dict[str, list[str]] = {}
    link_score = None
    if request.method == "POST":
        raw = request.POST.get("score", "")
        why = request.POST.get("why", "")
        improve = request.POST.get("improve", "")
        preferred = request.POST.get("preferred_channel", "")
        chosen = _score(raw)
        if chosen is None:
            errors["score"] = [_("Choose a score from 0 to 10.")]
        else:
            try:
                services.record_response(
                    invitation=invitation,
                    score_value=chosen,
                    why=why,
                    improve=improve,
                    preferred_channel=preferred,
                )
            except ValidationError as error:
                errors = (
                    error.message_dict
                    if hasattr(error, "error_dict")
                    else {"score": error.messages}
                )
            else:
                return redirect("survey_thanks", token=token)
    else:
        if "score" in request.GET:
            link_score = _score(request.GET["score"])
            if link_score is None:
                errors["score"] = [_("Choose a score from 0 to 10.")]
            elif request.method == "GET" and response is None:
                # One click in the e-mail records the score, but only the first answer: link
                # scanners open every link of a message, and must not rewrite what the customer
                # said. A HEAD request never records anything.
                response = services.record_response(
                    invitation=invitation, score_value=link_score, only_if_unanswered=True
                )
        chosen = response.score if response else link_score
        why = response.why if response else ""
        improve = response.improve if response else ""
        preferred = response.preferred_channel if response else ""
    context = {
        "invitation": invitation,
        "survey": invitation.survey,
        "questions": questions_of(invitation.survey),
        "scores": SCORES,
        "chosen": chosen,
        "why": why,
        "improve": improve,
        "preferred": preferred,
        "channels": Channel.choices,
        "errors": errors,
        "recorded": response is not None and not errors,
        # The link asked for another score than the one kept: say which one counts.
        "kept_earlier": response is not None and link_score not in (None, response.score),
        "max_text": services.MAX_TEXT,
    }
    return render(request, "nps/survey.html", context, status=400 if errors else 200)


def _answered(invitation: Invitation) -> bool:
    try:
        invitation.response  # noqa: B018
    except Invitation.response.RelatedObjectDoesNotExist:
        return False
    return True


def _score(raw: str) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 <= value <= 10 else None


@login_not_required
@never_cache
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    """Thank you, with the premium when there is one."""
    if _over_limit(request):
        return render(request, "nps/too_many.html", status=429)
    invitation = services.invitation_for(token)
    if invitation is None or not _answered(invitation):
        return _closed(request, 404)
    with speaking_to(invitation.customer, request):
        return render(request, "nps/thanks.html", {"survey": invitation.survey})
