"""Program pages for marketers (list, editor, enrolling, funnel, failures, letters); a step's
pages (editor, preview, test send) are programs/step_views.py."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_POST

from customers import pages
from customers import queries as customer_queries
from programs import queries, review
from programs.enrollment import EnrollOutcome, enroll
from programs.forms import ProgramForm
from programs.models import LetterBatch, Program, Touch
from programs.responses import mark_letters_posted
from programs.segment_pages import follow_chosen_segment
from programs.tasks import enroll_segment_task

PAGE_SIZE = 50
# Up to this many customers are enrolled during the request; more go to a Celery task.
DIRECT_ENROLL_LIMIT = 500
ENROLL_CHUNK = 5000
PROGRESS_POLL_FOR = timedelta(minutes=15)


def program_list(request: HttpRequest) -> HttpResponse:
    """Every program with its active enrollments, this week's sends and what needs attention."""
    pages.marketers_only(request)
    programs = queries.program_list()
    context = {
        "programs": [p for p in programs if not p.for_event],
        "event_programs": [p for p in programs if p.for_event],
        "due": queries.due_by_channel(),
    }
    return render(request, "programs/list.html", context)


def program_create(request: HttpRequest) -> HttpResponse:
    """A new program: its settings first, then its steps."""
    pages.marketers_only(request)
    form = ProgramForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            program = review.save_program(program=Program(), data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, gettext("%(program)s created. Add its steps below.") % {"program": program}
            )
            return redirect("programs:edit", pk=program.pk)
    status = 400 if form.errors else 200
    return render(request, "programs/create.html", {"form": form}, status=status)


def program_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The program editor: its settings and its steps in order."""
    pages.marketers_only(request)
    program = queries.program_for(pk)
    form = ProgramForm(request.POST or None, instance=program)
    if request.method == "POST" and form.is_valid():
        try:
            review.save_program(program=Program.objects.get(pk=pk), data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("Settings saved."))
            return redirect("programs:edit", pk=pk)
    status = 400 if form.errors else 200
    context = {"program": program, "form": form, "steps": queries.steps_of(program)}
    return render(request, "programs/edit.html", context, status=status)


@require_POST
def program_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a program nothing was sent for, after a confirmation that states what ends."""
    pages.marketers_only(request)
    program = get_object_or_404(Program, pk=pk)
    impact = queries.program_deletion(program)
    if impact.started_touches:
        messages.error(
            request,
            ngettext(
                "%(count)s touch of this program was sent or is in flight: the program stays so "
                "its history does. Pause it instead (untick Active).",
                "%(count)s touches of this program were sent or are in flight: the program stays "
                "so its history does. Pause it instead (untick Active).",
                impact.started_touches,
            )
            % {"count": impact.started_touches},
        )
        return redirect("programs:edit", pk=pk)
    if request.POST.get("confirmed") != "yes":
        return render(request, "confirm.html", _program_deletion_confirmation(program, impact))
    try:
        ended, removed = review.delete_program(program=program)
    except ValidationError as error:  # a touch went out between the two posts
        messages.error(request, " ".join(error.messages))
        return redirect("programs:edit", pk=pk)
    messages.success(
        request,
        ngettext(
            "Program “%(name)s” deleted: %(ended)s enrollment ended, ",
            "Program “%(name)s” deleted: %(ended)s enrollments ended, ",
            ended,
        )
        % {"name": program.name, "ended": ended}
        + ngettext(
            "%(removed)s scheduled touch cancelled.",
            "%(removed)s scheduled touches cancelled.",
            removed,
        )
        % {"removed": removed},
    )
    return redirect("programs:list")


def _program_deletion_confirmation(program: Program, impact: queries.ProgramDeletion) -> dict:
    active, scheduled = impact.active_enrollments, impact.scheduled_touches
    return {
        "title": f"Delete the program “{program.name}”?",
        "consequences": [
            f"Its {active} active enrollment{'s' * (active != 1)} end"
            f"{'s' * (active == 1)}: those customers get nothing more from it.",
            f"Its {scheduled} scheduled touch{'es' * (scheduled != 1)} "
            f"{'is' if scheduled == 1 else 'are'} cancelled.",
            "Its steps and their content are deleted with it.",
        ],
        "action": reverse("programs:delete", args=[program.pk]),
        "fields": [],
        "confirm_label": f"Delete {program.name}",
        "cancel_url": reverse("programs:edit", args=[program.pk]),
    }


def enroll_choose(request: HttpRequest) -> HttpResponse:
    """From the customer list: choose the program to enroll the filtered segment in."""
    pages.marketers_only(request)
    query = request.GET.urlencode()
    programs = Program.objects.filter(is_active=True).order_by("name")
    return render(request, "programs/enroll_choose.html", {"programs": programs, "query": query})


