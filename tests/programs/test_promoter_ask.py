"""Every promoter is asked for a referral: soon, inside the send window, once per period,
never without consent."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connections

from customers import records
from programs.content import message_for
from programs.enrollment import enroll, exit_enrollment
from programs.models import Enrollment, Program, PromoterAsk, Touch
from programs.promoter_ask import ask_promoter

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# A Wednesday, 22:30 in Paris: outside the 09:00–19:00 send window.
LATE_EVENING = datetime(2026, 3, 4, 22, 30, tzinfo=PARIS)
NEXT_MORNING = datetime(2026, 3, 5, 9, 0, tzinfo=PARIS)


def promoter(owner, n: int = 0, **fields):
    data = {
        "first_name": f"Pia{n}",
        "email": f"pia{n}@example.com",
        "owner": owner,
        "consent_email": True,
        "timezone": "Europe/Paris",
    }
    data.update(fields)
    return records.create_customer(data=data, by=owner)


def ask_program() -> Program:
    return Program.objects.get(asks_promoters=True)


def test_a_coming_referral_touch_is_pulled_forward_to_when_the_send_window_opens(manager):
    pia = promoter(manager)
    enroll(program=Program.objects.get(is_prototype=True), customers=[pia], now=LATE_EVENING)
    refer = Touch.objects.get(customer=pia, step__kind="refer_friend")
    assert refer.due_at > LATE_EVENING + timedelta(days=170)

    assert ask_promoter(customer=pia, now=LATE_EVENING) == "pulled forward"

    refer.refresh_from_db()
    # Not at 22:30: the quiet hours hold, the cap (2 in 7 days) leaves room beside the welcome kit.
    assert refer.due_at == NEXT_MORNING
    ask = PromoterAsk.objects.get(customer=pia)
    assert (ask.how, ask.touch) == (PromoterAsk.How.PULLED_FORWARD, refer)
    assert not Enrollment.objects.filter(customer=pia, program=ask_program()).exists()


def test_without_a_coming_referral_touch_the_promoter_joins_the_program_that_asks(manager):
    pia = promoter(manager)

    assert ask_promoter(customer=pia, now=LATE_EVENING) == "enrolled"

    touch = Touch.objects.get(customer=pia)
    assert touch.enrollment.program == ask_program()
    assert (touch.status, touch.channel, touch.due_at) == ("scheduled", "email", NEXT_MORNING)
    assert PromoterAsk.objects.get(customer=pia).touch == touch
    message = message_for(touch=touch, customer=pia, channel="email")
    code = pia.referrals.get().code
    assert f"/r/{code}/" in message.text
    assert code in message.text


def test_a_promoter_is_asked_once_per_period(manager, settings):
    settings.PROMOTER_ASK_DAYS = 90
    pia = promoter(manager)
    assert ask_promoter(customer=pia, now=LATE_EVENING) == "enrolled"
    # The ask went out and its one-step enrollment completed.
    exit_enrollment(enrollment=Enrollment.objects.get(customer=pia), reason="done", completed=True)

    assert ask_promoter(customer=pia, now=LATE_EVENING + timedelta(days=1)) == "asked recently"
    assert ask_promoter(customer=pia, now=LATE_EVENING + timedelta(days=89)) == "asked recently"
    assert PromoterAsk.objects.filter(customer=pia).count() == 1

    assert ask_promoter(customer=pia, now=LATE_EVENING + timedelta(days=91)) == "enrolled"
    assert PromoterAsk.objects.filter(customer=pia).count() == 2
    assert Enrollment.objects.filter(customer=pia, program=ask_program()).count() == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"consent_email": False},
        # An address the provider reported dead is no channel either.
        {"email_suspended_reason": "hard bounce"},
    ],
)
def test_a_promoter_without_a_channel_they_allow_is_not_asked(manager, fields):
    pia = promoter(manager)
    type(pia).objects.filter(pk=pia.pk).update(**fields)
    pia.refresh_from_db()

    assert ask_promoter(customer=pia, now=LATE_EVENING) == "no consent"

    assert not Touch.objects.filter(customer=pia).exists()
    assert not Enrollment.objects.filter(customer=pia).exists()
    assert not PromoterAsk.objects.exists()


def test_a_paused_ask_program_asks_nobody_new(manager):
    Program.objects.filter(asks_promoters=True).update(is_active=False)
    pia = promoter(manager)

    assert ask_promoter(customer=pia, now=LATE_EVENING) == "no program asks promoters"

    assert not Touch.objects.filter(customer=pia).exists()
    assert not PromoterAsk.objects.exists()


def test_a_deleted_customer_is_not_asked(manager):
    pia = promoter(manager)
    type(pia).objects.filter(pk=pia.pk).update(deleted_at=LATE_EVENING)

    assert ask_promoter(customer=pia, now=LATE_EVENING) == "deleted"
    assert not PromoterAsk.objects.exists()


@pytest.mark.postgres("select_for_update: SQLite has none and writes one at a time")
def test_two_promoter_answers_at_the_same_moment_ask_once(transactional_db, manager):
    pia = promoter(manager)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def answer() -> None:
        try:
            start.wait(timeout=10)
            outcomes.append(ask_promoter(customer=pia, now=LATE_EVENING))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["asked recently", "enrolled"]
    assert PromoterAsk.objects.filter(customer=pia).count() == 1
    assert Touch.objects.filter(customer=pia).count() == 1
