"""Closing the loop: detractors get a call, promoters are asked to refer, fatigue holds."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from customers import records
from customers.models import FollowUp
from nps import services
from nps.models import FatigueSkip, Survey
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.enrollment import enroll
from programs.models import Program, PromoterAsk, Touch
from programs.placement import send_window, zone_of
from programs.schedule import in_window

pytestmark = pytest.mark.django_db


def person(owner, n=0):
    return records.create_customer(
        data={
            "first_name": f"P{n}",
            "email": f"p{n}@example.com",
            "owner": owner,
            "consent_email": True,
        },
        by=owner,
    )


def test_a_detractor_gets_a_follow_up_within_48_hours_and_the_owner_an_email(
    manager, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from bonding.celery import app

    app.conf.task_always_eager = True
    manager.email = "alex@example.com"
    manager.save()
    ann = person(manager)
    invitation = services.invite(survey=Survey.objects.get(), customers=[ann]).invited[0]

    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.record_response(
                invitation=invitation, score_value=3, why="Late twice", improve="Call me"
            )
    finally:
        app.conf.task_always_eager = False

    follow_up = FollowUp.objects.get(customer=ann)
    assert follow_up.assignee == manager
    assert follow_up.due_at <= timezone.now() + timedelta(hours=48)
    assert "Late twice" in follow_up.notes
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alex@example.com"]
    assert "Late twice" in mail.outbox[0].body
    assert "Call me" in mail.outbox[0].body


def test_answering_again_does_not_pile_up_follow_ups(manager):
    ann = person(manager)
    invitation = services.invite(survey=Survey.objects.get(), customers=[ann]).invited[0]

    services.record_response(invitation=invitation, score_value=2)
    services.record_response(invitation=invitation, score_value=1)

    assert FollowUp.objects.filter(customer=ann).count() == 1


def test_a_promoter_is_asked_for_a_referral_now(manager, django_capture_on_commit_callbacks):
    ann = person(manager)
    enroll(program=Program.objects.get(is_prototype=True), customers=[ann])
    invitation = services.invite(survey=Survey.objects.get(), customers=[ann]).invited[0]

    with django_capture_on_commit_callbacks(execute=True):
        services.record_response(invitation=invitation, score_value=10)

    # Asked at the next moment the send window allows (at once by day), not in 180 days.
    referral = Touch.objects.get(customer=ann, step__kind="refer_friend")
    assert referral.due_at < timezone.now() + timedelta(days=3)
    assert in_window(moment=referral.due_at, zone=zone_of(ann), window=send_window())
    assert PromoterAsk.objects.get(customer=ann).touch == referral


def test_a_promoter_with_nothing_coming_is_asked_through_the_program_that_asks(
    manager, django_capture_on_commit_callbacks
):
    ann = person(manager)
    invitation = services.invite(survey=Survey.objects.get(), customers=[ann]).invited[0]

    with django_capture_on_commit_callbacks(execute=True):
        services.record_response(invitation=invitation, score_value=9)

    referral = Touch.objects.get(customer=ann, step__kind="refer_friend")
    assert referral.enrollment.program.asks_promoters
    assert in_window(moment=referral.due_at, zone=zone_of(ann), window=send_window())


def test_a_passive_is_not_asked(manager, django_capture_on_commit_callbacks):
    ann = person(manager)
    invitation = services.invite(survey=Survey.objects.get(), customers=[ann]).invited[0]

    with django_capture_on_commit_callbacks(execute=True):
        services.record_response(invitation=invitation, score_value=8)

    assert not Touch.objects.filter(customer=ann, step__kind="refer_friend").exists()
    assert not PromoterAsk.objects.exists()


def test_the_answer_updates_the_customer_and_marks_the_touch_responded(
    manager, django_capture_on_commit_callbacks
):
    ann = person(manager)
    enroll(program=Program.objects.get(is_prototype=True), customers=[ann])
    touch = Touch.objects.get(customer=ann, step__kind="satisfaction_survey")
    invitation = services.invite(
        survey=Survey.objects.get(), customers=[ann], touch_ids={ann.pk: touch.pk}
    ).invited[0]

    with django_capture_on_commit_callbacks(execute=True):
        services.record_response(invitation=invitation, score_value=9)

    ann.refresh_from_db()
    touch.refresh_from_db()
    assert (ann.nps_latest, touch.responded_at is not None) == (9, True)
    assert ann.rewards.filter(kind="premium").exists()
    assert ann.timeline.filter(kind="survey", title__contains="9 (promoter)").exists()


def test_the_fatigue_window_skips_recent_invitations_with_a_reason(manager, settings):
    settings.SURVEY_FATIGUE_DAYS = 90
    ann = person(manager)
    survey = Survey.objects.get()
    services.invite(survey=survey, customers=[ann], now=timezone.now() - timedelta(days=30))

    again = services.invite(survey=survey, customers=[ann])
    later = services.invite(survey=survey, customers=[ann], now=timezone.now() + timedelta(days=61))

    assert again.invited == []
    assert "fatigue window" in again.skipped[0]["reason"]
    assert FatigueSkip.objects.filter(customer=ann).count() == 1
    assert len(later.invited) == 1


def test_the_survey_step_of_a_program_sends_an_invitation_link(manager, settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ann = person(manager)
    enroll(program=Program.objects.get(is_prototype=True), customers=[ann])
    Touch.objects.filter(customer=ann, step__kind="satisfaction_survey").update(
        due_at=timezone.now()
    )
    Touch.objects.filter(customer=ann, step__kind="welcome_kit").update(
        due_at=timezone.now() + timedelta(days=400)
    )

    for ids in dispatch_due():
        deliver(touch_ids=ids)

    touch = Touch.objects.get(customer=ann, step__kind="satisfaction_survey")
    invitation = ann.invitations.get()
    assert touch.status == "sent"
    assert invitation.touch_id == touch.pk
    assert f"/s/{invitation.token}/" in mailoutbox[0].body
