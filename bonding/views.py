"""Project-wide pages: the health check and the home page."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from bonding import health


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
