"""Customer pages: the list, the 360 page and its quick actions, My day, accounts, the ladder."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.db import transaction
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_POST

from customers import activity, contracts, forms, pages, placement, queries, records, rewards
from customers import merge as merging
from customers import tiers as tier_admin
from customers.filters import CustomerFilter
from customers.models import Account, Complaint, Customer, FollowUp, Referral, Reward, Tier

LIST_PAGE_SIZE = 50


def customer_list(request: HttpRequest) -> HttpResponse:
    """Every customer the user may see: search, filter, sort, page."""
    filters = CustomerFilter(request.GET, queryset=queries.visible_customers(request.user))
    if filters.is_valid():
        groups = [queries.customer_rows(group) for group in filters.best_match_groups()]
        total = queries.bounded_count(filters.qs)
    else:
        groups, total = [filters.qs.none()], 0
    page = queries.page_across(groups, number=pages.page_number(request), size=LIST_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "customers/list.html",
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "sees_everyone": queries.sees_everyone(request.user),
            "best_match": len(groups) > 1,
            "total": total,
            "count_bound": queries.COUNT_BOUND,
            "sorts": sort_links(query),
            "show": dict.fromkeys(queries.list_columns(request.user), True),
        },
    )


# The list's sorts a column header offers, and the way a first click sorts: the biggest values
# first, names from A.
HEADER_SORTS = {
    "name": "name",
    "lifetime_value": "-lifetime_value",
    "predicted_value_12m": "-predicted_value_12m",
    "churn_risk": "-churn_risk",
}


def sort_links(query) -> dict[str, dict[str, str]]:
    """For each sortable column: the query that sorts by it (a second click turns it around)
    and how it is sorted now ("ascending", "descending" or "none", as aria-sort says)."""
    current = query.get("ordering", "")
    links = {}
    for field, first in HEADER_SORTS.items():
        if current.lstrip("-") == field:
            state = "descending" if current.startswith("-") else "ascending"
            wanted = field if current.startswith("-") else f"-{field}"
        else:
            state, wanted = "none", first
        changed = query.copy()
        changed["ordering"] = wanted
        links[field] = {"query": changed.urlencode(), "state": state}
    return links


def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The 360 page: profile, ladder, value, open work and the timeline."""
    customer = queries.customer_for(request.user, pk)
    timeline = queries.timeline(customer, number=pages.page_number(request))
    if pages.is_htmx(request) and request.GET.get("page"):
        return render(
            request, "customers/_timeline_page.html", {"customer": customer, "timeline": timeline}
        )
    return render(request, "customers/detail.html", _detail_context(request, customer, timeline))


def _detail_context(request: HttpRequest, customer, timeline=None, **forms_given) -> dict[str, Any]:
    tiers = list(Tier.objects.order_by("rank"))
    context = {
        "customer": customer,
        "timeline": timeline or queries.timeline(customer),
        "tier_history": queries.tier_history(customer),
        "ladder_status": queries.ladder_status(customer, tiers=tiers),
        "consents": queries.latest_consents(customer),
        "follow_ups": queries.open_follow_ups(customer),
        "complaints": queries.open_complaints(customer),
        "referrals": queries.referrals_of(customer),
        "value_answers": queries.value_answers_of(customer),
        "sees_everyone": queries.sees_everyone(request.user),
        "tiers": tiers,
        "interaction_form": forms.InteractionForm(),
        "complaint_form": forms.ComplaintForm(),
        "purchase_form": forms.PurchaseForm(),
        "contract_form": forms.ContractForm(),
        "referral_form": forms.ReferralForm(),
        "reward_form": forms.RewardForm(),
        "redeem_form": forms.RedeemForm(),
        "rewards": queries.reward_ledger(customer),
        "tier_form": forms.TierForm(initial={"tier": customer.tier_id}),
    }
    context.update(forms_given)
    return context


def customer_create(request: HttpRequest) -> HttpResponse:
    """A new customer; an account manager becomes its owner."""
    pages.keepers_only(request)
    may_assign = queries.sees_everyone(request.user)
    form = forms.CustomerForm(request.POST or None, may_assign_owner=may_assign)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if not may_assign:
            data["owner"] = request.user
        try:
            customer = records.create_customer(data=data, by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("%(customer)s was added.") % {"customer": customer})
            return redirect("customers:detail", pk=customer.pk)
    status = 400 if form.errors else 200
    return render(
        request, "customers/form.html", {"form": form, "title": "New customer"}, status=status
    )


