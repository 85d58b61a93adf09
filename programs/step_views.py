"""Step pages for marketers: add, edit, remove and move a program's steps, with a live preview
on every channel and a test send to the marketer's own mailbox."""

import smtplib

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from customers import pages
from customers import queries as customer_queries
from customers.models import Channel, Customer
from programs import content, queries, review, sandbox
from programs.forms import PreviewForm, StepForm
from programs.models import Program, Step

PREVIEW_CHANNELS = [Channel.EMAIL, Channel.SMS, Channel.LETTER, Channel.PHONE]


def _preview_customer(request: HttpRequest, data) -> Customer | None:
    """The customer the marketer chose to preview with, or the first one there is."""
    form = PreviewForm(data)
    customers = customer_queries.visible_customers(request.user)
    if form.is_valid():
        chosen = customers.filter(pk=form.cleaned_data["preview_customer"]).first()
        if chosen is not None:
            return chosen
    return customers.order_by("last_name", "first_name", "id").first()


def _preview_language(data) -> str | None:
    """The language the marketer chose to preview in; None is the customer's own."""
    form = PreviewForm(data)
    form.is_valid()
    return form.cleaned_data.get("preview_language") or None


def _previews(step: Step, customer: Customer | None, language: str | None = None) -> list[dict]:
    """The step rendered on every channel; a marketer's template error is shown, not raised."""
    if customer is None:
        return []
    previews = []
    for channel in PREVIEW_CHANNELS:
        preview = {"channel": channel, "label": Channel(channel).label, "error": ""}
        try:
            preview["message"] = content.message_for(
                touch=None, customer=customer, channel=channel, step=step, language=language
            )
        except content.ContentError as error:
            # Rendered in the customer's language; the marketer reads why in their own.
            preview["error"] = " ".join(error.said())
        previews.append(preview)
    return previews


def _step_page(
    request: HttpRequest,
    program: Program,
    step: Step,
    form: StepForm,
    *,
    status: int = 200,
    **extra,
) -> HttpResponse:
    customer = _preview_customer(request, request.POST or request.GET)
    choices = queries.preview_customers()
    if customer is not None and customer.pk not in {c.pk for c in choices}:
        choices.insert(0, customer)
    context = {
        "program": program,
        "step": step,
        "form": form,
        "preview_customer": customer,
        "preview_choices": choices,
        "previews": _previews(
            form.preview_step(program) if form.is_bound else step,
            customer,
            _preview_language(request.POST or request.GET),
        ),
        "preview_language": _preview_language(request.POST or request.GET) or "",
        "preview_languages": settings.LANGUAGES,
        "content_variables": content.documented_variables(),
        "content_filters": list(sandbox.FILTERS),
        **extra,
    }
    return render(request, "programs/step.html", context, status=status)


# The step editor previews the HTML e-mail in a sandboxed srcdoc frame, which inherits this
# page's policy, and e-mail HTML is styled inline; its scripts stay refused like everywhere.
EMAIL_PREVIEW_STYLES = csp_update({"style-src": ["'unsafe-inline'"]})


@EMAIL_PREVIEW_STYLES
def step_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a step at the end of the program."""
    pages.marketers_only(request)
    program = get_object_or_404(Program, pk=pk)
    return _step_form(request, program, Step(program=program))


@EMAIL_PREVIEW_STYLES
def step_edit(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    """Change a step's timing, channel and content, with a live preview."""
    pages.marketers_only(request)
    step = get_object_or_404(Step.objects.select_related("program"), pk=step_id, program_id=pk)
    return _step_form(request, step.program, step)


def _step_form(request: HttpRequest, program: Program, step: Step) -> HttpResponse:
    form = StepForm(request.POST or None, instance=step)
    if request.method == "POST" and form.is_valid():
        fresh = Step.objects.get(pk=step.pk) if step.pk else Step(program=program)
        try:
            saved = review.save_step(step=fresh, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("Step “%(name)s” saved.") % {"name": saved.name})
            return redirect("programs:edit", pk=program.pk)
    return _step_page(request, program, step, form, status=400 if form.errors else 200)


@require_POST
def step_delete(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    """Remove a step nothing was sent for."""
    pages.marketers_only(request)
    step = get_object_or_404(Step, pk=step_id, program_id=pk)
    try:
        removed = review.delete_step(step=step)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if removed:
            text = ngettext(
                "Step “%(name)s” removed with its %(removed)s scheduled touch.",
                "Step “%(name)s” removed with its %(removed)s scheduled touches.",
                removed,
            )
        else:
            text = gettext("Step “%(name)s” removed.")
        messages.success(request, text % {"name": step.name, "removed": removed})
    return redirect("programs:edit", pk=pk)


@require_POST
def step_move(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    """Move a step one place up or down."""
    pages.marketers_only(request)
    step = get_object_or_404(Step, pk=step_id, program_id=pk)
    review.move_step(step=step, up=request.POST.get("direction") == "up")
    return redirect(reverse("programs:edit", args=[pk]) + f"#step-{step.pk}")


def _unsaved_step(request: HttpRequest, program: Program) -> tuple[Step, StepForm]:
    step = Step(program=program)
    step_id = request.POST.get("step", "")
    if step_id.isdigit():
        step = Step.objects.filter(pk=step_id, program=program).first() or step
    return step, StepForm(request.POST, instance=step)


@require_POST
def step_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The posted (unsaved) step rendered for the chosen customer on every channel."""
    pages.marketers_only(request)
    program = get_object_or_404(Program, pk=pk)
    step, form = _unsaved_step(request, program)
    if not pages.is_htmx(request):
        return _step_page(request, program, step, form)
    customer = _preview_customer(request, request.POST)
    context = {
        "previews": _previews(
            form.preview_step(program), customer, _preview_language(request.POST)
        ),
        "preview_customer": customer,
    }
    return render(request, "programs/_preview.html", context)


@require_POST
def step_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    """E-mail the step's preview to the marketer themself, through the real mail backend."""
    pages.marketers_only(request)
    program = get_object_or_404(Program, pk=pk)
    step, form = _unsaved_step(request, program)
    customer = _preview_customer(request, request.POST)
    language = _preview_language(request.POST)
    result = _test_send(request, form.preview_step(program), customer, language)
    if pages.is_htmx(request):
        return render(request, "programs/_test_send.html", {"result": result})
    return _step_page(request, program, step, form, test_send=result)


def _test_send(
    request: HttpRequest, step: Step, customer: Customer | None, language: str | None = None
) -> dict:
    to = request.user.email
    if not to:
        return {
            "ok": False,
            "text": gettext("Your account has no e-mail address: add one to test."),
        }
    if customer is None:
        return {"ok": False, "text": gettext("There is no customer to render the e-mail for yet.")}
    try:
        message = content.message_for(
            touch=None, customer=customer, channel=Channel.EMAIL, step=step, language=language
        )
        send_mail(
            subject=f"[Test] {message.subject}",
            message=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[to],
            html_message=message.html,
        )
    except content.ContentError as error:
        why = " ".join(error.said())
        return {"ok": False, "text": gettext("The e-mail does not render: %(why)s") % {"why": why}}
    except (smtplib.SMTPException, OSError) as error:
        said = gettext("The mail server did not take it: %(error)s") % {"error": error}
        return {"ok": False, "text": said}
    said = gettext("Sent to %(to)s, rendered for %(customer)s.") % {"to": to, "customer": customer}
    return {"ok": True, "text": said}
