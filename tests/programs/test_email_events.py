"""E-mail delivery events: Postmark's tracking webhooks posted to /anymail/postmark/tracking/
as Postmark posts them (a JSON body, HTTP basic auth with the webhook secret), parsed by
anymail, stored, and applied to the touch and the customer."""

import base64
import json
import urllib.request
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bonding.celery import app
from customers.models import Channel, ConsentChange, TimelineEntry
from programs.delivery import deliver
from programs.models import Enrollment, Program, ProviderEvent, Step, Touch
from tests.conftest import start_web, start_worker, stop_worker
from tests.factories import CustomerFactory
from tests.programs.conftest import wait_until

SECRET = "postmark-hook:5d1b0c4e9a7f"
URL = "/anymail/postmark/tracking/"
MESSAGE = "883953f4-6105-42a2-a16a-77a8eac79483"
ANN = "ann@example.com"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


@pytest.fixture
def eager():
    """Tasks run where they are queued: the request's task is worked before the answer."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def auth(secret: str = SECRET) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def post(body: dict, *, secret: str = SECRET):
    return Client().post(
        URL, json.dumps(body), content_type="application/json", headers=auth(secret)
    )


def bounce(touch: Touch | None, *, kind: str = "HardBounce", event: int = 4323372036854775807):
    """A bounce webhook as Postmark documents it."""
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": event,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 4096,
        "Name": "Hard bounce" if kind == "HardBounce" else "Soft bounce",
        "Tag": "",
        "MessageID": MESSAGE,
        "Metadata": {"touch": str(touch.pk)} if touch else {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message "
        "(ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": ANN,
        "From": "bonding@example.com",
        "BouncedAt": "2026-12-05T08:33:54.9070259Z",
        "DumpAvailable": False,
        "Inactive": kind == "HardBounce",
        "CanActivate": True,
        "Subject": "How are we doing?",
    }


def delivery(touch: Touch) -> dict:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": MESSAGE,
        "Recipient": ANN,
        "Tag": "",
        "DeliveredAt": "2026-12-05T08:34:52Z",
        "Details": "Test delivery webhook details",
        "Metadata": {"touch": str(touch.pk)},
    }


def complaint(touch: Touch) -> dict:
    return {
        "RecordType": "SpamComplaint",
        "MessageStream": "outbound",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Tag": "",
        "MessageID": MESSAGE,
        "Metadata": {"touch": str(touch.pk)},
        "ServerID": 23,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": ANN,
        "From": "bonding@example.com",
        "BouncedAt": "2026-12-05T08:40:00Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "How are we doing?",
    }


def engagement(touch: Touch, record: str, at: str = "2026-12-05T09:00:00Z") -> dict:
    """An open or a click, as Postmark posts them."""
    event = {
        "RecordType": record,
        "MessageStream": "outbound",
        "Metadata": {"touch": str(touch.pk)},
        "Recipient": ANN,
        "MessageID": MESSAGE,
        "ReceivedAt": at,
        "Platform": "WebMail",
        "Tag": "",
        "UserAgent": "Mozilla/5.0",
    }
    if record == "Click":
        event.update({"ClickLocation": "HTML", "OriginalLink": "https://example.com/offer"})
    else:
        event.update({"FirstOpen": True, "ReadSeconds": 5})
    return event


@pytest.fixture
def ann(manager):
    return CustomerFactory(owner=manager, email=ANN, consent_email=True, consent_sms=False)


def email_touch(customer, *, status: str = Touch.Status.SENT) -> Touch:
    program = Program.objects.create(name="Mail")
    step = Step.objects.create(
        program=program,
        order=1,
        name="Check-in",
        channel_mode=Step.ChannelMode.FIXED,
        channel=Channel.EMAIL,
        email_subject="How are we doing?",
        email_body="Hello.",
    )
    enrollment = Enrollment.objects.create(program=program, customer=customer)
    sent = status in (Touch.Status.SENT, Touch.Status.DELIVERED, Touch.Status.REVIEW)
    return Touch.objects.create(
        enrollment=enrollment,
        step=step,
        customer=customer,
        channel=Channel.EMAIL,
        due_at=timezone.now() - timedelta(hours=1),
        status=status,
        sent_at=timezone.now() - timedelta(hours=1) if sent else None,
        message_id="<touch@bonding.example.com>",
        provider_message_id=MESSAGE if sent else "",
    )


def test_wrong_or_missing_auth_is_refused_and_changes_nothing(db, ann):
    touch = email_touch(ann)

    wrong = post(bounce(touch), secret="postmark-hook:guessed")
    missing = Client().post(URL, json.dumps(bounce(touch)), content_type="application/json")

    assert (wrong.status_code, missing.status_code) == (400, 400)
    assert ProviderEvent.objects.count() == 0
    ann.refresh_from_db()
    touch.refresh_from_db()
    assert (ann.email_suspended_reason, touch.status) == ("", "sent")


def test_webhooks_are_closed_while_no_secret_is_set(db, ann, settings):
    settings.ANYMAIL = {}
    touch = email_touch(ann)

    assert post(bounce(touch)).status_code == 403
    assert ProviderEvent.objects.count() == 0


def test_the_event_is_stored_before_the_answer_and_waits_for_a_worker(db, ann):
    touch = email_touch(ann)

    assert post(delivery(touch)).status_code == 200

    event = ProviderEvent.objects.get()
    assert (event.provider, event.kind, event.touch_ref) == ("postmark", "email", touch.pk)
    assert event.processed_at is None  # no worker here: the event waits, it is not lost


def test_the_endpoint_stores_the_event_in_one_query(db, ann, django_assert_num_queries):
    touch = email_touch(ann)

    with django_assert_num_queries(1):
        assert post(bounce(touch)).status_code == 200


def test_a_hard_bounce_fails_the_touch_and_suspends_the_address(db, ann, eager, client, manager):
    touch = email_touch(ann)

    assert post(bounce(touch)).status_code == 200

    touch.refresh_from_db()
    ann.refresh_from_db()
    assert touch.status == "failed"
    assert touch.last_error.startswith("postmark: bounced (bounced)")
    assert ann.email_suspended_reason.startswith("postmark: bounced (bounced)")
    assert ann.email_suspended_at is not None
    client.force_login(manager)
    page = client.get(f"/customers/{ann.pk}/").content.decode()
    assert "E-mail suspended since" in page
    api = client.get(f"/api/v1/customers/{ann.pk}/").json()
    assert api["email_suspended_reason"] == ann.email_suspended_reason


def test_a_suspended_address_skips_the_next_touch_with_the_reason(db, ann, eager):
    post(bounce(email_touch(ann)))
    second = Program.objects.create(name="Second")
    step = Step.objects.create(
        program=second,
        order=1,
        name="Offer",
        channel_mode=Step.ChannelMode.FIXED,
        channel=Channel.EMAIL,
        email_subject="Offer",
        email_body="Hello.",
    )
    touch = Touch.objects.create(
        enrollment=Enrollment.objects.create(program=second, customer=ann),
        step=step,
        customer=ann,
        channel=Channel.EMAIL,
        due_at=timezone.now() - timedelta(seconds=1),
        status=Touch.Status.CLAIMED,
        lease_expires_at=timezone.now() + timedelta(minutes=10),
    )

    assert deliver(touch_ids=[touch.pk]) == {"skipped": 1}

    touch.refresh_from_db()
    assert touch.last_error.startswith("E-mail suspended: postmark: bounced")


def test_the_suspension_lifts_when_the_address_changes(db, ann, eager):
    from customers.records import update_customer

    post(bounce(email_touch(ann)))
    ann.refresh_from_db()

    update_customer(customer=ann, data={"email": "ann@new.example.com"}, by=None)

    ann.refresh_from_db()
    assert (ann.email_suspended_reason, ann.email_suspended_at) == ("", None)


def test_three_soft_bounces_within_30_days_suspend_the_address(db, ann, eager):
    touch = email_touch(ann)

    post(bounce(touch, kind="SoftBounce", event=1))
    post(bounce(touch, kind="SoftBounce", event=2))
    ann.refresh_from_db()
    assert ann.email_suspended_reason == ""
    post(bounce(touch, kind="SoftBounce", event=3))

    ann.refresh_from_db()
    assert ann.email_suspended_reason == "postmark: 3 soft bounces within 30 days"
    touch.refresh_from_db()
    assert touch.status == "sent"  # a soft bounce may still be delivered


def test_a_complaint_withdraws_email_consent_with_its_source(db, ann, eager):
    touch = email_touch(ann)

    assert post(complaint(touch)).status_code == 200

    ann.refresh_from_db()
    assert ann.consent_email is False
    change = ConsentChange.objects.get(customer=ann, channel="email")
    assert (change.granted, change.source) == (False, "complaint")
    assert TimelineEntry.objects.filter(
        customer=ann, kind=TimelineEntry.Kind.CONSENT, title__endswith="(complaint)"
    ).exists()


def test_delivered_makes_the_touch_delivered(db, ann, eager):
    touch = email_touch(ann)

    post(delivery(touch))

    touch.refresh_from_db()
    assert touch.status == "delivered"


def test_a_touch_in_review_is_settled_by_delivered(db, ann, eager):
    touch = email_touch(ann, status=Touch.Status.REVIEW)
    Touch.objects.filter(pk=touch.pk).update(provider_message_id="")  # the crash left none

    post(delivery(touch))

    touch.refresh_from_db()
    assert (touch.status, touch.unsettled) == ("delivered", False)
    assert touch.provider_message_id == MESSAGE


def test_the_same_event_twice_changes_nothing(db, ann, eager):
    touch = email_touch(ann)

    first, second = post(bounce(touch)), post(bounce(touch))

    assert (first.status_code, second.status_code) == (200, 200)
    assert ProviderEvent.objects.count() == 1
    ann.refresh_from_db()
    suspended_at = ann.email_suspended_at
    post(bounce(touch))
    ann.refresh_from_db()
    assert ann.email_suspended_at == suspended_at


def test_a_delivered_after_a_bounce_does_not_undo_it(db, ann, eager):
    touch = email_touch(ann)

    post(bounce(touch))
    post(delivery(touch))

    touch.refresh_from_db()
    ann.refresh_from_db()
    assert touch.status == "failed"
    assert ann.email_suspended_reason != ""


def test_a_bounce_of_an_earlier_attempt_leaves_the_touch_but_suspends_the_address(db, ann, eager):
    touch = email_touch(ann)
    Touch.objects.filter(pk=touch.pk).update(provider_message_id="a-later-attempt")

    post(bounce(touch))

    touch.refresh_from_db()
    ann.refresh_from_db()
    assert touch.status == "sent"
    assert ann.email_suspended_reason != ""


def test_an_open_is_recorded_and_never_a_response(db, ann, eager):
    touch = email_touch(ann)

    post(engagement(touch, "Open"))

    touch.refresh_from_db()
    assert touch.responded_at is None
    assert ProviderEvent.objects.get().outcome == "opened (may be a privacy proxy)"


def test_a_click_is_a_response_of_the_touch(db, ann, eager):
    touch = email_touch(ann)

    post(engagement(touch, "Click"))
    post(engagement(touch, "Click", at="2026-12-05T09:05:00Z"))

    touch.refresh_from_db()
    assert touch.responded_at is not None
    assert [e.outcome for e in ProviderEvent.objects.order_by("id")] == [
        "clicked: a response",
        "clicked again",
    ]


def test_an_event_for_a_touch_still_being_sent_waits_for_the_send(db, ann, eager):
    touch = email_touch(ann, status=Touch.Status.SENDING)

    post(delivery(touch))

    event = ProviderEvent.objects.get()
    assert event.processed_at is None
    touch.refresh_from_db()
    assert touch.status == "sending"


def test_events_posted_while_no_worker_runs_are_worked_when_one_starts(transactional_db, manager):
    ann = CustomerFactory(owner=manager, email=ANN, consent_email=True)
    touch = email_touch(ann)
    web, base = start_web(ANYMAIL_WEBHOOK_SECRET=SECRET)
    try:
        answers = [post_to(base, complaint(touch)), post_to(base, delivery(touch))]
    finally:
        stop_worker(web)
    assert answers == [200, 200]
    assert ProviderEvent.objects.filter(processed_at__isnull=True).count() == 2

    worker = start_worker(name="mail")
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
    ann.refresh_from_db()
    assert touch.status == "delivered"
    assert ann.consent_email is False


def post_to(base: str, body: dict) -> int:
    """POST a tracking event to a running server, as Postmark does; returns the status code."""
    request = urllib.request.Request(  # noqa: S310 (loopback)
        base + URL,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **auth()},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return response.status


def test_delivered_and_bounced_are_told_to_webhook_subscribers_as_the_api_shows(
    db, ann, eager, manager
):
    from tests.api.conftest import token_client
    from webhooks.models import Event

    delivered, bounced = email_touch(ann), email_touch(ann)
    post(delivery(delivered))
    post(bounce(bounced))

    api = token_client(manager)
    listed = {t["id"]: t for t in api.get("/api/v1/touches/").json()["results"]}
    [told_delivered] = Event.objects.filter(type="touch.delivered")
    [told_bounced] = Event.objects.filter(type="touch.bounced")
    assert told_delivered.data == listed[delivered.pk]
    assert told_bounced.data == listed[bounced.pk]
    assert told_bounced.data["status"] == "failed"
    # The suspension of the address is a change of the customer.
    [updated] = Event.objects.filter(type="customer.updated")
    customer = api.get(f"/api/v1/customers/{ann.pk}/").json()
    assert updated.data["email_suspended_reason"] == customer["email_suspended_reason"] != ""
    assert updated.data["email_suspended_at"] == customer["email_suspended_at"]
