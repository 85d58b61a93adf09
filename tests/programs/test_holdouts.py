"""Holdouts: who is held out, what a control enrollment gets, and that nothing sends it."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer
from programs import holdout
from programs.dispatch import dispatch_due
from programs.enrollment import enroll, exit_enrollment
from programs.models import Enrollment, Program, Touch
from programs.placement import scheduled_times
from tests.factories import CustomerFactory


def test_the_draw_is_balanced_within_sampling_error():
    ids = range(1, 20_001)
    held = sum(
        holdout.group_for(i, program_salt="s", program_share=10, global_salt="g", global_share=0)
        == "holdout"
        for i in ids
    )
    # Binomial(20,000, 0.1): standard error 42; within four of them.
    assert abs(held - 2000) <= 4 * np.sqrt(20_000 * 0.1 * 0.9)


def test_the_draw_is_stable_and_a_larger_share_keeps_everyone_who_was_in():
    def group(i, share):
        return holdout.group_for(
            i, program_salt="s", program_share=share, global_salt="g", global_share=0
        )

    first = [group(i, 5) for i in range(5000)]
    again = [group(i, 5) for i in range(5000)]
    wider = [group(i, 10) for i in range(5000)]

    assert first == again
    assert all(w == "holdout" for f, w in zip(first, wider, strict=True) if f == "holdout")
    assert wider.count("holdout") > first.count("holdout")


def test_salts_draw_independently():
    a = [holdout.draw("one", i) < 0.5 for i in range(4000)]
    b = [holdout.draw("two", i) < 0.5 for i in range(4000)]

    agree = sum(x == y for x, y in zip(a, b, strict=True))
    assert abs(agree - 2000) <= 4 * np.sqrt(4000 * 0.25)


pytestmark = pytest.mark.django_db


@pytest.fixture
def program() -> Program:
    program = Program.objects.get(is_prototype=True)
    program.holdout_share = 30
    program.save()
    return program


def customers(n: int) -> list[Customer]:
    return CustomerFactory.create_batch(n, consent_email=True, timezone="Europe/Paris")


def expected(program: Program, customer_id: int, global_share: int = 0) -> str:
    return holdout.group_for(
        customer_id,
        program_salt=program.holdout_salt,
        program_share=program.holdout_share,
        global_salt="bonding-global-control",
        global_share=global_share,
    )


def test_control_enrollments_get_their_touches_planned_and_held(program):
    people = customers(40)

    outcome = enroll(program=program, customers=people)

    groups = dict(Enrollment.objects.values_list("customer_id", "group"))
    assert groups == {c.pk: expected(program, c.pk) for c in people}
    held_out = [pk for pk, group in groups.items() if group == "holdout"]
    assert held_out and outcome.held_out == len(held_out)
    assert outcome.enrolled == 40 - len(held_out)
    by_status = {
        (customer_id, status)
        for customer_id, status in Touch.objects.values_list("customer_id", "status")
    }
    assert {s for pk, s in by_status if pk in held_out} == {"held"}
    assert "held" not in {s for pk, s in by_status if pk not in held_out}
    # Same exposure dates: a held-out customer's touches fall on a treated one's days.
    treated = next(pk for pk in groups if pk not in held_out)

    def days(customer_id):
        due = Touch.objects.filter(customer=customer_id).values_list("due_at", flat=True)
        return sorted(at.date() for at in due)

    assert days(held_out[0]) == days(treated)
    assert outcome.touches_held_out == Touch.objects.filter(status="held").count()


def test_enrolling_in_batches_draws_the_same_groups(program):
    people = customers(30)

    enroll(
        program=program,
        customers=Customer.objects.filter(pk__in=[c.pk for c in people]),
        batch_size=7,
    )

    groups = dict(Enrollment.objects.values_list("customer_id", "group"))
    assert groups == {c.pk: expected(program, c.pk) for c in people}


def test_held_touches_are_never_dispatched_nor_counted_against_the_cap(program):
    people = customers(30)
    enroll(program=program, customers=people)
    held_out = list(
        Enrollment.objects.filter(group="holdout").values_list("customer_id", flat=True)
    )

    dispatch_due(now=timezone.now() + timedelta(days=400))

    assert Touch.objects.filter(customer__in=held_out).exclude(status="held").count() == 0
    assert not scheduled_times(held_out, since=timezone.now() - timedelta(days=1))


def test_a_control_enrollment_that_ends_cancels_its_held_touches(program):
    people = customers(30)
    enroll(program=program, customers=people)
    enrollment = Enrollment.objects.filter(group="holdout").first()

    exit_enrollment(enrollment=enrollment, reason="unsubscribed")

    assert set(enrollment.touches.values_list("status", flat=True)) == {"cancelled"}


def test_the_global_control_group_gets_no_program_touches(program, settings):
    settings.GLOBAL_CONTROL_SHARE = 20
    people = customers(40)

    enroll(program=program, customers=people)

    groups = dict(Enrollment.objects.values_list("customer_id", "group"))
    assert groups == {c.pk: expected(program, c.pk, global_share=20) for c in people}
    in_global = [pk for pk, group in groups.items() if group == "global_control"]
    assert in_global
    assert set(Touch.objects.filter(customer__in=in_global).values_list("status", flat=True)) == {
        "held"
    }


def test_the_api_answers_enrolled_held_out_and_skipped(program, marketer):
    people = customers(20)
    client = APIClient()
    client.force_authenticate(marketer)

    response = client.post(
        "/api/v1/enrollments/",
        {"program": program.pk, "customers": [c.pk for c in people]},
        format="json",
    )

    held_out = Enrollment.objects.filter(group="holdout").count()
    body = response.json()
    assert response.status_code == 200
    assert (body["enrolled"], body["held_out"], body["skipped"]) == (20 - held_out, held_out, [])
    assert body["touches"]["held_out"] == Touch.objects.filter(status="held").count()


def test_a_new_program_page_offers_a_ten_percent_holdout(client, marketer):
    client.force_login(marketer)

    response = client.get("/programs/new/")

    assert response.status_code == 200
    assert 'name="holdout_share" value="10"' in response.content.decode()


def test_a_holdout_over_half_is_refused(client, marketer, program):
    client.force_login(marketer)

    response = client.post(
        f"/programs/{program.pk}/",
        {"name": program.name, "reentry": "once", "holdout_share": "51", "is_active": "on"},
    )

    program.refresh_from_db()
    assert response.status_code == 400
    assert program.holdout_share == 30
