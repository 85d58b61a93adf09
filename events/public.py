"""The public invitation page a customer answers on: no sign-in, an unguessable token, a
limit per address; the times in the customer's own time zone; the calendar file."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from customers.languages import speaking_to
from events import calendar, services
from events.models import Event, Invitation
from nps.public import over_public_limit
from programs.placement import zone_of

ANSWERS = [
    (Invitation.Answer.YES, gettext_lazy("Yes, I will come")),
    (Invitation.Answer.MAYBE, gettext_lazy("Maybe")),
    (Invitation.Answer.NO, gettext_lazy("No, I cannot come")),
]


def _over_limit(request: HttpRequest) -> bool:
    return over_public_limit(request, scope="event", per_minute=settings.EVENT_RATE_PER_MINUTE)


def _invitation(token: str) -> Invitation | None:
    return Invitation.objects.select_related("event", "customer").filter(token=token[:64]).first()


@login_not_required
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation: when and where (in the customer's zone), yes / maybe / no, guests,
    the seat or the place on the waitlist, and the calendar file.

    No CSRF check: the unguessable token in the URL is the credential, and a customer who
    blocks cookies must still be able to answer.
    """
    if _over_limit(request):
        return render(request, "nps/too_many.html", status=429)
    invitation = _invitation(token)
    if invitation is None:
        return render(request, "events/unknown.html", status=404)
    with speaking_to(invitation.customer, request):
        return _page(request, invitation)


def _page(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    saved = False
    if request.method == "POST":
        guests = request.POST.get("guests", "0") or "0"
        try:
            outcome = services.answer(
                invitation=invitation,
                answer=request.POST.get("answer", ""),
                guests=int(guests) if guests.isdigit() else -1,
            )
        except ValidationError as error:
            errors = error.message_dict
        else:
            invitation, saved = outcome.invitation, True
    return render(
        request,
        "events/invitation.html",
        _context(invitation, errors, saved),
        status=400 if errors else 200,
    )


def _context(invitation: Invitation, errors: dict, saved: bool) -> dict:
    event = invitation.event
    zone = zone_of(invitation.customer)
    free = None
    if event.capacity is not None:
        free = max(event.capacity - services.seats_taken(event), 0)
    return {
        "invitation": invitation,
        "event": event,
        "zone": zone.key,
        "starts": event.starts_at.astimezone(zone),
        "ends": event.ends_at.astimezone(zone),
        "open": event.status == Event.Status.OPEN and event.starts_at > timezone.now(),
        "answers": ANSWERS,
        "guest_choices": range(services.MAX_GUESTS + 1),
        "free": free,
        "errors": errors,
        "saved": saved,
    }


@login_not_required
@never_cache
@require_GET
def invitation_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The event as an .ics file to add to a calendar."""
    if _over_limit(request):
        return render(request, "nps/too_many.html", status=429)
    invitation = _invitation(token)
    if invitation is None:
        return render(request, "events/unknown.html", status=404)
    response = HttpResponse(
        calendar.ics_for(invitation), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="event-{invitation.event_id}.ics"'
    return response
