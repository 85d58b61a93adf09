"""Deleting a program asks first, says what ends, and never deletes a program's history."""

import pytest

from programs.enrollment import enroll
from programs.models import Enrollment, Program, Step, Touch
from tests.factories import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(marketer) -> Program:
    program = Program.objects.create(name="Spring check-in")
    for order, name in enumerate(["Hello", "How is it going?"]):
        Step.objects.create(
            program=program,
            order=order,
            name=name,
            kind="custom",
            channel="email",
            offset_days=order * 7,
            email_subject="Hi",
            email_body="Hello {{ first_name }}",
        )
    return program


@pytest.fixture
def enrolled(program, manager):
    customers = [person(manager, n) for n in range(2)]
    enroll(program=program, customers=customers)
    assert Enrollment.objects.filter(program=program, status="active").count() == 2
    return customers


def test_deleting_a_program_first_says_what_ends_and_changes_nothing(
    client, marketer, program, enrolled
):
    client.force_login(marketer)
    scheduled = Touch.objects.filter(step__program=program, status="scheduled").count()

    response = client.post(f"/programs/{program.pk}/delete/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Delete the program “Spring check-in”?" in content
    assert "Its 2 active enrollments end" in content
    assert f"Its {scheduled} scheduled touches are cancelled." in content
    assert Program.objects.filter(pk=program.pk).exists()
    assert Touch.objects.filter(step__program=program).count() == scheduled


def test_a_confirmed_deletion_deletes_the_program_its_enrollments_and_touches(
    client, marketer, program, enrolled
):
    client.force_login(marketer)

    response = client.post(f"/programs/{program.pk}/delete/", {"confirmed": "yes"}, follow=True)

    assert response.redirect_chain[-1][0] == "/programs/"
    assert "2 enrollments ended" in response.content.decode()
    assert not Program.objects.filter(pk=program.pk).exists()
    assert not Enrollment.objects.filter(customer__in=enrolled).exists()
    assert not Touch.objects.filter(customer__in=enrolled).exists()


def test_a_program_with_sent_touches_is_never_deleted(client, marketer, program, enrolled):
    Touch.objects.filter(pk=Touch.objects.filter(step__program=program).first().pk).update(
        status="sent"
    )
    client.force_login(marketer)

    asked = client.post(f"/programs/{program.pk}/delete/", follow=True)
    forced = client.post(f"/programs/{program.pk}/delete/", {"confirmed": "yes"}, follow=True)

    assert "1 touch of this program was sent or is in flight" in asked.content.decode()
    assert "1 touch of this program was sent or is in flight" in forced.content.decode()
    assert Program.objects.filter(pk=program.pk).exists()
    assert Enrollment.objects.filter(program=program, status="active").count() == 2


def test_only_marketers_delete_programs(client, manager, program):
    client.force_login(manager)

    response = client.post(f"/programs/{program.pk}/delete/", {"confirmed": "yes"})

    assert response.status_code == 403
    assert Program.objects.filter(pk=program.pk).exists()


def test_the_program_page_offers_deletion(client, marketer, program):
    client.force_login(marketer)

    response = client.get(f"/programs/{program.pk}/")

    assert f'action="/programs/{program.pk}/delete/"' in response.content.decode()
