"""The marketers' page of reward rules: what events earn, organization-wide, and what the
program steps carrying a reward give (changed on the step)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from customers import pages, rewards
from customers.forms import GoodwillLimitForm, RewardRuleForm
from customers.models import RewardRule


@require_http_methods(["GET", "POST"])
def reward_rules(request: HttpRequest) -> HttpResponse:
    """The rules, and a form to add one."""
    pages.marketers_only(request)
    form = RewardRuleForm(request.POST or None)
    if request.method == "POST" and _saved(form, RewardRule()):
        messages.success(request, gettext("Reward rule added."))
        return redirect("customers:reward_rules")
    return _page(request, form=form)


@require_POST
def reward_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change what an event earns, or switch the rule on or off."""
    pages.marketers_only(request)
    rule = get_object_or_404(RewardRule.objects.exclude(event=RewardRule.Event.STEP_SENT), pk=pk)
    form = RewardRuleForm(request.POST, instance=RewardRule.objects.get(pk=pk))
    if _saved(form, rule):
        messages.success(request, gettext("Reward rule saved."))
        return redirect("customers:reward_rules")
    return _page(request, form=RewardRuleForm(), edit_form=form, editing=rule.pk)


@require_POST
def reward_rule_off(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop a rule granting (a step's too); what it granted stays."""
    pages.marketers_only(request)
    rule = get_object_or_404(RewardRule, pk=pk)
    rewards.switch_off_rule(rule=rule)
    messages.success(request, gettext("Reward rule switched off."))
    return redirect("customers:reward_rules")


@require_POST
def goodwill_limit(request: HttpRequest) -> HttpResponse:
    """Set how much goodwill an account manager grants at most."""
    pages.marketers_only(request)
    form = GoodwillLimitForm(request.POST)
    if form.is_valid():
        rewards.set_goodwill_limit(limit=form.cleaned_data["goodwill_limit"], by=request.user)
        messages.success(request, gettext("Goodwill limit saved."))
        return redirect("customers:reward_rules")
    return _page(request, form=RewardRuleForm(), limit_form=form)


def _page(request: HttpRequest, **context) -> HttpResponse:
    # The organization's rules, then those steps carry, with their steps and programs: 2 reads.
    rules = RewardRule.objects.prefetch_related(Prefetch("steps", queryset=_steps())).order_by(
        "event", "-active", "id"
    )
    forms = [context.get(name) for name in ("form", "edit_form", "limit_form")]
    status = 400 if any(f.errors for f in forms if f) else 200
    context.setdefault(
        "limit_form", GoodwillLimitForm(initial={"goodwill_limit": rewards.goodwill_limit()})
    )
    context["organization_rules"] = [r for r in rules if r.event != RewardRule.Event.STEP_SENT]
    context["step_rules"] = [r for r in rules if r.event == RewardRule.Event.STEP_SENT and r.active]
    return render(request, "customers/reward_rules.html", context, status=status)


def _steps():
    # programs.Step, reached through the relation (customers does not import programs).
    return RewardRule.steps.rel.related_model.objects.select_related("program").order_by("pk")


def _saved(form: RewardRuleForm, rule: RewardRule) -> bool:
    if not form.is_valid():
        return False
    try:
        rewards.save_rule(
            rule=rule,
            event=form.cleaned_data["event"],
            value=form.cleaned_data["value"],
            unit=form.cleaned_data["unit"],
            active=form.cleaned_data["active"],
        )
    except ValidationError as error:
        form.add_error(None, error)
        return False
    return True
