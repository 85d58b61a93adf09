"""Event pages: the list, the editor, one event (its figures, the invitations, check-in at
the door on a phone, walk-ins, the attendees' CSV) and inviting a filtered segment."""

import csv
import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_POST

from customers import pages
from customers import queries as customer_queries
from customers.filters import CustomerFilter
from customers.models import Topic
from customers.segments import clean_known
from events import invite_runs, queries, services
from events.forms import EventForm
from events.models import Event, Invitation

DOOR_LIST_SIZE = 50
IMPORT_MAX_BYTES = 1_000_000
CSV_COLUMNS = [
    *("customer_id", "first_name", "last_name", "email", "tier", "answer", "guests"),
    *("waitlist_position", "attendance", "walk_in", "checked_in_at"),
]


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    """Every event with its invited, yes, waiting and attended counts."""
    pages.keepers_only(request)
    events = queries.event_list()
    return render(request, "events/list.html", {"events": events})


def event_create(request: HttpRequest) -> HttpResponse:
    pages.marketers_only(request)
    return _event_form(request, Event())


def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pages.marketers_only(request)
    return _event_form(request, get_object_or_404(Event, pk=pk))


def _event_form(request: HttpRequest, event: Event) -> HttpResponse:
    form = EventForm(request.POST or None, instance=event)
    if request.method == "POST" and form.is_valid():
        try:
            event = services.save_event(
                event=form.save(commit=False), tiers=form.cleaned_data["tiers"]
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, gettext("%(name)s saved.") % {"name": event.name})
            return redirect("events:detail", pk=event.pk)
    status = 400 if form.errors else 200
    return render(request, "events/edit.html", {"form": form, "event": event}, status=status)


@require_GET
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One event: its figures, the tiers of those who came, and the door list (search by
    name, one tap to check in; htmx swaps the list as the search is typed)."""
    pages.keepers_only(request)
    event = get_object_or_404(Event.objects.select_related("host"), pk=pk)
    search = request.GET.get("q", "")[:100]
    guests = list(queries.guests_list(event, request.user, search)[:DOOR_LIST_SIZE])
    walk_ins = []
    if search.strip():
        invited = {g.customer_id for g in guests}
        walk_ins = [
            c
            for c in customer_queries.visible_customers(request.user).filter(_name_matches(search))[
                :10
            ]
            if c.pk not in invited
        ]
    context = {"event": event, "guests": guests, "walk_ins": walk_ins, "search": search}
    if pages.is_htmx(request):
        return render(request, "events/_door.html", context)
    context.update(
        figures=queries.event_figures(event),
        tiers=queries.tiers_of_attendees(event),
        waitlist=queries.waitlist(event)[:20],
        is_marketer=customer_queries.sees_everyone(request.user),
        now=timezone.now(),
        runs=queries.invite_runs(event) if customer_queries.sees_everyone(request.user) else [],
    )
    context["runs_going"] = queries.going(context["runs"])
    return render(request, "events/detail.html", context)


def _name_matches(search: str) -> Q:
    condition = Q()
    for word in search.split()[:3]:
        condition &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    return condition


@require_POST
def check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """One tap at the door: the customer came (a walk-in when they were not invited)."""
    pages.keepers_only(request)
    event = get_object_or_404(Event, pk=pk)
    chosen = _id(request.POST.get("customer"))
    if not chosen:
        return HttpResponse(gettext("Choose a customer."), status=400)
    customer = queries.at_the_door(event, request.user).filter(pk=chosen).first()
    if customer is None:
        return HttpResponse(gettext("No such customer of yours."), status=404)
    if event.status == Event.Status.CANCELLED:
        return HttpResponse(gettext("This event was cancelled."), status=409)
    services.record_attendance(event=event, customers=[customer], by=request.user)
    invitation = Invitation.objects.select_related("customer", "customer__tier").get(
        event=event, customer=customer
    )
    if pages.is_htmx(request):
        return render(request, "events/_guest.html", {"event": event, "guest": invitation})
    messages.success(request, gettext("%(customer)s checked in.") % {"customer": customer})
    return pages.back_to(request, "events:detail", event.pk)


def _id(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return 0


@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    """After the event: closed to answers, and those who said yes and did not come recorded."""
    pages.marketers_only(request)
    event = get_object_or_404(Event, pk=pk)
    try:
        no_shows = services.close_event(event=event)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            gettext("%(name)s closed; %(no_shows)s no-shows recorded.")
            % {"name": event.name, "no_shows": no_shows},
        )
    return redirect("events:detail", pk=event.pk)


@require_POST
def attendance_import(request: HttpRequest, pk: int) -> HttpResponse:
    """A CSV of who came (a `customer_id` or an `email` column): each customer found among
    the caller's is checked in; rows naming nobody are counted and listed by line."""
    pages.keepers_only(request)
    event = get_object_or_404(Event, pk=pk)
    upload = request.FILES.get("file")
    problem = None
    rows: list[dict[str, str]] = []
    if upload is None:
        problem = gettext("Choose a CSV file.")
    elif upload.size > IMPORT_MAX_BYTES:
        problem = gettext("The file is too big: at most 1 MB.")
    else:
        try:
            rows = list(csv.DictReader(io.StringIO(upload.read().decode("utf-8-sig"))))
        except (UnicodeDecodeError, csv.Error):
            problem = gettext("Save the file as CSV in UTF-8.")
        else:
            if not rows or not {"customer_id", "email"} & set(rows[0]):
                problem = gettext("The file needs a customer_id or an email column.")
    if problem:
        return render(
            request, "events/import_refused.html", {"event": event, "problem": problem}, status=400
        )
    door = queries.at_the_door(event, request.user)
    ids = {_id(row.get("customer_id")) for row in rows} - {0}
    emails = {(row.get("email") or "").strip().lower() for row in rows} - {""}
    found = list(door.filter(Q(pk__in=ids) | Q(email__in=emails)))
    known_ids, known_emails = {c.pk for c in found}, {c.email.lower() for c in found}
    unknown = [
        line
        for line, row in enumerate(rows, 2)
        if _id(row.get("customer_id")) not in known_ids
        and (row.get("email") or "").strip().lower() not in known_emails
    ]
    checked = services.record_attendance(event=event, customers=found, by=request.user)
    text = ngettext(
        "%(count)s checked in from the file.", "%(count)s checked in from the file.", len(checked)
    ) % {"count": len(checked)}
    if unknown:
        text += " " + ngettext(
            "%(count)s row names none of your customers (line %(lines)s).",
            "%(count)s rows name none of your customers (lines %(lines)s).",
            len(unknown),
        ) % {"count": len(unknown), "lines": _lines(unknown)}
    messages.success(request, text)
    return redirect("events:detail", pk=event.pk)


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:10]))
    return shown + (", …" if len(numbers) > 10 else "")


