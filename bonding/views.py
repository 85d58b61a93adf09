"""Project-wide pages: the health check, the home page and the sign-in lockout."""

import csv
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from bonding import health, queries, services
from bonding.forms import RevokeTokenForm
from bonding.models import ApiToken
from customers import pages
from customers import queries as customer_queries
from customers.filters import owners
from customers.models import Audience
from programs import lift_tally
from programs import queries as program_queries
from webhooks import queries as webhook_queries


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """{"database": "ok", "broker": "ok"}, or 503 naming the part that does not answer."""
    problems = {"database": health.database_problem(), "broker": health.broker_problem()}
    body = {part: f"down: {problem}" if problem else "ok" for part, problem in problems.items()}
    status = 200 if all(problem is None for problem in problems.values()) else 503
    return JsonResponse(body, status=status)


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the real one."""
    return redirect(static("favicon.svg"))


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return ngettext(
        "Too many failed sign-ins for this username or from this address. "
        "Try again in %(minutes)s minute.",
        "Too many failed sign-ins for this username or from this address. "
        "Try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in: JSON for the API, a page for people."""
    message = lockout_message()
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "errors": {}}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The site's own 400 page, in its layout; the reason the view gave is written for people
    (which parameter, what it takes)."""
    reason = str(exception) if isinstance(exception, BadRequest) else ""
    return render(request, "400.html", {"reason": reason}, status=400)


def _scope(request: HttpRequest) -> queries.Scope:
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    audience = request.GET.get("audience", "")
    return queries.Scope(
        user=request.user,
        days=days if days in queries.PERIODS else 30,
        owner=request.GET.get("owner", "")[:150],
        audience=audience if audience in Audience.values else "",
        segment=queries.dashboard_segment(request.user),
    )


def home(request: HttpRequest) -> HttpResponse:
    """The marketer's dashboard; htmx asks for the widgets alone when a filter changes."""
    scope = _scope(request)
    context = {
        "board": queries.dashboard(scope),
        "deliverability": program_queries.deliverability(
            since=queries.window_start(scope, scope.days)
        ),
        "dropping": customer_queries.dropping_count(
            request.user, owner_id=scope.owner_id, audience=scope.audience
        ),
        "periods": queries.PERIODS,
        "owners": owners() if customer_queries.sees_everyone(request.user) else [],
        "audiences": Audience.choices,
        "segments": customer_queries.segments_for(request.user).only("id", "name", "owner"),
        "query": request.GET.urlencode(),
        # Programs against their holdouts, organization-wide: for those who see everyone.
        "lift_ranking": lift_tally.dashboard_ranking()
        if customer_queries.sees_everyone(request.user)
        else None,
    }
    if customer_queries.sees_everyone(request.user):
        context["global_lift"], context["global_lift_at"] = lift_tally.global_lift_of()
    if pages.is_htmx(request):
        return render(request, "bonding/_widgets.html", context)
    context["disabled_webhooks"] = webhook_queries.disabled_endpoints(request.user)
    return render(request, "bonding/home.html", context)


@require_POST
def dashboard_audience(request: HttpRequest) -> HttpResponse:
    """Remember the segment (or everyone) the user's dashboard is computed over."""
    chosen = request.POST.get("segment", "").strip()
    segment = None
    if chosen:
        if not chosen.isdigit():
            raise BadRequest("segment: not a segment id.")
        segment = customer_queries.segments_for(request.user).filter(pk=int(chosen)).first()
        if segment is None:
            raise BadRequest("segment: no such segment of yours or shared with you.")
    services.choose_dashboard_audience(user=request.user, segment=segment)
    # Back to the dashboard with the period, owner and audience it showed.
    shown = QueryDict(request.POST.get("query", ""))
    kept = {name: shown[name] for name in ("days", "owner", "audience") if shown.get(name)}
    return redirect(f"/?{urlencode(kept)}" if kept else "/")


EXPORTS = {
    "pyramid": (
        "tier",
        "customers",
        "promoted_in_30d",
        "demoted_out_30d",
        "lifetime_value",
        "share_of_wallet",
    ),
    "nps": ("month", "nps", "margin_of_error", "responses", "promoters", "passives", "detractors"),
    "programs": ("program", "step", "sent", "responded"),
    "top": ("customer_id", "name", "owner", "tier", "lifetime_value", "churn_risk"),
    "at_risk": ("customer_id", "name", "owner", "tier", "lifetime_value", "churn_risk", "reasons"),
}


def export(request: HttpRequest, widget: str) -> HttpResponse:
    """A widget's rows as CSV, for the same scope as the page."""
    if widget not in EXPORTS:
        raise Http404
    board = queries.dashboard(_scope(request))
    rows = _export_rows(board, widget)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dashboard-{widget}.csv"'
    writer = csv.writer(response)
    writer.writerow(EXPORTS[widget])
    for row in rows:
        writer.writerow([_safe_cell(cell) for cell in row])
    return response


def _export_rows(board: queries.Dashboard, widget: str):
    if widget == "pyramid":
        return [
            (
                r.tier.name,
                r.count,
                r.promoted_in,
                r.demoted_out,
                r.lifetime_value,
                r.share_of_wallet,
            )
            for r in board.pyramid
        ]
    if widget == "nps":
        return [
            (m, s.nps, s.margin_of_error, s.responses, s.promoters, s.passives, s.detractors)
            for m, s in board.nps.trend
        ]
    if widget == "programs":
        return [
            (f.program.name, s["step"].name, s["sent"], s["responded"])
            for f in board.programs.funnels
            for s in f.steps
        ]
    customers = board.value.top if widget == "top" else board.value.at_risk
    return [
        (
            c.pk,
            str(c),
            c.owner.username if c.owner else "",
            c.tier.name if c.tier else "",
            c.lifetime_value,
            c.churn_risk,
            *(["; ".join(c.churn_reasons)] if widget == "at_risk" else []),
        )
        for c in customers
    ]


def _safe_cell(value) -> str:
    """Cells a spreadsheet would run as a formula are prefixed with a quote (CSV injection)."""
    if isinstance(value, int | float | Decimal):
        return str(value)  # numbers are data, even negative ones
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def api_tokens(request: HttpRequest) -> HttpResponse:
    """Create and revoke your own API tokens; a new key is shown once, never again."""
    new_key = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            chosen = RevokeTokenForm(request.POST, user=request.user)
            if not chosen.is_valid():
                raise Http404(gettext("No such token of yours."))
            token = chosen.cleaned_data["token"]
            services.revoke_token(token=token)
            messages.success(request, gettext("Token “%(name)s” revoked.") % {"name": token.name})
            return redirect("api_tokens")
        try:
            _, new_key = services.issue_token(user=request.user, name=request.POST.get("name", ""))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    tokens = ApiToken.objects.filter(user=request.user)
    response = render(request, "bonding/api_tokens.html", {"tokens": tokens, "new_key": new_key})
    response["Cache-Control"] = "no-store"  # the page may carry a key
    return response
