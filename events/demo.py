"""The events demo: an owners' club evening three weeks ago (invitations, answers, a waitlist
that moved, who came, walk-ins, no-shows, customers who reached Community through it) and a
user group coming up. The seeder invents what customers and channels did; the services write
every side effect on a clock moved to when it happened."""

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from customers.models import Customer
from events import services
from events.models import Event, Invitation
from programs import content
from programs.models import Touch
from programs.settlement import settle

CLUB_EVENING = "Owners' club evening"
USER_GROUP = "Spring user group"


def seed_events(*, customers: QuerySet[Customer], seed: int = 17) -> dict[str, int]:
    """Both events with their history, once; {} when they are there already."""
    if Event.objects.filter(name__in=[CLUB_EVENING, USER_GROUP]).exists():
        return {}
    rng = random.Random(seed)
    now = timezone.now()
    host = User.objects.filter(username="manager").first()
    reachable = list(
        customers.filter(consent_email=True, email_suspended_reason="")
        .exclude(email="")
        .order_by("-lifetime_value", "id")[:70]
    )
    if len(reachable) < 10:
        return {}
    zone = ZoneInfo(settings.TIME_ZONE)
    evening = _evening(now.astimezone(zone).date() - timedelta(days=21), zone)
    club = services.save_event(
        event=Event(
            name=CLUB_EVENING,
            description="Drinks, a look at what is new, and the people who make it. "
            "Bring a friend if you like.",
            starts_at=evening,
            ends_at=evening + timedelta(hours=3),
            timezone=zone.key,
            place="The Old Mill, 4 River Lane",
            capacity=30,
            host=host,
            status=Event.Status.OPEN,
            created_at=evening - timedelta(days=40),
        )
    )
    invited_at = evening - timedelta(days=30)
    invited = services.invite(event=club, customers=reachable[:45], by=host, now=invited_at)
    _answer(rng, invited.invited, after=invited_at, before=evening - timedelta(days=2))
    _went_out(now)
    seated = list(
        Invitation.objects.filter(event=club, answer="yes", waitlist_position__isnull=True)
    )
    came = [i.customer for i in seated if rng.random() < 0.85]
    walk_ins = reachable[60:62]
    # The host's list of who came, recorded today (the value refresh runs as of today: the
    # customers' later purchases are already known).
    services.record_attendance(
        event=club, customers=came + walk_ins, by=host, came_at=evening + timedelta(minutes=20)
    )
    no_shows = services.close_event(event=club, now=evening + timedelta(hours=4))

    coming = _evening(now.astimezone(zone).date() + timedelta(days=12), zone)
    group = services.save_event(
        event=Event(
            name=USER_GROUP,
            description="Customers show each other how they use what they bought.",
            starts_at=coming,
            ends_at=coming + timedelta(hours=2),
            timezone=zone.key,
            place="Upstairs at the shop",
            online_url="https://meet.example.com/spring-user-group",
            capacity=12,
            host=host,
            status=Event.Status.OPEN,
            created_at=now - timedelta(days=10),
        )
    )
    asked_at = now - timedelta(days=6)
    asked = services.invite(event=group, customers=reachable[10:35], by=host, now=asked_at)
    _answer(rng, asked.invited, after=asked_at, before=now - timedelta(hours=1))
    _went_out(now)
    return {
        "invitations": len(invited.invited) + len(asked.invited),
        "came": len(came) + len(walk_ins),
        "no_shows": no_shows,
        "waitlisted": Invitation.objects.filter(waitlist_position__isnull=False).count(),
        "community": Customer.objects.filter(
            pk__in=[c.pk for c in came + walk_ins], bond_stage="community"
        ).count(),
    }


def _evening(day, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(18, 30), tzinfo=zone)


def _answer(
    rng: random.Random, invitations: list[Invitation], *, after: datetime, before: datetime
) -> None:
    """Customers answer over the weeks: most yes (some with a guest), a few change their mind
    to no near the day, which gives their seats to the waitlist in order."""
    span = (before - after).total_seconds()
    moments = sorted(after + timedelta(seconds=rng.uniform(0, span * 0.7)) for _ in invitations)
    rng.shuffle(invitations)
    for invitation, moment in zip(invitations, moments, strict=True):
        roll = rng.random()
        if roll < 0.7:
            guests = 1 if rng.random() < 0.35 else 0
            services.answer(invitation=invitation, answer="yes", guests=guests, now=moment)
        elif roll < 0.8:
            services.answer(invitation=invitation, answer="maybe", now=moment)
        elif roll < 0.9:
            services.answer(invitation=invitation, answer="no", now=moment)
    seated = Invitation.objects.filter(
        pk__in=[i.pk for i in invitations], answer="yes", waitlist_position__isnull=True
    ).order_by("answered_at")
    for change, invitation in enumerate(seated[:2]):
        services.answer(
            invitation=invitation, answer="no", now=before - timedelta(hours=30 - 6 * change)
        )


def _went_out(now: datetime) -> None:
    """The e-mail channel took every event touch already due: recorded sent, then settled by
    settlement as delivery would (a timeline line each)."""
    due = list(
        Touch.objects.filter(
            step__program__event__isnull=False, status=Touch.Status.SCHEDULED, due_at__lte=now
        ).select_related("step", "enrollment", "customer")
    )
    for touch in due:
        touch.status, touch.unsettled, touch.attempts = Touch.Status.SENT, True, 1
        touch.sent_at = touch.due_at + timedelta(seconds=90)
        touch.message_id = content.message_id_for(touch.pk, touch.occurrence)
    Touch.objects.bulk_update(due, ["status", "unsettled", "attempts", "sent_at", "message_id"])
    if due:
        settle(due, now=max(t.sent_at for t in due))