@require_GET
def attendees_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """Everyone invited or come that this user may see, with answer, guests and attendance."""
    pages.keepers_only(request)
    event = get_object_or_404(Event, pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="event-{event.pk}-attendees.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for guest in queries.guests_list(event, request.user).iterator(chunk_size=2000):
        customer = guest.customer
        writer.writerow(
            [
                customer.pk,
                _cell(customer.first_name),
                _cell(customer.last_name),
                _cell(customer.email),
                customer.tier.name if customer.tier else "",
                guest.answer,
                guest.guests,
                guest.waitlist_position or "",
                guest.attendance,
                "yes" if guest.walk_in else "",
                guest.checked_in_at.isoformat() if guest.checked_in_at else "",
            ]
        )
    return response


def _cell(value: str) -> str:
    # A name that starts like a formula is not run by a spreadsheet.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value


def invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Invite customers: those matching the customer list's filters (same GET parameters), a
    saved segment or those who chose a topic. A POST queues a run that a Celery task carries
    out in batches; the event page shows its progress."""
    pages.marketers_only(request)
    event = get_object_or_404(Event, pk=pk)
    filters = CustomerFilter(request.GET, queryset=customer_queries.visible_customers(request.user))
    valid = filters.is_valid()
    segments = customer_queries.segments_for(request.user)
    topics = Topic.objects.all()
    if request.method == "POST":
        segment = topic = None
        chosen: dict[str, list[str]] | None = None
        if "segment" in request.POST:
            segment = segments.filter(pk=_id(request.POST["segment"])).first()
            problem = None if segment else gettext("Choose one of the segments.")
        elif "topic" in request.POST:
            topic = topics.filter(pk=_id(request.POST["topic"])).first()
            problem = None if topic else gettext("Choose one of the topics.")
        else:
            chosen = clean_known(request.GET)
            problem = None if valid and chosen else gettext("Set some filters first.")
        if problem is None:
            try:
                run = invite_runs.start(
                    event=event, by=request.user, segment=segment, topic=topic, filters=chosen
                )
            except ValidationError as error:
                problem = " ".join(error.messages)
            else:
                messages.success(
                    request,
                    ngettext(
                        "Inviting %(who)s (%(total)s customer): the progress shows below.",
                        "Inviting %(who)s (%(total)s customers): the progress shows below.",
                        run.total,
                    )
                    % {"who": run.description, "total": run.total},
                )
                return redirect("events:detail", pk=event.pk)
        messages.error(request, problem)
        valid = False
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "event": event,
        "filters": filters,
        "matching": customer_queries.bounded_count(filters.qs) if filters.is_valid() else 0,
        "bound": customer_queries.COUNT_BOUND,
        "has_filters": bool(clean_known(request.GET)),
        "segments": segments,
        "topics": topics,
        "query": query.urlencode(),
        "now": timezone.now(),
    }
    return render(request, "events/invite.html", context, status=200 if valid else 400)


@require_GET
def invite_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The event's invitation runs and how far each has got (htmx polls it while one runs)."""
    pages.marketers_only(request)
    event = get_object_or_404(Event, pk=pk)
    runs = queries.invite_runs(event)
    context = {"event": event, "runs": runs, "runs_going": queries.going(runs)}
    return render(request, "events/_invite_runs.html", context)
