"""GET /api/v1/programs/, POST /api/v1/enrollments/, GET /api/v1/touches/."""

import pytest
from rest_framework.test import APIClient

from customers import records
from programs.models import Program, Touch

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def person(owner, n):
    return records.create_customer(
        data={
            "first_name": f"P{n}",
            "email": f"p{n}@example.com",
            "owner": owner,
            "consent_email": True,
        },
        by=owner,
    )


def test_programs_list_with_their_steps(marketer):
    response = api(marketer).get("/api/v1/programs/")

    program = response.json()["results"][0]
    assert response.status_code == 200
    assert program["is_prototype"] is True
    assert [s["kind"] for s in program["steps"]][:2] == ["welcome_kit", "satisfaction_survey"]


def test_enrolling_reports_enrolled_and_skipped(marketer, manager):
    ann, bob = person(manager, 1), person(manager, 2)
    program = Program.objects.get(is_prototype=True)
    client = api(marketer)

    first = client.post(
        "/api/v1/enrollments/",
        {"program": program.pk, "customers": [ann.pk, bob.pk, 999999]},
        format="json",
    )
    second = client.post(
        "/api/v1/enrollments/", {"program": program.pk, "customers": [ann.pk]}, format="json"
    )

    scheduled = Touch.objects.filter(status=Touch.Status.SCHEDULED).count()
    assert scheduled > 0
    assert first.json() == {
        "enrolled": 2,
        "held_out": 0,
        "skipped": [{"customer": 999999, "reason": "no such customer"}],
        "touches": {
            "scheduled": scheduled,
            "skipped": {},
            "held": {"wait for a contract to renew": 2},
            "held_out": 0,
        },
    }
    assert second.json() == {
        "enrolled": 0,
        "held_out": 0,
        "skipped": [{"customer": ann.pk, "reason": "already enrolled"}],
        "touches": {"scheduled": 0, "skipped": {}, "held": {}, "held_out": 0},
    }


def test_an_account_manager_enrolls_only_their_own(manager, other_manager):
    theirs = person(other_manager, 3)
    program = Program.objects.get(is_prototype=True)

    response = api(manager).post(
        "/api/v1/enrollments/", {"program": program.pk, "customers": [theirs.pk]}, format="json"
    )

    assert response.json()["enrolled"] == 0
    assert not Touch.objects.filter(customer=theirs).exists()


def test_enrollment_validation_errors_have_the_shape(marketer):
    response = api(marketer).post("/api/v1/enrollments/", {"customers": []}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"program", "customers"}


def test_touches_filter_by_customer_and_status_within_ownership(
    marketer, manager, other_manager, django_assert_max_num_queries
):
    mine, theirs = person(manager, 4), person(other_manager, 5)
    program = Program.objects.get(is_prototype=True)
    api(marketer).post(
        "/api/v1/enrollments/",
        {"program": program.pk, "customers": [mine.pk, theirs.pk]},
        format="json",
    )
    client = api(manager)

    with django_assert_max_num_queries(6):
        listed = client.get("/api/v1/touches/", {"status": "scheduled"}).json()["results"]
    others = client.get("/api/v1/touches/", {"customer": theirs.pk}).json()["results"]

    assert {t["customer"] for t in listed} == {mine.pk}
    assert len(listed) == 7
    assert others == []
