"""Events' own programs are listed in their own section of /programs/, apart from the
marketing programs."""

import pytest

from events import services
from programs.models import Program
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_event_programs_have_their_own_section(
    client, marketer, make_event, django_assert_num_queries
):
    Program.objects.create(name="Welcome")
    event = make_event(name="Owners' club evening")
    services.invite(event=event, customers=[CustomerFactory(consent_email=True)])
    event.refresh_from_db()
    assert event.program.for_event
    client.force_login(marketer)

    # session, user, groups, the programs with their counts, due by channel
    with django_assert_num_queries(5):
        response = client.get("/programs/")

    assert [p.name for p in response.context["event_programs"]] == ["Event: Owners' club evening"]
    assert "Event: Owners' club evening" not in [p.name for p in response.context["programs"]]
    assert "Welcome" in [p.name for p in response.context["programs"]]
    page = response.content.decode()
    marketing, events_part = page.split('<h2 id="event-programs-h">Event programs</h2>')
    assert "Event: Owners&#x27; club evening" in events_part
    assert "Event: Owners&#x27; club evening" not in marketing
    assert "Welcome" in marketing and "Welcome" not in events_part
