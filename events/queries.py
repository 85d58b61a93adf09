"""Reads of the event pages and API: the list with its counts, one event's figures, the
people at the door."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from customers import queries as customer_queries
from customers.models import Customer, Tier
from events.models import Event, Invitation, InviteRun

YES = Q(invitations__answer=Invitation.Answer.YES)
SEATED = YES & Q(invitations__waitlist_position__isnull=True)


def event_list() -> QuerySet[Event]:
    """Every event, soonest last, with its invited, yes, waiting and attended counts."""
    return (
        Event.objects.select_related("host")
        .annotate(
            invited=Count("invitations", filter=Q(invitations__walk_in=False)),
            said_yes=Count("invitations", filter=SEATED),
            waiting=Count("invitations", filter=Q(invitations__waitlist_position__isnull=False)),
            attended=Count(
                "invitations", filter=Q(invitations__attendance=Invitation.Attendance.ATTENDED)
            ),
        )
        .order_by("-starts_at", "-id")
    )


def event_figures(event: Event) -> dict:
    """The event page's figures, in one query: invited, answered, yes (seats with guests),
    maybe, no, waitlisted, attended (walk-ins among them), no-shows."""
    attended = Q(attendance=Invitation.Attendance.ATTENDED)
    seated = Q(answer=Invitation.Answer.YES, waitlist_position__isnull=True)
    return Invitation.objects.filter(event=event).aggregate(
        invited=Count("pk", filter=Q(walk_in=False)),
        answered=Count("pk", filter=~Q(answer="")),
        yes=Count("pk", filter=seated),
        seats=Coalesce(Sum("guests", filter=seated), 0) + Count("pk", filter=seated),
        maybe=Count("pk", filter=Q(answer=Invitation.Answer.MAYBE)),
        no=Count("pk", filter=Q(answer=Invitation.Answer.NO)),
        waitlisted=Count("pk", filter=Q(waitlist_position__isnull=False)),
        attended=Count("pk", filter=attended),
        walk_ins=Count("pk", filter=attended & Q(walk_in=True)),
        no_shows=Count("pk", filter=Q(attendance=Invitation.Attendance.NO_SHOW)),
    )


def tiers_of_attendees(event: Event) -> list[tuple[str, int]]:
    """(tier name, how many came) in ladder order; those with no tier last."""
    counts: dict[int | None, int] = dict(
        Invitation.objects.filter(event=event, attendance=Invitation.Attendance.ATTENDED)
        .order_by()
        .values("customer__tier_id")
        .annotate(n=Count("pk"))
        .values_list("customer__tier_id", "n")
    )
    rows = [
        (tier.name, counts[tier.pk])
        for tier in Tier.objects.filter(pk__in=[k for k in counts if k]).order_by("rank")
    ]
    if counts.get(None):
        rows.append(("No tier", counts[None]))
    return rows


def at_the_door(event: Event, user: AbstractBaseUser) -> QuerySet:
    """The customers this user checks in at the event: the host and marketers everyone,
    an account manager their own."""
    if event.host_id is not None and event.host_id == user.pk:
        return Customer.objects.filter(deleted_at__isnull=True)
    return customer_queries.visible_customers(user)


def guests_list(event: Event, user: AbstractBaseUser, search: str = "") -> QuerySet[Invitation]:
    """The invitations of the event this user may see, found by name or e-mail, seated
    first (then the waitlist in order, then the rest), by name."""
    found = Invitation.objects.filter(
        event=event, customer__in=at_the_door(event, user)
    ).select_related("customer", "customer__tier")
    for word in search.split()[:3]:
        found = found.filter(
            Q(customer__first_name__icontains=word)
            | Q(customer__last_name__icontains=word)
            | Q(customer__email__icontains=word)
        )
    return found.order_by(
        F("waitlist_position").asc(nulls_first=True),
        "customer__last_name",
        "customer__first_name",
        "pk",
    )


def waitlist(event: Event) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(event=event, waitlist_position__isnull=False)
        .select_related("customer")
        .order_by("waitlist_position")
    )


def invite_runs(event: Event, last: int = 5) -> list[InviteRun]:
    """The event's latest invitation runs, newest first."""
    return list(InviteRun.objects.filter(event=event).order_by("-created_at", "-id")[:last])


def going(runs: list[InviteRun]) -> bool:
    """Whether any of these runs is still inviting (the page then polls for progress)."""
    return any(run.status in (InviteRun.Status.QUEUED, InviteRun.Status.RUNNING) for run in runs)
