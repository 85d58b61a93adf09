"""The static lists pages: the lists with their sizes, making one from a file of ids or
e-mails, adding the customers chosen on the list to one, and forgetting one."""

from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from customers import pages, queries, static_lists

# A file of ids or e-mails: a few hundred kB holds MAX_ENTRIES of them.
MAX_FILE_BYTES = 1_000_000


def _problems(error: ValidationError) -> str:
    return " ".join(text for texts in error.message_dict.values() for text in texts)


def _report(outcome: static_lists.Outcome) -> str:
    """E.g. "12 added, 2 already on it. 1 refused: row 4 (nope: neither a customer id nor an
    e-mail address)." (rows counted from 1, as a spreadsheet shows them)"""
    if outcome.unchanged:
        text = ngettext(
            "%(changed)s added, %(unchanged)s already on it.",
            "%(changed)s added, %(unchanged)s already on it.",
            outcome.changed,
        ) % {
            "changed": outcome.changed,
            "unchanged": outcome.unchanged,
        }
    else:
        text = ngettext("%(changed)s added.", "%(changed)s added.", outcome.changed) % {
            "changed": outcome.changed
        }
    if outcome.refused:
        shown = "; ".join(
            gettext("row %(row)s (%(value)s: %(reason)s)")
            % {
                "row": r["index"] + 1,
                "value": r["value"] or gettext("empty"),
                "reason": r["reason"],
            }
            for r in outcome.refused[:5]
        )
        extra = len(outcome.refused) - 5
        more = (
            ngettext(" and %(count)s more", " and %(count)s more", extra) % {"count": extra}
            if extra > 0
            else ""
        )
        text += " " + ngettext(
            "%(count)s refused: %(shown)s%(more)s.",
            "%(count)s refused: %(shown)s%(more)s.",
            len(outcome.refused),
        ) % {"count": len(outcome.refused), "shown": shown, "more": more}
    return text


@require_http_methods(["GET", "POST"])
def list_index(request: HttpRequest) -> HttpResponse:
    """The static lists the user may use; POST makes one from a name and a CSV of ids or
    e-mails (first column)."""
    pages.keepers_only(request)
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is not None and upload.size > MAX_FILE_BYTES:
                raise ValidationError({"file": [gettext("The file is over 1 MB.")]})
            entries = static_lists.entries_from_file(upload.read()) if upload else []
            made, outcome = static_lists.create_list(
                owner=request.user, name=request.POST.get("name", ""), entries=entries
            )
        except ValidationError as error:
            messages.error(
                request,
                gettext("The list was not made. %(problems)s") % {"problems": _problems(error)},
            )
        else:
            messages.success(
                request,
                gettext("Made the list “%(name)s”: %(report)s")
                % {"name": made.name, "report": _report(outcome)},
            )
        return redirect("customers:lists")
    context = {
        "lists": static_lists.lists_for(request.user),
        "sees_everyone": queries.sees_everyone(request.user),
    }
    return render(request, "customers/lists.html", context)


@require_POST
def list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Forget a list (its author's, or an admin's doing)."""
    pages.keepers_only(request)
    chosen = static_lists.list_for(request.user, pk)
    static_lists.delete_list(static_list=chosen, by=request.user)
    messages.success(request, gettext("Forgot the list “%(name)s”.") % {"name": chosen.name})
    return redirect("customers:lists")


@require_http_methods(["GET", "POST"])
def add_to_list(request: HttpRequest) -> HttpResponse:
    """The customers chosen on the list (`ids`, or its filters) onto one of the user's lists,
    or a new one; the page says how many first."""
    pages.keepers_only(request)
    filters, _segment = pages.chosen_customers(request)
    if not filters.is_valid():
        raise BadRequest("These filters are not valid.")
    customers = filters.qs
    count = queries.bounded_count(customers)
    mine = static_lists.lists_for(request.user).filter(owner_id=request.user.pk)
    if request.method == "POST" and count:
        wanted = request.POST.get("list", "")
        try:
            if wanted == "new":
                target, _ = static_lists.create_list(
                    owner=request.user, name=request.POST.get("name", "")
                )
            elif wanted.isdigit() and int(wanted) <= 2**63 - 1:
                target = mine.filter(pk=int(wanted)).first()
                if target is None:
                    raise BadRequest("list: not one of your lists.")
            else:
                raise BadRequest("list: choose one of your lists or a new one.")
            outcome = static_lists.add_customers(
                static_list=target, by=request.user, customers=customers
            )
        except ValidationError as error:
            messages.error(request, _problems(error))
        else:
            messages.success(
                request,
                gettext("List “%(name)s”: %(report)s")
                % {"name": target.name, "report": _report(outcome)},
            )
            return redirect("customers:lists")
    context = {
        "count": count,
        "bound": queries.COUNT_BOUND,
        "lists": mine,
        "query": request.GET.urlencode(),
    }
    return render(request, "customers/add_to_list.html", context)
