"""Project-wide pages: the health check and the home page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from bonding import health, services
from bonding.models import ApiToken


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """{"database": "ok", "broker": "ok"}, or 503 naming the part that does not answer."""
    problems = {"database": health.database_problem(), "broker": health.broker_problem()}
    body = {part: f"down: {problem}" if problem else "ok" for part, problem in problems.items()}
    status = 200 if all(problem is None for problem in problems.values()) else 503
    return JsonResponse(body, status=status)


def home(request: HttpRequest) -> HttpResponse:
    """The marketer's dashboard (its widgets arrive with the apps they read)."""
    return render(request, "bonding/home.html")


def api_tokens(request: HttpRequest) -> HttpResponse:
    """Create and revoke your own API tokens; a new key is shown once, never again."""
    new_key = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            token = get_object_or_404(ApiToken, pk=request.POST.get("token"), user=request.user)
            services.revoke_token(token=token)
            messages.success(request, f"Token “{token.name}” revoked.")
            return redirect("api_tokens")
        try:
            _, new_key = services.issue_token(user=request.user, name=request.POST.get("name", ""))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    tokens = ApiToken.objects.filter(user=request.user)
    response = render(request, "bonding/api_tokens.html", {"tokens": tokens, "new_key": new_key})
    response["Cache-Control"] = "no-store"  # the page may carry a key
    return response
