from datetime import timedelta

import pytest
from django.utils import timezone

from events.links import new_token
from events.models import Event, Invitation


@pytest.fixture
def make_event(db):
    """An open event ten days from now (fields overridable)."""

    def make(**fields) -> Event:
        starts = timezone.now() + timedelta(days=10)
        values = {
            "name": "Owners' club evening",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=3),
            "timezone": "Europe/Berlin",
            "place": "The Old Mill, Springfield",
            "capacity": 10,
            "status": Event.Status.OPEN,
            **fields,
        }
        return Event.objects.create(**values)

    return make


@pytest.fixture
def invite_to(db):
    """An invitation of the customer to the event, made directly (no touch)."""

    def invite(event: Event, customer) -> Invitation:
        return Invitation.objects.create(event=event, customer=customer, token=new_token())

    return invite
