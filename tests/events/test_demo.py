"""The events demo: an owners' club evening with its history, written by the services."""

import pytest

from bonding import demo as bonding_demo
from customers import demo as customer_demo
from customers.models import Customer, Interaction
from events import demo
from events.models import Event, Invitation
from programs.models import Touch

pytestmark = pytest.mark.django_db


def test_the_club_evening_has_invitations_a_waitlist_attendance_and_community():
    bonding_demo.seed_users()
    customer_demo.seed_customers(count=120)
    customers = Customer.objects.filter(external_id__startswith="demo-", deleted_at__isnull=True)

    seeded = demo.seed_events(customers=customers)

    club = Event.objects.get(name=demo.CLUB_EVENING)
    invitations = Invitation.objects.filter(event=club)
    assert club.status == Event.Status.CLOSED
    assert invitations.filter(walk_in=False).count() >= 30
    assert invitations.filter(promoted_at__isnull=False).exists()  # the waitlist moved
    assert (
        invitations.filter(attendance="attended").count()
        == Interaction.objects.filter(
            channel="event", summary__startswith=f"Came to {demo.CLUB_EVENING}"
        ).count()
    )
    assert invitations.filter(attendance="no_show").count() == seeded["no_shows"]
    assert seeded["community"] > 0
    # Nothing due is left for the dispatcher to send about an evening long gone.
    assert not Touch.objects.filter(step__program__event=club, status="scheduled").exists()
    assert Event.objects.get(name=demo.USER_GROUP).status == Event.Status.OPEN
    assert demo.seed_events(customers=customers) == {}
