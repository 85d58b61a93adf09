"""The A/B test of a step's content: its variants' results, their editing, the promotion."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from customers import pages
from programs import variant_figures, variant_store, variants
from programs.models import Step, StepVariant

# What a form's "promote anyway" field says when it is set.
FORCED = {"1", "true", "on"}


class VariantForm(forms.Form):
    """One variant; a row with no label is left out."""

    label = forms.CharField(max_length=40, required=False)
    weight = forms.IntegerField(min_value=1, max_value=100, initial=1)
    email_subject = forms.CharField(max_length=200, required=False)
    email_body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    sms_body = forms.CharField(
        max_length=480, widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class WindowForm(forms.Form):
    response_window_days = forms.IntegerField(
        min_value=0,
        max_value=365,
        label="Response window (days)",
        help_text="A purchase this many days after a send counts as a response.",
    )


def _forms(
    request: HttpRequest, step: Step, every: list[StepVariant]
) -> tuple[WindowForm, list[VariantForm]]:
    data = request.POST if request.method == "POST" else None
    current = [v for v in every if v.stopped_at is None]
    rows = []
    for index in range(variants.MAX_VARIANTS):
        initial = {}
        if index < len(current):
            v = current[index]
            initial = {
                "label": v.label,
                "weight": v.weight,
                "email_subject": v.email_subject,
                "email_body": v.email_body,
                "sms_body": v.sms_body,
            }
        rows.append(VariantForm(data, prefix=f"v{index}", initial=initial or {"weight": 1}))
    window = WindowForm(data, initial={"response_window_days": step.response_window_days})
    return window, rows


def step_variants(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    """Each variant's sends, responses, rate and difference from the first; the editor."""
    pages.marketers_only(request)
    step = get_object_or_404(Step.objects.select_related("program"), pk=step_id, program_id=pk)
    every = list(step.variants.order_by("position"))
    window, rows = _forms(request, step, every)
    status = 200
    if request.method == "POST":
        if window.is_valid() and all(form.is_valid() for form in rows):
            chosen = [
                variant_store.VariantData(**form.cleaned_data)
                for form in rows
                if form.cleaned_data["label"].strip()
            ]
            try:
                variant_store.save_variants(step=step, rows=chosen)
            except ValidationError as error:
                window.add_error(None, error)
            else:
                Step.objects.filter(pk=step.pk).update(**window.cleaned_data)
                messages.success(
                    request, gettext("Variants of “%(name)s” saved.") % {"name": step.name}
                )
                return redirect("programs:step_variants", pk=pk, step_id=step.pk)
        status = 400
    context = {
        "program": step.program,
        "step": step,
        "test": variant_figures.variant_test(step, every),
        "window_form": window,
        "variant_forms": rows,
    }
    return render(request, "programs/variants.html", context, status=status)


@require_POST
def promote_variant(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    """Make the chosen variant the step's content; the others stop. Twice is a 409."""
    pages.marketers_only(request)
    step = get_object_or_404(Step, pk=step_id, program_id=pk)
    try:
        variant_id = int(request.POST.get("variant", ""))
    except ValueError:
        return HttpResponse(gettext("Say which variant to promote."), status=400)
    try:
        winner = variant_store.promote(
            step=step, variant_id=variant_id, force=request.POST.get("force") in FORCED
        )
    except variant_store.AlreadyPromoted as error:
        return HttpResponse(str(error), status=409)
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400)
    messages.success(
        request,
        gettext("“%(label)s” is now the content of “%(name)s”.")
        % {"label": winner.label, "name": step.name},
    )
    return redirect("programs:step_variants", pk=pk, step_id=step.pk)
