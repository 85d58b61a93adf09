"""The program's Lift page and its CSV: treated against held out, per outcome; thin views
over programs.lift_figures."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from customers import pages
from customers.exports import csv_stream
from programs import lift_figures, lift_tally
from programs.models import Program

WINDOW_CHOICES = lift_tally.TALLIED_WINDOWS
# How each outcome is shown: (label, times, unit): rates in points, spend as money, NPS points.
SHOWN = {
    "purchase_rate": (_("Purchase rate"), 100, "pts"),
    "spend_per_customer": (_("Spend per customer"), 1, ""),
    "promoted_rate": (_("Moved up the ladder"), 100, "pts"),
    "churn_rate": (_("High churn risk"), 100, "pts"),
    "referral_rate": (_("Referred someone"), 100, "pts"),
    "nps": ("NPS", 1, "pts"),
}


def _window(request: HttpRequest) -> int | None:
    """The window asked for in days, or None when it is not a number from 1 to the maximum."""
    text = request.GET.get("window", str(lift_figures.DEFAULT_WINDOW_DAYS))
    if not text.isdigit() or not 1 <= int(text) <= lift_figures.MAX_WINDOW_DAYS:
        return None
    return int(text)


def _bad_window() -> HttpResponse:
    return HttpResponse(
        f"window is a number of days from 1 to {lift_figures.MAX_WINDOW_DAYS}.",
        status=400,
        content_type="text/plain",
    )


def _row(outcome: lift_figures.Outcome) -> dict:
    """An outcome as the page shows it, with the chart's positions (percent of its width)."""
    label, times, unit = SHOWN[outcome.metric]

    def shown(value: float | None) -> float | None:
        return None if value is None else value * times

    row = {
        "outcome": outcome,
        "label": label,
        "unit": unit,
        "unit_label": _("pts") if unit == "pts" else "",
        # the figures keep English notes (the CSV and the cache); the page shows them translated
        "note": gettext(outcome.note),
        "method": gettext(outcome.method) if outcome.method else "",
        "treated": shown(outcome.treated),
        "control": shown(outcome.control),
        "difference": shown(outcome.difference),
        "low": shown(outcome.ci_low),
        "high": shown(outcome.ci_high),
    }
    if outcome.ci_low is not None and outcome.ci_high is not None:
        # Zero in the middle; the wider side of the interval reaches 45 % either way.
        span = max(abs(outcome.ci_low), abs(outcome.ci_high)) or 1.0
        row["x_low"] = 50 + 45 * outcome.ci_low / span
        row["x_high"] = 50 + 45 * outcome.ci_high / span
        row["x_width"] = row["x_high"] - row["x_low"]
        row["x_point"] = 50 + 45 * (outcome.difference or 0.0) / span
    return row


@require_GET
def lift_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Whether the program works: treated against held out on each outcome, with intervals."""
    pages.marketers_only(request)
    program = get_object_or_404(Program, pk=pk)
    window = _window(request)
    if window is None:
        return _bad_window()
    figures, computed_at = lift_tally.lift_of(program, window_days=window)
    context = {
        "computed_at": computed_at,
        "program": program,
        "figures": figures,
        "rows": [_row(outcome) for outcome in figures.outcomes],
        "window": window,
        "windows": sorted({*WINDOW_CHOICES, window}),
        "minimum": lift_figures.lift.MINIMUM_PER_GROUP,
    }
    return render(request, "programs/lift.html", context)


@require_GET
def lift_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The Lift page as CSV: one line per outcome."""
    pages.marketers_only(request)
    program = get_object_or_404(Program, pk=pk)
    window = _window(request)
    if window is None:
        return _bad_window()
    figures, _ = lift_tally.lift_of(program, window_days=window)
    header = [
        "metric",
        "window_days",
        "treated_customers",
        "control_customers",
        "treated",
        "control",
        "difference",
        "ci_low",
        "ci_high",
        "state",
        "method",
        "note",
    ]
    rows = [
        [
            o.metric,
            window,
            figures.treated_customers,
            figures.control_customers,
            *("" if v is None else f"{v:.6g}" for v in (o.treated, o.control, o.difference)),
            *("" if v is None else f"{v:.6g}" for v in (o.ci_low, o.ci_high)),
            o.state,
            o.method,
            o.note,
        ]
        for o in figures.outcomes
    ]
    response = HttpResponse(
        "".join(csv_stream([header, *rows])), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="program-{program.pk}-lift.csv"'
    return response
