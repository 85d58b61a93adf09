"""The marketers' survey pages: the surveys and the NPS dashboard, editing a survey, and inviting
a segment of customers."""

import re
from collections import Counter

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from customers import pages
from customers import queries as customer_queries
from customers.filters import CustomerFilter
from nps import queries, score, services
from nps.forms import SurveyForm, VerbatimFilterForm
from nps.models import Survey

VERBATIMS_PAGE_SIZE = 20
# A segment is invited during the request; bigger ones should be narrowed (or sent by program).
INVITE_LIMIT = 5000


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _trend_chart(months: list[queries.Group]) -> dict:
    """What the trend chart draws: the NPS per month and its 95 % band."""
    return {
        "labels": [group.label for group in months],
        "nps": [_rounded(group.summary.nps) for group in months],
        "low": [_rounded(group.summary.low) for group in months],
        "high": [_rounded(group.summary.high) for group in months],
    }


@require_GET
def survey_list(request: HttpRequest) -> HttpResponse:
    """The surveys, and the NPS dashboard: trend with its band, distribution, groups, response
    rate, verbatims and the detractors still waiting for a call."""
    pages.marketers_only(request)
    responses = queries.responses_for(request.user)
    filters = VerbatimFilterForm(request.GET)
    wanted = filters.cleaned_data if filters.is_valid() else {}
    verbatims = queries.verbatims(
        category=wanted.get("category") or None,
        search=wanted.get("q") or None,
        responses_qs=responses,
        number=pages.page_number(request),
        size=VERBATIMS_PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("page", None)
    verbatim_context = {"verbatims": verbatims, "filters": filters, "query": query.urlencode()}
    if pages.is_htmx(request):
        return render(request, "nps/_verbatims.html", verbatim_context)
    board = queries.dashboard(responses_qs=responses)
    context = {
        **verbatim_context,
        "surveys": queries.survey_rows(),
        "board": board,
        "trend_chart": _trend_chart(board.months),
        "distribution_chart": {"labels": [str(n) for n in range(11)], "counts": board.distribution},
        "distribution_rows": list(enumerate(board.distribution)),
        "group_sections": [
            (by, title, board.groups[by])
            for by, title in (
                ("tier", "By tier"),
                ("audience", "By audience"),
                ("program", "By program"),
                ("owner", "By owner"),
            )
        ],
        "trustworthy_min": score.TRUSTWORTHY_MIN,
    }
    return render(request, "nps/surveys.html", context)


@require_http_methods(["GET", "POST"])
def survey_create(request: HttpRequest) -> HttpResponse:
    """A new survey."""
    pages.marketers_only(request)
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        survey = form.save()
        messages.success(request, f"Survey “{survey}” created.")
        return redirect("nps:list")
    status = 400 if form.errors else 200
    return render(request, "nps/survey_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a survey's wording, premium, channel question, validity, or pause it."""
    pages.marketers_only(request)
    survey = get_object_or_404(Survey, pk=pk)
    form = SurveyForm(request.POST or None, instance=survey)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Survey “{survey}” saved.")
        return redirect("nps:list")
    status = 400 if form.errors else 200
    context = {"form": form, "survey": survey}
    return render(request, "nps/survey_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def survey_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Invite the customers matching the customer list's filters (same GET parameters); those
    whose channel is e-mail and who agreed to it get the e-mail with the eleven score links."""
    pages.marketers_only(request)
    survey = get_object_or_404(Survey, pk=pk)
    filters = CustomerFilter(request.GET, queryset=customer_queries.visible_customers(request.user))
    valid = filters.is_valid()
    matching = filters.qs.count() if valid else 0
    if request.method == "POST" and valid and matching:
        if not survey.is_active:
            messages.error(request, "This survey is paused: activate it before inviting.")
        elif matching > INVITE_LIMIT:
            messages.error(
                request, f"At most {INVITE_LIMIT} customers at a time: narrow the filters."
            )
        else:
            try:
                outcome = services.invite(survey=survey, customers=filters.qs, by_email=True)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                emailed = services.queue_emails(outcome.invited)
                messages.success(request, _invite_report(outcome, emailed))
                return redirect("nps:list")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "survey": survey,
        "filters": filters,
        "matching": matching,
        "query": query.urlencode(),
        "limit": INVITE_LIMIT,
    }
    return render(request, "nps/invite.html", context, status=200 if valid else 400)


def _invite_report(outcome: services.InviteOutcome, emailed: int) -> str:
    """The message after inviting, e.g. "10 invited by e-mail. 3 skipped: 2 invited recently
    (fatigue window); 1 no consent to e-mail." """
    text = f"{emailed} invited by e-mail."
    # The reasons carry dates; summarised without them so alike reasons add up.
    reasons = Counter(
        re.sub(r" on \d{4}-\d{2}-\d{2}", " recently", skip["reason"]) for skip in outcome.skipped
    )
    if reasons:
        text += f" {len(outcome.skipped)} skipped: " + "; ".join(
            f"{count} {reason}" for reason, count in reasons.most_common()
        )
        text += "."
    return text
