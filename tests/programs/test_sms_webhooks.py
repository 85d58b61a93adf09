"""Twilio's webhooks: delivery reports at /sms/twilio/status/ and inbound texts at
/sms/twilio/inbound/, posted as Twilio posts them (form fields, X-Twilio-Signature computed
here with the auth token over the full URL and the sorted parameters)."""

import urllib.parse
import urllib.request
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation
from twilio.request_validator import RequestValidator

from bonding.celery import app
from customers.models import Channel, FollowUp, Interaction, TimelineEntry
from programs import schedule
from programs.models import Enrollment, Program, ProviderEvent, Step, Touch, UnmatchedReply
from programs.sms_events import LATER, work_event
from tests.conftest import start_web, start_worker, stop_worker
from tests.factories import CustomerFactory
from tests.programs.conftest import wait_until

TOKEN = "webhook-auth-token"
SITE = "https://crm.example.com"
ACCOUNT = "AC" + "1" * 32
OUR_NUMBER = "+15005550006"
ANN = "+14155552671"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SITE_URL = SITE
    settings.ORGANIZATION_NAME = "Acme Outfitters"


@pytest.fixture
def eager():
    """Tasks run where they are queued: the request's task is worked before the answer."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def post(path: str, params: dict, *, token: str = TOKEN, signed_url: str | None = None):
    signature = RequestValidator(token).compute_signature(signed_url or SITE + path, params)
    return Client().post(path, params, headers={"X-Twilio-Signature": signature})


def report(touch: Touch, status: str, *, sid: str = "SM" + "a" * 32, **extra):
    """A status callback as Twilio posts it to the URL the text was sent with."""
    params = {
        "AccountSid": ACCOUNT,
        "ApiVersion": "2010-04-01",
        "From": OUR_NUMBER,
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": ANN,
        **extra,
    }
    return post(f"/sms/twilio/status/?touch={touch.pk}", params)


def text(body: str, *, sender: str = ANN, sid: str = "SM" + "b" * 32):
    """An inbound message as Twilio posts it to the number's webhook."""
    params = {
        "AccountSid": ACCOUNT,
        "ApiVersion": "2010-04-01",
        "Body": body,
        "From": sender,
        "FromCountry": "US",
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": OUR_NUMBER,
    }
    return post("/sms/twilio/inbound/", params)


@pytest.fixture
def ann(manager):
    return CustomerFactory(owner=manager, phone=ANN, consent_sms=True, consent_email=True)


def sms_touch(customer, *, status: str = Touch.Status.SENT, sid: str = "SM" + "a" * 32) -> Touch:
    program = Program.objects.create(name="Texts")
    step = Step.objects.create(
        program=program,
        order=1,
        name="Check-in",
        channel_mode=Step.ChannelMode.FIXED,
        channel=Channel.SMS,
        sms_body="How are we doing?",
    )
    enrollment = Enrollment.objects.create(program=program, customer=customer)
    sent = status in (Touch.Status.SENT, Touch.Status.DELIVERED)
    return Touch.objects.create(
        enrollment=enrollment,
        step=step,
        customer=customer,
        channel=Channel.SMS,
        due_at=timezone.now() - timedelta(hours=1),
        status=status,
        sent_at=timezone.now() - timedelta(hours=1) if sent else None,
        message_id=sid if sent else "",
    )


def consent(customer) -> bool:
    customer.refresh_from_db()
    return customer.consent_sms


def test_a_bad_signature_is_refused_and_changes_nothing(db, ann):
    touch = sms_touch(ann)
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered"}
    path = f"/sms/twilio/status/?touch={touch.pk}"

    wrong_token = post(path, params, token="guessed")
    other_url = post(path, params, signed_url=f"{SITE}/sms/twilio/status/?touch={touch.pk + 1}")
    unsigned = Client().post(path, params)
    stop = post("/sms/twilio/inbound/", {"From": ANN, "Body": "STOP"}, token="guessed")

    assert [r.status_code for r in (wrong_token, other_url, unsigned, stop)] == [403] * 4
    assert ProviderEvent.objects.count() == 0
    touch.refresh_from_db()
    assert touch.status == "sent"
    assert consent(ann) is True


