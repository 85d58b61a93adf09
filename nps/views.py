"""The marketers' survey pages: the surveys and the NPS dashboard, editing a survey, and inviting
a segment of customers."""

from collections import Counter

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import pages
from customers import queries as customer_queries
from customers.sayings import translated
from nps import queries, score, services, tasks, theme_figures, theming
from nps.forms import SurveyForm, ThemeMergeForm, ThemeRenameForm, VerbatimFilterForm
from nps.models import Survey, Theme

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
    themes = theme_figures.current_themes()
    filters = VerbatimFilterForm(request.GET, themes=themes)
    wanted = filters.cleaned_data if filters.is_valid() else {}
    verbatims = queries.verbatims(
        category=wanted.get("category") or None,
        search=wanted.get("q") or None,
        theme=wanted.get("theme"),
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
        "theme_rows": theme_figures.theme_rows(responses_qs=responses, themes=themes),
    }
    return render(request, "nps/surveys.html", context)


def _themes_section() -> str:
    return reverse("nps:list") + "#themes-h"


def _refused(request: HttpRequest, errors: list[str]) -> HttpResponse:
    """A theme change that could not be made: why, and nothing changed."""
    return render(request, "nps/theme_refused.html", {"errors": errors}, status=400)


@require_POST
def themes_refit(request: HttpRequest) -> HttpResponse:
    """Fit the themes afresh over every answer, on a worker."""
    pages.marketers_only(request)
    transaction.on_commit(lambda: tasks.refit_themes_task.delay())
    messages.success(
        request, gettext("Themes are being fitted afresh; reload this page in a minute.")
    )
    return redirect(_themes_section())


@require_POST
def theme_rename(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a theme a marketer's name."""
    pages.marketers_only(request)
    theme = get_object_or_404(Theme, pk=pk, is_current=True)
    form = ThemeRenameForm(request.POST)
    if not form.is_valid():
        return _refused(request, [f"Name: {e}" for e in form.errors.get("name", [])])
    try:
        theming.rename_theme(theme=theme, name=form.cleaned_data["name"])
    except ValidationError as error:
        return _refused(request, error.messages)
    messages.success(request, gettext("Theme renamed “%(name)s”.") % {"name": theme.name})
    return redirect(_themes_section())


@require_POST
def theme_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Fold a theme into another."""
    pages.marketers_only(request)
    theme = get_object_or_404(Theme, pk=pk, is_current=True)
    form = ThemeMergeForm(request.POST)
    if not form.is_valid():
        return _refused(request, [f"Merge into: {e}" for e in form.errors.get("into", [])])
    try:
        into = theming.merge_themes(theme=theme, into=form.cleaned_data["into"])
    except ValidationError as error:
        return _refused(request, error.messages)
    messages.success(
        request,
        gettext("“%(name)s” merged into “%(name2)s”.") % {"name": theme.name, "name2": into.name},
    )
    return redirect(_themes_section())


@require_POST
def theme_split(request: HttpRequest, pk: int) -> HttpResponse:
    """Refit one theme's answers into two themes."""
    pages.marketers_only(request)
    theme = get_object_or_404(Theme, pk=pk, is_current=True)
    try:
        halves = theming.split_theme(theme=theme)
    except ValidationError as error:
        return _refused(request, error.messages)
    names = " and ".join(f"“{half.name}”" for half in halves)
    messages.success(
        request, gettext("“%(name)s” split into %(names)s.") % {"name": theme.name, "names": names}
    )
    return redirect(_themes_section())


@require_http_methods(["GET", "POST"])
def survey_create(request: HttpRequest) -> HttpResponse:
    """A new survey."""
    pages.marketers_only(request)
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        survey = form.save()
        messages.success(request, gettext("Survey “%(survey)s” created.") % {"survey": survey})
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
        messages.success(request, gettext("Survey “%(survey)s” saved.") % {"survey": survey})
        return redirect("nps:list")
    status = 400 if form.errors else 200
    context = {"form": form, "survey": survey}
    return render(request, "nps/survey_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@require_GET
def invite_choose(request: HttpRequest) -> HttpResponse:
    """From the customer list: choose the survey to invite the chosen customers to."""
    pages.marketers_only(request)
    surveys = Survey.objects.filter(is_active=True).order_by("name")
    return render(
        request, "nps/invite_choose.html", {"surveys": surveys, "query": request.GET.urlencode()}
    )


def survey_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Invite the customers matching the customer list's filters (same GET parameters); those
    whose channel is e-mail and who agreed to it get the e-mail with the eleven score links."""
    pages.marketers_only(request)
    survey = get_object_or_404(Survey, pk=pk)
    filters, segment = pages.chosen_customers(request)
    valid = filters.is_valid()
    matching = filters.qs.count() if valid else 0
    if request.method == "POST" and valid and matching:
        if not survey.is_active:
            messages.error(request, gettext("This survey is paused: activate it before inviting."))
        elif matching > INVITE_LIMIT:
            messages.error(
                request,
                gettext("At most %(limit)s customers at a time: narrow the filters.")
                % {"limit": INVITE_LIMIT},
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
        "segment": segment,
        "segments": customer_queries.segments_for(request.user),
    }
    return render(request, "nps/invite.html", context, status=200 if valid else 400)


# A fatigue skip in the report, without its date so that alike reasons add up.
RECENTLY = {
    services.ANSWERED_ON: gettext_noop("answered recently (fatigue window)"),
    services.INVITED_ON: gettext_noop("invited recently (fatigue window)"),
}


def _invite_report(outcome: services.InviteOutcome, emailed: int) -> str:
    """The message after inviting, e.g. "10 invited by e-mail. 3 skipped: 2 invited recently
    (fatigue window); 1 no consent to e-mail." """
    text = ngettext("%(count)s invited by e-mail.", "%(count)s invited by e-mail.", emailed) % {
        "count": emailed
    }
    reasons = Counter(
        gettext(RECENTLY[key])
        if (key := getattr(skip["reason"], "key", None)) in RECENTLY
        else translated(skip["reason"])
        for skip in outcome.skipped
    )
    if reasons:
        text += " " + ngettext(
            "%(count)s skipped: %(reasons)s.",
            "%(count)s skipped: %(reasons)s.",
            len(outcome.skipped),
        ) % {
            "count": len(outcome.skipped),
            "reasons": "; ".join(f"{count} {reason}" for reason, count in reasons.most_common()),
        }
    return text
