"""Acting on the rows ticked on the customer list, or on every customer its filter matches:
the list's bar sends here, and each action goes on to the page that confirms how many."""

from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_http_methods

from customers import pages, queries, records
from customers.filters import owners

# Where each action goes with the chosen customers; owner and delete are confirmed here.
NEXT_PAGE = {
    "enroll": "/programs/enroll/",
    "invite": "/surveys/invite/",
    "export": "/customers/export.csv",
    "list": "/customers/lists/add/",
}


@require_GET
def bulk(request: HttpRequest) -> HttpResponse:
    """From the list's bar: `action`, the ticked `ids` (or `everyone=1` and the list's `query`)."""
    pages.keepers_only(request)
    action = request.GET.get("action", "")
    if action not in (*NEXT_PAGE, "owner", "delete"):
        raise BadRequest("action: choose enroll, invite, export, list, owner or delete.")
    if request.GET.get("everyone") == "1":
        chosen = QueryDict(request.GET.get("query", ""), mutable=True)
        chosen.pop("page", None)
    else:
        ticked = [value for value in request.GET.getlist("ids") if value]
        if not ticked:
            messages.error(request, gettext("Tick at least one customer first."))
            return redirect(f"{reverse('customers:list')}?{request.GET.get('query', '')}")
        chosen = QueryDict(mutable=True)
        chosen["ids"] = ",".join(ticked)
    if action in NEXT_PAGE:
        return HttpResponseRedirect(f"{NEXT_PAGE[action]}?{chosen.urlencode()}")
    chosen["action"] = action
    return HttpResponseRedirect(f"{reverse('customers:bulk_confirm')}?{chosen.urlencode()}")


@require_http_methods(["GET", "POST"])
def bulk_confirm(request: HttpRequest) -> HttpResponse:
    """Say how many customers an owner change (marketers) or a deletion (admins) concerns; the
    POST does it."""
    pages.keepers_only(request)
    action = request.GET.get("action", "")
    if action == "owner":
        pages.marketers_only(request)
    elif action == "delete":
        if not request.user.is_staff:
            raise PermissionDenied
    else:
        raise BadRequest("action: owner or delete.")
    filters, _segment = pages.chosen_customers(request)
    if not filters.is_valid():
        raise BadRequest("These filters are not valid.")
    customers = filters.qs
    count = customers.count()
    people = owners()
    if request.method == "POST" and count:
        if action == "delete":
            done = records.delete_customers(customers=customers.order_by(), by=request.user)
            messages.success(
                request,
                ngettext("%(done)s customer deleted.", "%(done)s customers deleted.", done)
                % {"done": done},
            )
            return redirect("customers:list")
        owner = people.filter(username=request.POST.get("owner", "")).first()
        if owner is None:
            messages.error(request, gettext("Choose who is to own them."))
        else:
            try:
                done = records.assign_owner(
                    customers=customers.order_by(), owner=owner, by=request.user
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                name = owner.get_full_name() or owner.username
                messages.success(
                    request,
                    ngettext(
                        "%(done)s customer now owned by %(name)s.",
                        "%(done)s customers now owned by %(name)s.",
                        done,
                    )
                    % {"done": done, "name": name},
                )
                return redirect("customers:list")
    query = request.GET.copy()
    context = {
        "action": action,
        "count": count,
        "owners": people if action == "owner" else [],
        "query": query.urlencode(),
        "bound": queries.COUNT_BOUND,
    }
    return render(request, "customers/bulk_confirm.html", context)