def test_webhooks_are_closed_while_no_auth_token_is_set(db, ann, settings):
    settings.TWILIO_AUTH_TOKEN = ""

    assert text("STOP").status_code == 403
    assert consent(ann) is True


def test_a_signed_request_without_the_fields_is_a_400(db):
    assert post("/sms/twilio/status/?touch=1", {"MessageStatus": "sent"}).status_code == 400
    assert (
        post("/sms/twilio/status/", {"MessageSid": "SMx", "MessageStatus": "sent"}).status_code
        == 400
    )
    assert post("/sms/twilio/inbound/", {"Body": "Hi"}).status_code == 400
    assert ProviderEvent.objects.count() == 0


def test_the_status_endpoint_stores_the_event_in_one_query(db, ann, django_assert_num_queries):
    touch = sms_touch(ann)

    with django_assert_num_queries(1):
        response = report(touch, "delivered")

    assert response.status_code == 204
    event = ProviderEvent.objects.get()
    assert (event.kind, event.key, event.touch_ref) == (
        "status",
        f"SM{'a' * 32}:delivered",
        touch.pk,
    )
    assert event.processed_at is None  # no worker here: the event waits, it is not lost


def test_the_inbound_endpoint_stores_the_text_in_one_query(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = text("Is my order on its way?")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert ProviderEvent.objects.get().payload["Body"] == "Is my order on its way?"


def test_delivered_makes_the_touch_delivered(db, ann, eager):
    touch = sms_touch(ann)

    assert report(touch, "delivered").status_code == 204

    touch.refresh_from_db()
    assert touch.status == "delivered"
    assert ProviderEvent.objects.get().outcome == "delivered"


def test_undelivered_fails_the_touch_with_twilios_error_code(db, ann, eager):
    touch = sms_touch(ann)

    report(touch, "undelivered", ErrorCode="30003")

    touch.refresh_from_db()
    assert touch.status == "failed"
    assert touch.last_error == "Twilio: undelivered, error 30003 (unreachable handset)"


def test_the_same_report_twice_changes_nothing(db, ann, eager):
    touch = sms_touch(ann)
    report(touch, "delivered")
    Touch.objects.filter(pk=touch.pk).update(last_error="looked at")

    again = report(touch, "delivered")

    touch.refresh_from_db()
    assert again.status_code == 204
    assert ProviderEvent.objects.count() == 1
    assert (touch.status, touch.last_error) == ("delivered", "looked at")


def test_a_late_sent_or_failed_does_not_undo_delivered(db, ann, eager):
    touch = sms_touch(ann)
    report(touch, "delivered")

    report(touch, "sent")
    report(touch, "queued")
    report(touch, "failed", ErrorCode="30008")

    touch.refresh_from_db()
    assert touch.status == "delivered"
    assert ProviderEvent.objects.filter(processed_at__isnull=False).count() == 4


def test_a_report_of_an_earlier_attempt_changes_nothing(db, ann, eager):
    touch = sms_touch(ann, sid="SM" + "c" * 32)

    report(touch, "failed", sid="SM" + "d" * 32, ErrorCode="30005")

    touch.refresh_from_db()
    assert touch.status == "sent"


def test_a_touch_in_review_is_settled_by_delivered(db, ann, eager):
    touch = sms_touch(ann, status=Touch.Status.REVIEW)

    report(touch, "delivered")

    touch.refresh_from_db()
    assert (touch.status, touch.message_id, touch.unsettled) == (
        "delivered",
        "SM" + "a" * 32,
        False,
    )
    assert touch.sent_at is not None
    entry = TimelineEntry.objects.get(customer=ann, kind=TimelineEntry.Kind.TOUCH)
    assert (entry.title, entry.source_id) == ("Check-in sent by SMS", touch.pk)


def test_a_touch_in_review_fails_when_twilio_says_failed(db, ann, eager):
    touch = sms_touch(ann, status=Touch.Status.REVIEW)

    report(touch, "failed", ErrorCode="30007")

    touch.refresh_from_db()
    assert (touch.status, touch.last_error) == (
        "failed",
        "Twilio: failed, error 30007 (filtered by the carrier)",
    )
    assert not TimelineEntry.objects.filter(customer=ann, kind=TimelineEntry.Kind.TOUCH).exists()


def test_a_report_for_a_touch_still_being_sent_waits_for_the_send(db, ann):
    touch = sms_touch(ann, status=Touch.Status.SENDING)
    report(touch, "delivered")
    event = ProviderEvent.objects.get()

    assert work_event(event_id=event.pk) == LATER
    Touch.objects.filter(pk=touch.pk).update(
        status=Touch.Status.SENT, message_id="SM" + "a" * 32, sent_at=timezone.now()
    )

    assert work_event(event_id=event.pk) == "delivered"
    assert work_event(event_id=event.pk) == "done"
    touch.refresh_from_db()
    assert touch.status == "delivered"


@pytest.mark.parametrize("word", ["STOP", "stopall", " Unsubscribe ", "cancel", "END", "quit"])
def test_stop_words_withdraw_sms_consent(db, ann, eager, word):
    response = text(word)

    assert response.status_code == 200
    assert consent(ann) is False
    assert ann.consent_email is True
    assert not Interaction.objects.filter(customer=ann).exists()


@pytest.mark.parametrize("word", ["START", "yes", "Unstop"])
def test_start_words_give_sms_consent_back(db, ann, eager, word):
    text("STOP", sid="SM" + "1" * 32)

    text(word, sid="SM" + "2" * 32)

    assert consent(ann) is True
    sources = list(
        TimelineEntry.objects.filter(customer=ann, kind=TimelineEntry.Kind.CONSENT)
        .order_by("id")
        .values_list("title", "detail")
    )
    assert len(sources) == 2
    assert "SMS START" in " ".join(sources[-1])


def test_help_is_answered_with_the_organization_and_how_to_stop(db, ann, eager):
    response = text("help")

    body = response.content.decode()
    assert response["Content-Type"].startswith("text/xml")
    assert "<Message>Acme Outfitters" in body
    assert "Reply STOP" in body
    assert consent(ann) is True
    assert not Interaction.objects.filter(customer=ann).exists()


def test_a_reply_lands_on_the_timeline_answers_the_touch_and_asks_the_owner(
    db, ann, manager, eager
):
    touch = sms_touch(ann)

    response = text("Yes, but the zip broke after a week")

    assert response.status_code == 200
    assert "<Message>" not in response.content.decode()
    interaction = Interaction.objects.get(customer=ann)
    assert (interaction.channel, interaction.direction) == ("sms", "inbound")
    assert interaction.summary == "SMS reply to “Check-in”: Yes, but the zip broke after a week"
    with translation.override("es"):
        assert interaction.shown_summary == (
            "Respuesta por SMS a «Check-in»: Yes, but the zip broke after a week"
        )
        assert FollowUp.objects.get(customer=ann).shown_reason == (
            "Seguimiento: Respuesta por SMS a «Check-in»: Yes, but the zip broke after a week"
        )
    assert TimelineEntry.objects.filter(
        customer=ann, kind=TimelineEntry.Kind.INTERACTION, source_id=interaction.pk
    ).exists()
    touch.refresh_from_db()
    assert touch.responded_at == interaction.occurred_at
    follow_up = FollowUp.objects.get(customer=ann)
    received = ProviderEvent.objects.get().received_at
    due = schedule.next_working_day(timezone.localdate(received))
    assert follow_up.assignee == manager
    assert follow_up.due_at == timezone.make_aware(datetime.combine(due, time(9, 0)))


def test_a_reply_after_the_seven_days_is_logged_but_answers_no_touch(db, ann, eager):
    touch = sms_touch(ann)
    Touch.objects.filter(pk=touch.pk).update(sent_at=timezone.now() - timedelta(days=8))

    text("Who is this?")

    touch.refresh_from_db()
    assert touch.responded_at is None
    assert Interaction.objects.get(customer=ann).summary == "SMS reply: Who is this?"
    assert FollowUp.objects.filter(customer=ann).count() == 1


def test_the_same_text_twice_is_logged_once(db, ann, eager):
    text("Call me tomorrow")
    text("Call me tomorrow")

    assert Interaction.objects.filter(customer=ann).count() == 1
    assert FollowUp.objects.filter(customer=ann).count() == 1


def test_a_reply_from_an_unknown_number_waits_to_be_assigned(db, ann, marketer, eager):
    text("Do you ship to Canada?", sender="+16045550123")

    reply = UnmatchedReply.objects.get()
    assert (reply.phone, reply.body) == ("+16045550123", "Do you ship to Canada?")
    assert not Interaction.objects.exists()
    page = Client()
    page.force_login(marketer)
    listed = page.get("/programs/replies/")
    assert "Do you ship to Canada?" in listed.content.decode()

    assigned = page.post(f"/programs/replies/{reply.pk}/assign/", {"customer": ann.email})

    assert assigned.status_code == 302
    interaction = Interaction.objects.get(customer=ann)
    assert (interaction.direction, interaction.notes) == ("inbound", "Do you ship to Canada?")
    assert FollowUp.objects.filter(customer=ann).count() == 1
    assert "Do you ship to Canada?" not in page.get("/programs/replies/").content.decode()
    again = page.post(f"/programs/replies/{reply.pk}/assign/", {"customer": str(ann.pk)})
    assert again.status_code == 302
    assert Interaction.objects.filter(customer=ann).count() == 1


def test_assigning_to_nobody_is_a_400_and_changes_nothing(db, marketer):
    reply = UnmatchedReply.objects.create(phone="+16045550123", body="Hello?")
    page = Client()
    page.force_login(marketer)

    response = page.post(
        f"/programs/replies/{reply.pk}/assign/", {"customer": "nobody@example.com"}
    )

    assert response.status_code == 400
    assert "No customer has that number" in response.content.decode()
    reply.refresh_from_db()
    assert reply.assigned_at is None


def test_the_unmatched_replies_page_reads_a_fixed_number_of_queries(
    db, marketer, django_assert_num_queries
):
    UnmatchedReply.objects.bulk_create(
        UnmatchedReply(phone=f"+1604555{n:04d}", body=f"Text {n}") for n in range(30)
    )
    page = Client()
    page.force_login(marketer)
    page.get("/programs/replies/")  # warm the session and the user's groups

    with django_assert_num_queries(4):
        response = page.get("/programs/replies/")

    assert response.status_code == 200
    assert response.content.decode().count('<tr id="reply-') == 30


@pytest.mark.parametrize(
    ("day", "next_day"),
    [
        (date(2026, 12, 7), date(2026, 12, 8)),  # Monday -> Tuesday
        (date(2026, 12, 4), date(2026, 12, 7)),  # Friday -> Monday
        (date(2026, 12, 5), date(2026, 12, 7)),  # Saturday -> Monday
        (date(2026, 12, 6), date(2026, 12, 7)),  # Sunday -> Monday
    ],
)
def test_the_follow_up_is_due_the_next_working_day(day, next_day):
    assert schedule.next_working_day(day) == next_day


def test_events_posted_while_no_worker_runs_are_worked_when_one_starts(transactional_db, manager):
    ann = CustomerFactory(owner=manager, phone=ANN, consent_sms=True)
    touch = sms_touch(ann)
    web, base = start_web(SITE_URL=SITE, TWILIO_AUTH_TOKEN=TOKEN)
    try:
        stop = {"From": ANN, "Body": "STOP", "MessageSid": "SM" + "e" * 32, "To": OUR_NUMBER}
        delivered = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "To": ANN}
        answers = [
            post_to(base, "/sms/twilio/inbound/", stop),
            post_to(base, f"/sms/twilio/status/?touch={touch.pk}", delivered),
        ]
    finally:
        stop_worker(web)
    assert answers == [200, 204]
    assert ProviderEvent.objects.filter(processed_at__isnull=True).count() == 2

    worker = start_worker(name="sms")
    try:
        wait_until(
            lambda: not ProviderEvent.objects.filter(processed_at__isnull=True).exists(),
            timeout=60,
            what="the worker to work both events",
            detail=lambda: "".join(worker.log),
        )
    finally:
        stop_worker(worker)
    touch.refresh_from_db()
    assert touch.status == "delivered"
    assert consent(ann) is False


def post_to(base: str, path: str, params: dict) -> int:
    """POST a signed form to a running server, as Twilio does; returns the status code."""
    signature = RequestValidator(TOKEN).compute_signature(SITE + path, params)
    request = urllib.request.Request(  # noqa: S310 (loopback)
        base + path,
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return response.status