def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a customer's profile and consents."""
    customer = queries.customer_for(request.user, pk)
    may_assign = queries.sees_everyone(request.user)
    form = forms.CustomerForm(request.POST or None, instance=customer, may_assign_owner=may_assign)
    # The form writes onto the instance while validating; the service saves from a fresh copy.
    if request.method == "POST" and form.is_valid():
        fresh = queries.customer_for(request.user, pk)
        try:
            records.update_customer(customer=fresh, data=form.cleaned_data, by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("Saved."))
            return redirect("customers:detail", pk=pk)
    status = 400 if form.errors else 200
    return render(
        request,
        "customers/form.html",
        {"form": form, "title": f"Edit {customer}", "customer": customer},
        status=status,
    )


@require_POST
def customer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Soft delete (marketers and admins only)."""
    pages.marketers_only(request)
    customer = queries.customer_for(request.user, pk)
    records.delete_customer(customer=customer, by=request.user)
    messages.success(request, gettext("%(customer)s was deleted.") % {"customer": customer})
    return redirect("customers:list")


def _quick_action(
    request: HttpRequest,
    pk: int,
    *,
    form_class: type[Form],
    form_name: str,
    template: str,
    write: Callable[..., Any],
    success: str,
) -> HttpResponse:
    """Handle one of the 360 page's small forms, with htmx or without JavaScript.

    With htmx the answer is the fresh form plus the new timeline entry swapped in out of band;
    without it, a redirect back to the 360 page. Errors come back next to their fields.
    """
    if request.method != "POST":
        return redirect("customers:detail", pk=pk)
    customer = queries.customer_for(request.user, pk)
    form = form_class(request.POST)
    seen = queries.last_timeline_id(customer)
    if form.is_valid():
        try:
            with transaction.atomic():
                write(customer=customer, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
    if not form.errors:
        if pages.is_htmx(request):
            entries = queries.timeline_since(customer, after_id=seen)
            return render(
                request,
                template,
                {
                    "customer": customer,
                    form_name: form_class(),
                    "new_entries": entries,
                    "saved": success,
                },
            )
        messages.success(request, success)
        return redirect("customers:detail", pk=pk)
    if pages.is_htmx(request):
        return render(request, template, {"customer": customer, form_name: form})
    context = _detail_context(request, customer, **{form_name: form})
    return render(request, "customers/detail.html", context, status=400)


def _log_interaction(*, customer, by, **data):
    fields = {k: v for k, v in data.items() if v is not None}
    activity.log_interaction(customer=customer, author=by, **fields)


def _record_referral(*, customer, by, **data):
    activity.record_referral(referrer=customer, by=by, **data)


def _grant_reward(*, customer, by, **data):
    rewards.grant(customer=customer, by=by, **data)


def _redeem_reward(*, customer, by, **data):
    rewards.redeem(customer=customer, by=by, **data)


def _set_tier(*, customer, by, tier, reason):
    placement.set_tier(customer=customer, tier=tier, by=by, reason=reason)


@dataclass(frozen=True)
class QuickAction:
    """One of the 360 page's small forms: its form, the service that writes what it says
    (called with `customer=`, `by=` and the form's fields) and the message on success.
    Its template is `customers/_<name>_form.html`, its form `<name>_form` in the context."""

    form_class: type[Form]
    write: Callable[..., Any]
    success: str
    marketers_only: bool = False


QUICK_ACTIONS = {
    "interaction": QuickAction(
        forms.InteractionForm, _log_interaction, gettext_noop("Interaction logged.")
    ),
    "complaint": QuickAction(
        forms.ComplaintForm, activity.open_complaint, gettext_noop("Complaint opened.")
    ),
    "purchase": QuickAction(
        forms.PurchaseForm, activity.record_purchase, gettext_noop("Purchase added.")
    ),
    "contract": QuickAction(
        forms.ContractForm, contracts.add_contract, gettext_noop("Contract added.")
    ),
    "referral": QuickAction(
        forms.ReferralForm, _record_referral, gettext_noop("Referral recorded.")
    ),
    "reward": QuickAction(forms.RewardForm, _grant_reward, gettext_noop("Reward recorded.")),
    "redeem": QuickAction(forms.RedeemForm, _redeem_reward, gettext_noop("Reward redeemed."), True),
    "tier": QuickAction(forms.TierForm, _set_tier, gettext_noop("Tier set by hand.")),
}


def quick_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Log an interaction, open a complaint, add a purchase, ... from the 360 page."""
    chosen = QUICK_ACTIONS[action]
    if chosen.marketers_only:
        pages.marketers_only(request)
    return _quick_action(
        request,
        pk,
        form_class=chosen.form_class,
        form_name=f"{action}_form",
        template=f"customers/_{action}_form.html",
        write=chosen.write,
        success=gettext(chosen.success),
    )


@require_POST
def complaint_resolve(request: HttpRequest, pk: int, complaint_id: int) -> HttpResponse:
    """Close one of the customer's complaints with its resolution."""
    customer = queries.customer_for(request.user, pk)
    complaint = get_object_or_404(Complaint, pk=complaint_id, customer=customer)
    form = forms.ResolveComplaintForm(request.POST)
    if form.is_valid():
        try:
            activity.resolve_complaint(
                complaint=complaint, by=request.user, resolution=form.cleaned_data["resolution"]
            )
        except ValidationError as error:
            form.add_error(None, error)
    if form.errors:
        if pages.is_htmx(request):
            return render(
                request,
                "customers/_complaint.html",
                {"customer": customer, "complaint": complaint, "resolve_form": form},
            )
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
        return redirect("customers:detail", pk=pk)
    if pages.is_htmx(request):
        return render(
            request, "customers/_complaint.html", {"customer": customer, "complaint": complaint}
        )
    messages.success(request, gettext("Complaint resolved."))
    return pages.back_to(request, "customers:detail", pk)


@require_POST
def follow_up_done(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    """Mark a follow-up done in one click (from My day or the 360 page)."""
    follow_up = get_object_or_404(
        FollowUp.objects.select_related("customer"),
        pk=follow_up_id,
        customer__in=queries.visible_customers(request.user),
    )
    activity.complete_follow_up(follow_up=follow_up, by=request.user)
    if pages.is_htmx(request):
        return render(request, "customers/_follow_up.html", {"follow_up": follow_up})
    messages.success(request, gettext("Done: %(reason)s") % {"reason": follow_up.shown_reason})
    return pages.back_to(request, "customers:my_day")


@require_POST
def reward_reverse(request: HttpRequest, pk: int, reward_id: int) -> HttpResponse:
    """A marketer takes back what is left of an earned reward line, once."""
    pages.marketers_only(request)
    customer = queries.customer_for(request.user, pk)
    entry = get_object_or_404(
        Reward.objects.select_related("customer"), pk=reward_id, customer=customer
    )
    reason = request.POST.get("reason", "").strip()[:200] or "Reversed by a marketer"
    try:
        rewards.reverse(entry=entry, reason=reason, by=request.user, again_is_error=True)
    except ValidationError as error:
        raise BadRequest(" ".join(error.messages)) from error
    messages.success(request, gettext("Reward reversed."))
    return pages.back_to(request, "customers:detail", pk)


@require_POST
def referral_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """A marketer marks a referral converted (the friend bought elsewhere, or by phone)."""
    pages.marketers_only(request)
    referral = get_object_or_404(
        Referral.objects.select_related("referrer", "referred_customer"), pk=pk
    )
    if referral.status in (Referral.Status.CONVERTED, Referral.Status.EXPIRED):
        messages.warning(
            request,
            gettext("Referral %(code)s is already %(status)s.")
            % {"code": referral.code, "status": referral.status},
        )
    else:
        activity.convert_referral(referral=referral)
        messages.success(
            request, gettext("Referral %(code)s marked converted.") % {"code": referral.code}
        )
    return pages.back_to(request, "customers:detail", referral.referrer_id)


def my_day(request: HttpRequest) -> HttpResponse:
    """The account manager's day: follow-ups due, customers at risk, recent complaints."""
    return render(request, "customers/my_day.html", {"day": queries.my_day(request.user)})


def account_create(request: HttpRequest) -> HttpResponse:
    return _account_form(request, Account())


def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _account_form(request, get_object_or_404(Account, pk=pk))


def _account_form(request: HttpRequest, account: Account) -> HttpResponse:
    pages.keepers_only(request)
    form = forms.AccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        # The form wrote onto `account` while validating; the service saves a fresh copy.
        fresh = Account.objects.get(pk=account.pk) if account.pk else Account()
        try:
            saved = records.save_account(account=fresh, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("%(saved)s saved.") % {"saved": saved})
            return redirect("customers:account", pk=saved.pk)
    title = f"Edit {account}" if account.pk else "New account"
    status = 400 if form.errors else 200
    return render(request, "customers/form.html", {"form": form, "title": title}, status=status)


def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An account and the people of it this user may see."""
    account = get_object_or_404(Account, pk=pk)
    people = queries.customer_rows(
        queries.visible_customers(request.user).filter(account=account)
    ).order_by("last_name", "id")
    page = queries.page_of(people, number=pages.page_number(request), size=LIST_PAGE_SIZE)
    return render(request, "customers/account.html", {"account": account, "page": page})


def ladder(request: HttpRequest) -> HttpResponse:
    """Marketers rename, recolour, add and remove the ladder's rungs."""
    pages.marketers_only(request)
    add_form = forms.TierEditForm(prefix="new")
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add":
            add_form = forms.TierEditForm(request.POST, prefix="new")
            if add_form.is_valid():
                tier_admin.save_tier(tier=Tier(), data=add_form.cleaned_data)
                messages.success(request, gettext("Rung added."))
                return redirect("customers:ladder")
        elif action == "save":
            tier = _chosen(forms.RungChoiceForm(request.POST))["tier"]
            form = forms.TierEditForm(request.POST, instance=tier, prefix=f"t{tier.pk}")
            if form.is_valid():
                tier_admin.save_tier(tier=Tier.objects.get(pk=tier.pk), data=form.cleaned_data)
                messages.success(
                    request, gettext("%(name)s saved.") % {"name": form.cleaned_data["name"]}
                )
                return redirect("customers:ladder")
            messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        elif action == "remove":
            tier = _chosen(forms.RungChoiceForm(request.POST))["tier"]
            holding, target = queries.tier_removal(tier)
            if target is not None and request.POST.get("confirmed") != "yes":
                confirmation = _tier_removal_confirmation(tier, holding, target)
                return render(request, "confirm.html", confirmation)
            try:
                moved = tier_admin.remove_tier(tier=tier, by=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(
                    request,
                    gettext("%(name)s removed; %(moved)s customers moved down.")
                    % {"name": tier.name, "moved": moved},
                )
                return redirect("customers:ladder")
    tiers = queries.ladder_counts()
    rows = [(tier, forms.TierEditForm(instance=tier, prefix=f"t{tier.pk}")) for tier in tiers]
    return render(request, "customers/ladder.html", {"rows": rows, "add_form": add_form})


def _chosen(form: Form) -> dict[str, Any]:
    """The objects a form posted by id names; an id that names none of them is a 400."""
    if not form.is_valid():
        fields = ", ".join(sorted(form.errors))
        raise BadRequest(f"Choose from what the page offers ({fields}).")
    return form.cleaned_data


def duplicates(request: HttpRequest) -> HttpResponse:
    """Probable duplicates, for a marketer to merge."""
    pages.marketers_only(request)
    return render(request, "customers/duplicates.html", {"groups": queries.probable_duplicates()})


@require_POST
def merge(request: HttpRequest) -> HttpResponse:
    """Merge one customer into another (marketers and admins)."""
    pages.marketers_only(request)
    chosen = _chosen(forms.MergeForm(request.POST))
    survivor, merged = chosen["survivor"], chosen["merged"]
    if request.POST.get("confirmed") != "yes":
        return render(request, "confirm.html", _merge_confirmation(survivor, merged))
    try:
        merging.merge_customers(survivor=survivor, merged=merged, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("customers:duplicates")
    messages.success(
        request,
        gettext("Merged #%(pk)s into %(survivor)s.") % {"pk": merged.pk, "survivor": survivor},
    )
    return redirect("customers:detail", pk=survivor.pk)


def _merge_confirmation(survivor: Customer, merged: Customer) -> dict:
    def named(customer: Customer) -> str:
        return f"{customer} (#{customer.pk}{', ' + customer.email if customer.email else ''})"

    return {
        "title": f"Merge #{merged.pk} into #{survivor.pk}?",
        "consequences": [
            f"{named(survivor)} is kept.",
            f"Every record of {named(merged)} (interactions, purchases, complaints, referrals, "
            f"rewards, follow-ups, consents, touches, survey answers) moves to #{survivor.pk}, "
            f"and #{survivor.pk}'s blank fields are filled from it.",
            f"#{merged.pk} is left as a deleted tombstone, so sync clients learn of the merge.",
        ],
        "action": reverse("customers:merge"),
        "fields": [("survivor", survivor.pk), ("merged", merged.pk)],
        "confirm_label": f"Merge #{merged.pk} into #{survivor.pk}",
        "cancel_url": reverse("customers:duplicates"),
    }


def _tier_removal_confirmation(tier: Tier, holding: int, target: Tier) -> dict:
    moves = (
        f"Its {holding} customer{'s' * (holding != 1)} move"
        f"{'s' * (holding == 1)} {'down' if target.rank < tier.rank else 'up'} to “{target}”, "
        "each move recorded on their timeline."
        if holding
        else "It holds no customers."
    )
    return {
        "title": f"Remove the rung “{tier}”?",
        "consequences": [f"“{tier}” is taken off the ladder.", moves],
        "action": reverse("customers:ladder"),
        "fields": [("action", "remove"), ("tier", tier.pk)],
        "confirm_label": f"Remove {tier}",
        "cancel_url": reverse("customers:ladder"),
    }
