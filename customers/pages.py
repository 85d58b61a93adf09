"""What every app's pages share: who may open them, which page of a list was asked for, whether
htmx asked for a fragment, and where a form sends the browser back to."""

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from customers import queries, static_lists
from customers.filters import CustomerFilter, segment_filter
from customers.models import Segment


def marketers_only(request: HttpRequest) -> None:
    """Refuse anyone who does not see every customer (marketers and admins do)."""
    if not queries.sees_everyone(request.user):
        raise PermissionDenied


def keepers_only(request: HttpRequest) -> None:
    """Refuse anyone who keeps no customers: marketers, admins and account managers may."""
    if not (queries.sees_everyone(request.user) or queries.is_account_manager(request.user)):
        raise PermissionDenied


def page_number(request: HttpRequest, name: str = "page") -> int:
    """The page asked for in `?page=`; the first for anything that is not a positive number."""
    try:
        return max(int(request.GET.get(name, 1)), 1)
    except ValueError:
        return 1


def is_htmx(request: HttpRequest) -> bool:
    """True when htmx asked, so the view answers with the fragment it swaps in."""
    return request.headers.get("HX-Request") == "true"


def back_to(request: HttpRequest, default: str, *args) -> HttpResponseRedirect:
    """Redirect to the posted `next` when it is a path of this site, else to `default` (a URL or
    a URL name with `args`): `next=https://evil.example/` or `//evil.example/` is ignored."""
    target = request.POST.get("next", "")
    # A path of this site only: no other host, no scheme, nothing relative to guess at.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)  # a URL, never read as a view name
    return redirect(default, *args)


def chosen_customers(request: HttpRequest) -> tuple[CustomerFilter, Segment | None]:
    """The group of customers a page acts on: the rows ticked on the list (`?ids=1,2,3`), the
    saved segment named by `?segment=` (one the user may use, else 404), the static list named
    by `?list=` (likewise), or the customer list's filters in the query; only customers the
    user sees, whichever way."""
    visible = queries.visible_customers(request.user)
    if "ids" in request.GET:
        return CustomerFilter({}, queryset=visible.filter(pk__in=chosen_ids(request))), None
    if "list" in request.GET:
        # A static list: its customers as its author sees them, within what the user sees.
        wanted = request.GET["list"]
        if not wanted.isdigit() or int(wanted) > 2**63 - 1:
            raise BadRequest("list: not a list id.")
        chosen = static_lists.list_for(request.user, int(wanted))
        members = static_lists.list_customers(chosen).order_by().values("pk")
        return CustomerFilter({}, queryset=visible.filter(pk__in=members)), None
    wanted = request.GET.get("segment", "")
    if not wanted:
        return CustomerFilter(request.GET, queryset=visible), None
    if not wanted.isdigit() or int(wanted) > 2**63 - 1:
        raise BadRequest("segment: not a segment id.")
    segment = queries.segment_for(request.user, int(wanted))
    filters = segment_filter(segment)
    filters.queryset = filters.queryset & visible
    return filters, segment


# Ticked rows come from one page of the list; a few pages' worth at most.
MAX_CHOSEN_IDS = 500


def chosen_ids(request: HttpRequest) -> list[int]:
    """The ids in `?ids=1,2,3`: a 400 for anything but ids of customers the user sees."""
    parts = [part.strip() for part in request.GET.get("ids", "").split(",") if part.strip()]
    if not parts or len(parts) > MAX_CHOSEN_IDS:
        raise BadRequest(f"ids: between 1 and {MAX_CHOSEN_IDS} customer ids, comma-separated.")
    if not all(part.isdigit() and 0 < int(part) <= 2**63 - 1 for part in parts):
        raise BadRequest("ids: customer ids are whole numbers.")
    ids = list(dict.fromkeys(int(part) for part in parts))
    found = set(
        queries.visible_customers(request.user).filter(pk__in=ids).values_list("pk", flat=True)
    )
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise BadRequest(f"ids: no such customer: {', '.join(map(str, missing[:10]))}.")
    return ids
