"""Control enrollments complete: held touches are withheld on their date, like a send."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Channel
from programs.enrollment import enroll
from programs.held import withhold_due
from programs.models import Enrollment, Program, Step, Touch
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def program_with(*anchors_and_offsets) -> Program:
    program = Program.objects.create(name="Proof", holdout_share=50)
    for order, (anchor, offset) in enumerate(anchors_and_offsets, start=1):
        Step.objects.create(
            program=program,
            order=order,
            name=f"Step {order}",
            anchor=anchor,
            offset_days=offset,
            channel_mode=Step.ChannelMode.FIXED,
            channel=Channel.EMAIL,
            email_subject="Hi",
            email_body="Hello.",
        )
    return program


def test_a_control_enrollment_completes_once_its_held_touches_pass():
    program = program_with((Step.Anchor.ENROLLMENT, 0), (Step.Anchor.ENROLLMENT, 10))
    start = timezone.now() - timedelta(days=30)
    enroll(
        program=program, customers=CustomerFactory.create_batch(16, consent_email=True), now=start
    )
    control = Enrollment.objects.filter(group=Enrollment.Group.HOLDOUT)
    assert control.exists() and Enrollment.objects.filter(group="treated").exists()
    held = Touch.objects.filter(status=Touch.Status.HELD).count()
    assert held == 2 * control.count()

    assert withhold_due() == held

    assert set(control.values_list("status", flat=True)) == {Enrollment.Status.COMPLETED}
    assert not Touch.objects.filter(status=Touch.Status.HELD).exists()
    assert Touch.objects.filter(status=Touch.Status.WITHHELD).count() == held
    # Treated enrollments wait for their sends, as before.
    treated = Enrollment.objects.filter(group=Enrollment.Group.TREATED)
    assert set(treated.values_list("status", flat=True)) == {Enrollment.Status.ACTIVE}
    assert withhold_due() == 0


def test_a_held_touch_before_its_date_stays_held():
    program = program_with((Step.Anchor.ENROLLMENT, 0), (Step.Anchor.ENROLLMENT, 60))
    enroll(
        program=program,
        customers=CustomerFactory.create_batch(12, consent_email=True),
        now=timezone.now() - timedelta(days=5),
    )
    control = Enrollment.objects.filter(group=Enrollment.Group.HOLDOUT)

    withhold_due()

    assert set(control.values_list("status", flat=True)) == {Enrollment.Status.ACTIVE}
    assert Touch.objects.filter(status=Touch.Status.HELD).count() == control.count()


def test_a_yearly_held_touch_makes_next_year_held_as_a_sent_one_would():
    program = program_with((Step.Anchor.ANNIVERSARY_ENROLLMENT, 0))
    enroll(
        program=program,
        customers=CustomerFactory.create_batch(12, consent_email=True),
        now=timezone.now() - timedelta(days=400),
    )
    control = Enrollment.objects.filter(group=Enrollment.Group.HOLDOUT)
    first = Touch.objects.filter(status=Touch.Status.HELD, occurrence=1).count()
    assert first == control.count() > 0

    withhold_due()

    following = Touch.objects.filter(enrollment__in=control, occurrence=2)
    assert following.count() == first
    assert set(following.values_list("status", flat=True)) <= {
        Touch.Status.HELD,
        Touch.Status.WITHHELD,
    }
    # Yearly programs never complete, in either group.
    assert set(control.values_list("status", flat=True)) == {Enrollment.Status.ACTIVE}
