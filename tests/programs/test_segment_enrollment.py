"""Enrolling a saved segment once or continuously: beat takes in who enters the segment."""

import pytest

from customers import segments
from customers.models import Audience
from programs.models import Enrollment, SegmentFollow, Touch
from programs.segment_enrollment import enroll_newcomers
from programs.tasks import enroll_segment_newcomers_task
from tests.programs.test_pages import make_customers, make_program

pytestmark = pytest.mark.django_db


@pytest.fixture
def program():
    return make_program("Win back", steps=2)


@pytest.fixture
def at_risk(marketer):
    return segments.save_segment(owner=marketer, name="B2B at risk", query="audience=b2b&risk=high")


def enrolled(program) -> set[int]:
    return set(Enrollment.objects.filter(program=program).values_list("customer_id", flat=True))


def test_the_enroll_page_enrolls_a_saved_segment_once(client, marketer, program, at_risk):
    inside = make_customers(2, prefix="in", audience=Audience.B2B, churn_risk=80)
    make_customers(2, prefix="out", audience=Audience.RETAIL, churn_risk=80)
    client.force_login(marketer)

    page = client.get(f"/programs/{program.pk}/enroll/", {"segment": at_risk.pk})
    response = client.post(f"/programs/{program.pk}/enroll/?segment={at_risk.pk}")

    assert page.context["matching"] == 2
    assert b"B2B at risk" in page.content
    assert response.status_code == 302
    assert enrolled(program) == {c.pk for c in inside}
    assert not SegmentFollow.objects.exists()


def test_continuously_enrolls_now_and_beat_takes_in_newcomers(client, marketer, program, at_risk):
    first = make_customers(1, prefix="first", audience=Audience.B2B, churn_risk=80)
    client.force_login(marketer)

    response = client.post(
        f"/programs/{program.pk}/enroll/?segment={at_risk.pk}", {"continuously": "1"}, follow=True
    )

    assert b"now follows the segment" in response.content
    assert enrolled(program) == {first[0].pk}
    later = make_customers(2, prefix="later", audience=Audience.B2B, churn_risk=90)
    make_customers(1, prefix="calm", audience=Audience.B2B, churn_risk=5)

    assert enroll_segment_newcomers_task() == 2  # what beat runs every few minutes
    assert enroll_segment_newcomers_task() == 0  # nobody twice
    assert enrolled(program) == {first[0].pk, *(c.pk for c in later)}
    assert Touch.objects.filter(step__program=program).count() == 6  # two steps each


def test_who_finished_the_program_is_not_enrolled_again(marketer, program, at_risk):
    [customer] = make_customers(1, audience=Audience.B2B, churn_risk=80)
    Enrollment.objects.create(program=program, customer=customer, status="completed")
    SegmentFollow.objects.create(program=program, segment=at_risk, started_by=marketer)

    assert enroll_newcomers() == 0
    assert Enrollment.objects.filter(program=program).count() == 1


def test_a_paused_program_takes_in_nobody_and_cannot_start_following(
    client, marketer, program, at_risk
):
    make_customers(1, audience=Audience.B2B, churn_risk=80)
    SegmentFollow.objects.create(program=program, segment=at_risk, started_by=marketer)
    program.is_active = False
    program.save()
    client.force_login(marketer)

    assert enroll_newcomers() == 0
    response = client.post(
        f"/programs/{program.pk}/enroll/?segment={at_risk.pk}", {"continuously": "1"}, follow=True
    )
    assert b"paused" in response.content
    assert not Enrollment.objects.exists()


def test_consent_and_audience_are_honoured_for_newcomers(marketer, program, at_risk):
    program.audiences = [Audience.RETAIL]
    program.save()
    make_customers(1, audience=Audience.B2B, churn_risk=80)
    SegmentFollow.objects.create(program=program, segment=at_risk, started_by=marketer)

    assert enroll_newcomers() == 0  # outside the program's audience: skipped, as by enroll


def test_a_segment_id_that_is_not_one_is_a_400_and_anothers_a_404(
    client, marketer, manager, program
):
    theirs = segments.save_segment(owner=manager, name="Mine", query="")
    client.force_login(manager)
    assert client.get("/customers/export.csv", {"segment": "x1"}).status_code == 400
    client.force_login(marketer)
    assert client.get(f"/programs/{program.pk}/enroll/", {"segment": "abc"}).status_code == 400
    assert client.get(f"/programs/{program.pk}/enroll/", {"segment": "99999"}).status_code == 404
    assert client.get(f"/programs/{program.pk}/enroll/", {"segment": theirs.pk}).status_code == 200
