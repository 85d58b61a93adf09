"""`/c/<token>/`: a tracked link of an e-mail (programs/clicks.py). The click is a response of
its touch; the customer goes on to the link the message held, and nowhere else."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from programs import clicks
from programs.responses import record_click


@login_not_required
@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str) -> HttpResponse:
    """Record the click (GET only: link scanners' HEAD requests are nobody clicking) and
    redirect to the URL signed into the token; an unknown token is a friendly 404."""
    target = clicks.target_of(token)
    if target is None:
        response: HttpResponse = render(request, "programs/click_unknown.html", status=404)
    else:
        touch_id, url = target
        if request.method == "GET":
            record_click(touch_id=touch_id)
        response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response
