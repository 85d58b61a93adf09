"""The segments pages: save the customer list's filter under a name, the segments with their
live counts and trends, and forgetting one."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import pages, queries, segments
from customers.filters import as_query, segment_customers


@require_http_methods(["GET", "POST"])
def segment_list(request: HttpRequest) -> HttpResponse:
    """The segments the user may use; POST saves the list's current filter (`query`) as one."""
    pages.keepers_only(request)
    if request.method == "POST":
        query = request.POST.get("query", "")
        try:
            segment = segments.save_segment(
                owner=request.user, name=request.POST.get("name", ""), query=query
            )
        except ValidationError as error:
            problems = "; ".join(
                f"{name}: {' '.join(texts)}" if name != "name" else " ".join(texts)
                for name, texts in error.message_dict.items()
            )
            messages.error(
                request, gettext("The segment was not saved. %(problems)s") % {"problems": problems}
            )
            list_url = reverse("customers:list")
            return redirect(f"{list_url}?{as_query(segments.clean_known(query)).urlencode()}")
        messages.success(request, gettext("Saved the segment “%(name)s”.") % {"name": segment.name})
        return redirect("customers:segments")
    rows = list(queries.segments_for(request.user))
    trends = queries.segment_trends(rows)
    context = {
        "rows": [
            {
                "segment": segment,
                "query": as_query(segment.filters).urlencode(),
                "trend": trends[segment.pk],
                "sparkline": sparkline(trends[segment.pk]),
                "mine": segment.owner_id == request.user.pk,
            }
            for segment in rows
        ],
        "sees_everyone": queries.sees_everyone(request.user),
    }
    return render(request, "customers/segments.html", context)


def sparkline(counts: list[int], width: int = 84, height: int = 20) -> str:
    """The points of an SVG polyline drawing the counts, oldest on the left ("" for fewer than
    two): attributes, not styles, so the page's content security policy allows it."""
    if len(counts) < 2:
        return ""
    low, high = min(counts), max(counts)
    spread = (high - low) or 1
    step = width / (len(counts) - 1)
    return " ".join(
        f"{n * step:.1f},{height - 1 - (count - low) / spread * (height - 2):.1f}"
        for n, count in enumerate(counts)
    )


@require_GET
def segment_count(request: HttpRequest, pk: int) -> HttpResponse:
    """A segment's live count (exact up to the bound), fetched by htmx for each row."""
    pages.keepers_only(request)
    segment = queries.segment_for(request.user, pk)
    count = queries.bounded_count(segment_customers(segment))
    return render(
        request,
        "customers/_count.html",
        {"count": count, "bound": queries.COUNT_BOUND},
    )


@require_POST
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Forget a segment: its author, or an admin."""
    pages.keepers_only(request)
    segment = queries.segment_for(request.user, pk)
    if segment.owner_id != request.user.pk and not request.user.is_staff:
        raise PermissionDenied
    segments.delete_segment(segment=segment)
    messages.success(request, gettext("Deleted the segment “%(name)s”.") % {"name": segment.name})
    return redirect("customers:segments")


@require_http_methods(["GET", "POST"])
def list_columns(request: HttpRequest) -> HttpResponse:
    """The columns the user sees on the customer list: ticked and remembered for them."""
    pages.keepers_only(request)
    if request.method == "POST":
        try:
            segments.choose_columns(user=request.user, columns=request.POST.getlist("columns"))
        except ValidationError as error:
            return HttpResponse(
                " ".join(error.messages), status=400, content_type="text/plain; charset=utf-8"
            )
        return pages.back_to(request, "customers:list")
    back = request.GET.get("next", "")
    context = {
        "choices": queries.LIST_COLUMNS,
        "shown": set(queries.list_columns(request.user)),
        "next": back if back.startswith("/") and not back.startswith("//") else "",
    }
    return render(request, "customers/columns.html", context)
