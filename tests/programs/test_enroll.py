"""Enrolling customers schedules their touches; re-entry and exit rules hold."""

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers import activity, contracts, records
from customers.models import Tier
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.enrollment import add_renewal_touches, enroll, exit_enrollment
from programs.models import Enrollment, Program, Step, Touch
from programs.responses import follow_up_done, mark_letters_posted
from programs.unsubscribe import unsubscribe, unsubscribe_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def program() -> Program:
    return Program.objects.get(is_prototype=True)


def customer(owner, n: int = 0, **fields):
    data = {
        "first_name": f"C{n}",
        "email": f"c{n}@example.com",
        "owner": owner,
        "consent_email": True,
        "timezone": "Europe/Paris",
    }
    data.update(fields)
    return records.create_customer(data=data, by=owner)


def test_the_eight_step_program_exists_with_its_offsets(program):
    steps = [(s.kind, s.anchor, s.offset_days) for s in program.steps.order_by("order")]

    assert steps == [
        ("welcome_kit", "enrollment", 0),
        ("satisfaction_survey", "enrollment", 14),
        ("check_in", "enrollment", 45),
        ("cross_sell", "enrollment", 90),
        ("gift", "enrollment", 150),
        ("refer_friend", "enrollment", 180),
        ("renewal", "contract_end", -30),
        ("anniversary", "anniversary_enrollment", 0),
    ]


def test_enrolling_schedules_a_touch_per_step_in_the_send_window(program, manager):
    ann = customer(manager)

    outcome = enroll(program=program, customers=[ann])

    touches = list(Touch.objects.filter(customer=ann).select_related("step"))
    assert outcome.enrolled == 1
    assert len(touches) == 7  # no contract: no renewal touch yet
    survey = next(t for t in touches if t.step.kind == "satisfaction_survey")
    assert survey.due_at.date() >= (timezone.now() + timedelta(days=13)).date()
    assert 9 <= survey.due_at.astimezone(ZoneInfo("Europe/Paris")).hour < 19
    assert {t.channel for t in touches} == {"email"}


def test_no_more_than_two_touches_in_any_seven_days(program, manager):
    ann = customer(manager)
    other = Program.objects.create(name="Second")
    for order in range(3):
        Step.objects.create(program=other, order=order, name=f"s{order}", offset_days=0)

    enroll(program=program, customers=[ann])
    enroll(program=other, customers=[ann])

    times = sorted(
        Touch.objects.filter(customer=ann, status="scheduled").values_list("due_at", flat=True)
    )
    for i, moment in enumerate(times):
        in_week = [t for t in times[i:] if t < moment + timedelta(days=7)]
        assert len(in_week) <= 2


def test_a_customer_without_consent_gets_skipped_touches_with_the_reason(program, manager):
    quiet = customer(manager, consent_email=False)

    enroll(program=program, customers=[quiet])

    statuses = set(Touch.objects.filter(customer=quiet).values_list("status", "last_error"))
    assert statuses == {("skipped", "No consent on any of the step's channels.")}


def test_enrolling_twice_is_skipped_and_reentry_after_days(program, manager):
    ann = customer(manager)
    enroll(program=program, customers=[ann])

    again = enroll(program=program, customers=[ann])
    enrollment = Enrollment.objects.get(customer=ann)
    exit_enrollment(enrollment=enrollment, reason="churned by hand")
    once = enroll(program=program, customers=[ann])
    program.reentry, program.reentry_days = Program.Reentry.AFTER_DAYS, 30
    program.save()
    too_soon = enroll(program=program, customers=[ann])
    later = enroll(program=program, customers=[ann], now=timezone.now() + timedelta(days=31))

    assert again.skipped == [{"customer": ann.pk, "reason": "already enrolled"}]
    assert "one enrollment" in once.skipped[0]["reason"]
    assert "less than 30 days" in too_soon.skipped[0]["reason"]
    assert later.enrolled == 1


def test_exiting_cancels_scheduled_touches(program, manager):
    ann = customer(manager)
    enroll(program=program, customers=[ann])
    enrollment = Enrollment.objects.get(customer=ann)

    exit_enrollment(enrollment=enrollment, reason="churned by hand")

    enrollment.refresh_from_db()
    assert enrollment.status == "exited"
    assert enrollment.exit_reason == "churned by hand"
    assert not Touch.objects.filter(enrollment=enrollment, status="scheduled").exists()


def test_a_paused_program_refuses_enrollment(program, manager):
    program.is_active = False
    program.save()

    with pytest.raises(ValidationError):
        enroll(program=program, customers=[customer(manager)])