def enroll_segment(request: HttpRequest, pk: int) -> HttpResponse:
    """Enroll the customers matching the customer list's filters (same GET parameters)."""
    pages.marketers_only(request)
    program = get_object_or_404(Program, pk=pk)
    filters, segment = pages.chosen_customers(request)
    valid = filters.is_valid()
    matching = filters.qs.count() if valid else 0
    if request.method == "POST" and segment and request.POST.get("continuously"):
        return follow_chosen_segment(request, program, segment)
    if request.method == "POST" and valid and matching:
        if not program.is_active:
            messages.error(
                request, gettext("This program is paused: activate it before enrolling.")
            )
        elif matching <= DIRECT_ENROLL_LIMIT:
            return _enroll_now(request, program, filters.qs)
        else:
            return _enroll_later(request, program, filters.qs)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "program": program,
        "filters": filters,
        "matching": matching,
        "query": query.urlencode(),
        "direct_limit": DIRECT_ENROLL_LIMIT,
        "segment": segment,
        "segments": customer_queries.segments_for(request.user),
    }
    return render(request, "programs/enroll.html", context, status=200 if valid else 400)


def _enroll_now(request: HttpRequest, program: Program, customers) -> HttpResponse:
    try:
        outcome = enroll(program=program, customers=customers, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(request.get_full_path())
    text = enroll_report(outcome)
    messages.success(request, text)
    return redirect("programs:funnel", pk=program.pk)


def enroll_report(outcome: EnrollOutcome) -> str:
    """What an enrollment did, e.g. "5 enrolled. Touches: 3 scheduled; 2 skipped (2 no consent
    on any of the step's channels); 5 held (5 wait for a contract to renew). 1 not enrolled
    (1 already enrolled)." """

    def grouped(counts: Counter[str]) -> str:
        return ", ".join(
            f"{n} {reason.rstrip('.')[:1].lower()}{reason.rstrip('.')[1:]}"
            for reason, n in counts.most_common()
        )

    touches = [
        ngettext("%(count)s scheduled", "%(count)s scheduled", outcome.scheduled)
        % {"count": outcome.scheduled}
    ]
    if skipped := outcome.touches_skipped:
        touches.append(
            ngettext(
                "%(count)s skipped (%(reasons)s)",
                "%(count)s skipped (%(reasons)s)",
                skipped.total(),
            )
            % {"count": skipped.total(), "reasons": grouped(skipped)}
        )
    if held := outcome.touches_held:
        touches.append(
            ngettext("%(count)s held (%(reasons)s)", "%(count)s held (%(reasons)s)", held.total())
            % {"count": held.total(), "reasons": grouped(held)}
        )
    if outcome.touches_held_out:
        touches.append(
            ngettext(
                "%(count)s held for the control group",
                "%(count)s held for the control group",
                outcome.touches_held_out,
            )
            % {"count": outcome.touches_held_out}
        )
    enrolled = ngettext("%(count)s enrolled", "%(count)s enrolled", outcome.enrolled) % {
        "count": outcome.enrolled
    }
    if outcome.held_out:
        enrolled += ngettext(
            ", %(count)s held out as control", ", %(count)s held out as control", outcome.held_out
        ) % {"count": outcome.held_out}
    text = gettext("%(enrolled)s. Touches: %(touches)s.") % {
        "enrolled": enrolled,
        "touches": "; ".join(touches),
    }
    if outcome.skipped:
        reasons = Counter(skip["reason"] for skip in outcome.skipped)
        text += " " + ngettext(
            "%(count)s not enrolled (%(reasons)s).",
            "%(count)s not enrolled (%(reasons)s).",
            len(outcome.skipped),
        ) % {"count": len(outcome.skipped), "reasons": grouped(reasons)}
    return text


def _enroll_later(request: HttpRequest, program: Program, customers) -> HttpResponse:
    """Queue the segment in chunks; progress is the count of enrollments made since now."""
    started = timezone.now()
    ids = list(customers.values_list("pk", flat=True))
    for start in range(0, len(ids), ENROLL_CHUNK):
        chunk = ids[start : start + ENROLL_CHUNK]
        transaction.on_commit(
            lambda chunk=chunk: enroll_segment_task.delay(program.pk, chunk, request.user.pk)
        )
    url = reverse("programs:enroll_progress", args=[program.pk])
    return redirect(f"{url}?since={started.timestamp():.6f}&total={len(ids)}")


@require_GET
def enroll_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """A queued segment's progress: enrollments of the program made since it was queued."""
    pages.marketers_only(request)
    program = get_object_or_404(Program, pk=pk)
    try:
        since = datetime.fromtimestamp(float(request.GET.get("since", "")), tz=UTC)
        total = max(int(request.GET.get("total", "0")), 0)
    except (ValueError, OverflowError, OSError):
        return HttpResponse("since and total are needed.", status=400, content_type="text/plain")
    enrolled = queries.enrolled_since(program, since)
    done = enrolled >= total
    context = {
        "program": program,
        "enrolled": enrolled,
        "total": total,
        "done": done,
        "polling": not done and timezone.now() - since < PROGRESS_POLL_FOR,
        "poll_url": request.get_full_path(),
    }
    template = "programs/_progress.html" if pages.is_htmx(request) else "programs/progress.html"
    return render(request, template, context)


@require_GET
def funnel(request: HttpRequest, pk: int) -> HttpResponse:
    """Per step: how many touches are scheduled, sent, failed, skipped and answered."""
    pages.marketers_only(request)
    program = get_object_or_404(Program, pk=pk)
    rows = queries.funnel(program)
    context = {
        "program": program,
        "rows": rows,
        "widest": max((row.scheduled + row.waiting + row.sent for row in rows), default=0),
        "enrollments": queries.enrollment_counts(program),
        "due": queries.due_by_channel(program=program),
    }
    return render(request, "programs/funnel.html", context)


@require_GET
def failures(request: HttpRequest) -> HttpResponse:
    """Failed touches and those to check by hand, newest first, to retry or dismiss."""
    pages.marketers_only(request)
    program = None
    if request.GET.get("program", "").isdigit():
        program = get_object_or_404(Program, pk=request.GET["program"])
    page = queries.failures(program=program, number=pages.page_number(request), size=PAGE_SIZE)
    context = {
        "page": page,
        "program": program,
        "query": f"program={program.pk}" if program else "",
        "programs": Program.objects.only("id", "name"),
    }
    return render(request, "programs/failures.html", context)


@require_POST
def touch_retry(request: HttpRequest, touch_id: int) -> HttpResponse:
    """Put a failed or review touch back in the queue, due now."""
    pages.marketers_only(request)
    touch = get_object_or_404(Touch, pk=touch_id)
    try:
        retried = review.retry_touch(touch=touch)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if retried:
            messages.success(
                request, gettext("Touch #%(pk)s is scheduled again, due now.") % {"pk": touch.pk}
            )
        else:
            messages.warning(
                request,
                gettext("Touch #%(pk)s was already retried or dismissed.") % {"pk": touch.pk},
            )
    return pages.back_to(request, reverse("programs:failures"))


@require_POST
def touch_dismiss(request: HttpRequest, touch_id: int) -> HttpResponse:
    """Give up on a failed or review touch."""
    pages.marketers_only(request)
    touch = get_object_or_404(Touch, pk=touch_id)
    if review.dismiss_touch(touch=touch):
        messages.success(request, gettext("Touch #%(pk)s dismissed.") % {"pk": touch.pk})
    else:
        messages.warning(
            request, gettext("Touch #%(pk)s was already retried or dismissed.") % {"pk": touch.pk}
        )
    return pages.back_to(request, reverse("programs:failures"))


@require_GET
def letter_batches(request: HttpRequest) -> HttpResponse:
    """Letter batches to print and post, newest first."""
    pages.marketers_only(request)
    page = queries.letter_batches(number=pages.page_number(request))
    return render(request, "programs/letters.html", {"page": page})


@require_GET
def letter_batch(request: HttpRequest, pk: int) -> HttpResponse:
    """One batch as a printable page: one letter per sheet."""
    pages.marketers_only(request)
    batch = get_object_or_404(LetterBatch, pk=pk)
    context = {
        "batch": batch,
        "letters": queries.letters_of(batch),
        "organization_address": [
            line.strip() for line in settings.ORGANIZATION_ADDRESS.split(",") if line.strip()
        ],
    }
    return render(request, "programs/letter_batch.html", context)


@require_POST
def letter_batch_posted(request: HttpRequest, pk: int) -> HttpResponse:
    """The batch was printed and posted: its letters count as sent."""
    pages.marketers_only(request)
    batch = get_object_or_404(LetterBatch, pk=pk)
    if batch.posted_at:
        messages.warning(request, gettext("This batch was already marked posted."))
    else:
        done = mark_letters_posted(batch=batch)
        messages.success(
            request,
            ngettext(
                "Batch marked posted: %(done)s letter sent.",
                "Batch marked posted: %(done)s letters sent.",
                done,
            )
            % {"done": done},
        )
    return redirect("programs:letters")
