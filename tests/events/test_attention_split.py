"""The dashboard's attention split counts event invitations like any other touch: sent to a
current customer or to a prospect, read live and from the tallies alike."""

import pytest
from django.utils import timezone

from bonding import queries, services
from customers.models import Tier
from events import services as events
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.enrollment import enroll
from programs.models import Program, Step, Touch
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def send_due() -> None:
    Touch.objects.filter(status=Touch.Status.SCHEDULED).update(due_at=timezone.now())
    for batch in dispatch_due(batch_size=100):
        deliver(touch_ids=batch)


def split(user) -> tuple[int, int]:
    attention = queries.attention_split(queries.Scope(user=user, days=30))
    return attention.current, attention.prospects


def test_event_invitations_count_in_the_attention_split(make_event, marketer):
    prospect = CustomerFactory(consent_email=True, tier=Tier.objects.get(slug="prospect"))
    client = CustomerFactory(consent_email=True, tier=Tier.objects.get(slug="client"))
    unsent = CustomerFactory(consent_email=True, tier=Tier.objects.get(slug="client"))
    program = Program.objects.create(name="Welcome")
    Step.objects.create(program=program, order=1, email_subject="Hello", email_body="Hi")
    enroll(program=program, customers=[client])
    send_due()
    assert split(marketer) == (1, 0)

    events.invite(event=make_event(), customers=[prospect, client])
    send_due()
    # Invited, not yet sent: counts nothing until it goes.
    events.invite(event=make_event(name="User group"), customers=[unsent])

    invitations = Touch.objects.filter(step__kind=Step.Kind.EVENT_INVITATION)
    assert sorted(invitations.values_list("status", flat=True)) == ["scheduled", "sent", "sent"]
    assert split(marketer) == (2, 1)
    services.refresh_dashboard_tallies()
    assert split(marketer) == (2, 1)