def test_the_audience_filters_who_may_join(program, manager):
    program.audiences = ["b2b"]
    program.save()

    outcome = enroll(program=program, customers=[customer(manager)])

    assert outcome.enrolled == 0
    assert outcome.skipped[0]["reason"] == "not in the program's audience"


def test_a_contract_signed_later_schedules_the_renewal(program, manager):
    ann = customer(manager)
    enroll(program=program, customers=[ann])

    contracts.add_contract(
        customer=ann, title="Plan", starts_on=date.today(), ends_on=date.today() + timedelta(200)
    )

    # the signal fires after commit; in a test transaction run it by hand
    contract = ann.contracts.get()
    add_renewal_touches(contract=contract)
    renewal = Touch.objects.get(customer=ann, step__kind="renewal")
    assert renewal.due_at.date() >= date.today() + timedelta(days=169)


def test_reaching_the_auto_enroll_tier_enrolls(
    program, manager, django_capture_on_commit_callbacks
):
    program.auto_enroll_tier = Tier.objects.get(slug="first-time")
    program.save()
    ann = customer(manager)

    with django_capture_on_commit_callbacks(execute=True):
        activity.record_purchase(customer=ann, amount=Decimal("10"), purchased_on=date.today())

    assert Enrollment.objects.filter(customer=ann, program=program, status="active").exists()


def test_reaching_the_goal_tier_completes_the_enrollment(
    program, manager, django_capture_on_commit_callbacks
):
    program.goal_tier = Tier.objects.get(slug="first-time")
    program.save()
    ann = customer(manager)
    enroll(program=program, customers=[ann])

    with django_capture_on_commit_callbacks(execute=True):
        activity.record_purchase(customer=ann, amount=Decimal("10"), purchased_on=date.today())

    enrollment = Enrollment.objects.get(customer=ann)
    assert (enrollment.status, enrollment.exit_reason) == ("completed", "goal reached")


def test_deliver_sends_email_with_unsubscribe_headers_and_logs_the_timeline(
    program, manager, mailoutbox, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ann = customer(manager)
    enroll(program=program, customers=[ann])
    Touch.objects.filter(customer=ann, step__kind="welcome_kit").update(due_at=timezone.now())

    batches = dispatch_due()
    counts = [deliver(touch_ids=ids) for ids in batches]

    touch = Touch.objects.get(customer=ann, step__kind="welcome_kit")
    assert counts == [{"sent": 1}]
    assert touch.status == "sent"
    assert touch.message_id == f"<touch-{touch.pk}-1@localhost>"
    message = mailoutbox[0]
    assert message.to == ["c0@example.com"]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in message.extra_headers["List-Unsubscribe"]
    assert settings.ORGANIZATION_ADDRESS in message.body
    assert message.alternatives[0][1] == "text/html"
    assert ann.timeline.filter(kind="touch").exists()


def test_the_phone_channel_becomes_a_follow_up_and_is_done_when_called(program, manager):
    ann = customer(
        manager,
        consent_email=False,
        consent_phone=True,
        phone="+14155552671",
        preferred_channel="phone",
    )
    enroll(program=program, customers=[ann])
    Touch.objects.filter(customer=ann, step__kind="welcome_kit").update(due_at=timezone.now())

    for ids in dispatch_due():
        deliver(touch_ids=ids)
    touch = Touch.objects.get(customer=ann, step__kind="welcome_kit")
    follow_up = ann.follow_ups.get()
    activity.complete_follow_up(follow_up=follow_up, by=manager)
    follow_up_done(follow_up=follow_up)

    assert follow_up.assignee == manager
    assert "Call about" in follow_up.notes
    touch.refresh_from_db()
    assert touch.status == "sent"


def test_letters_gather_in_a_batch_until_posted(program, manager):
    ann = customer(
        manager,
        consent_email=False,
        consent_letter=True,
        postal_address="1 Road",
        preferred_channel="letter",
    )
    enroll(program=program, customers=[ann])
    Touch.objects.filter(customer=ann, step__kind="welcome_kit").update(due_at=timezone.now())

    for ids in dispatch_due():
        deliver(touch_ids=ids)
    touch = Touch.objects.get(customer=ann, step__kind="welcome_kit")
    batch = touch.letter_batches.get()
    assert touch.status == "waiting"

    assert mark_letters_posted(batch=batch) == 1
    touch.refresh_from_db()
    assert touch.status == "sent"


def test_one_click_unsubscribe_withdraws_consent_idempotently(manager):
    ann = customer(manager)
    token = unsubscribe_token(customer=ann, channel="email")

    unsubscribe(token=token)
    unsubscribe(token=token)

    ann.refresh_from_db()
    assert ann.consent_email is False
    assert ann.consent_changes.filter(granted=False).count() == 1
    assert len(token) >= 32
    assert unsubscribe(token="nope") is None
