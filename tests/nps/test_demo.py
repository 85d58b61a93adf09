"""The NPS demo leaves what the services leave when customers really answer."""

from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from customers.models import Customer, TimelineEntry
from nps import demo, services
from nps.models import FatigueSkip, Invitation, Response
from programs.models import Touch
from tests.nps.test_tallies import tally_rows
from tests.shared_data import kept_for_scope

pytestmark = pytest.mark.django_db

# Enough demo customers for answers of every kind, and quick to seed.
FEW = 60


def seed() -> None:
    with override_settings(DEBUG=True):
        call_command("seed_demo", customers=FEW, stdout=StringIO())


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Seeded once for the tests here, which only read it (tests/shared_data.py)."""
    with kept_for_scope(django_db_blocker, seed):
        yield


def test_demo_answers_leave_what_record_response_leaves(seeded):
    responses = list(Response.objects.all())
    lines = {entry.source_id: entry for entry in TimelineEntry.objects.filter(kind="survey")}
    surveyed = Customer.objects.filter(nps_responses__isnull=False).distinct()
    seeded_tallies = tally_rows()

    # The timeline line of each answer, dated when it was given.
    assert len(responses) > 10
    assert len(lines) == len(responses)
    for response in responses:
        line = lines[response.pk]
        assert line.customer_id == response.customer_id
        assert line.title == f"Answered the survey: {response.score} ({response.category})"
        assert line.occurred_at == response.answered_at
        assert line.detail == "\n".join(t for t in (response.why, response.improve) if t)
    # The latest score on the customer.
    for customer in surveyed:
        latest = customer.nps_responses.order_by("-answered_at").first()
        assert (customer.nps_latest, customer.nps_latest_at) == (latest.score, latest.answered_at)
    # The tallies, as counting every row afresh makes them.
    services.rebuild_tallies()
    assert seeded_tallies["days"]
    assert tally_rows() == seeded_tallies


def test_demo_invitations_are_made_by_the_service_at_the_moment_they_went_out(seeded):
    invitations = Invitation.objects.all()
    skips = FatigueSkip.objects.all()

    assert invitations.exists()
    for invitation in invitations:
        assert invitation.expires_at - invitation.sent_at == timedelta(
            days=invitation.survey.valid_days
        )
        assert invitation.owner_id == invitation.customer.owner_id
    # A satisfaction touch to a customer asked lately is skipped, dated then, not at seeding.
    assert skips.exists()
    assert all(skip.reason.endswith("(fatigue window)") for skip in skips)
    for skip in skips:
        assert Touch.objects.filter(
            customer=skip.customer, step__kind="satisfaction_survey", sent_at=skip.skipped_at
        ).exists()


def test_the_answer_words_come_from_the_data_file():
    kinds = {"promoter", "passive", "detractor"}

    assert set(demo.ANSWERS["scores"]) == kinds
    for kind in kinds:
        scores = demo.ANSWERS["scores"][kind]
        assert len(scores["values"]) == len(scores["weights"])
    assert demo.ANSWERS["detractor_because"]["Late delivery"]
