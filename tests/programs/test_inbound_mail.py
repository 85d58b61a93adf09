"""Replies stored as posted and parsed by the worker (programs.inbound_mail): a body anymail
cannot read is kept and listed, a repeat is one row, nothing waits on a worker to answer, and
a signed provider (Mailgun) is checked before anything is stored."""

import base64
import hashlib
import hmac
import json

import pytest
from django.test import Client

from customers.models import FollowUp, Interaction
from programs import email_replies
from programs.models import ProviderEvent, UnmatchedReply
from programs.sms_events import drain
from tests.programs.test_email_events import email_touch
from tests.programs.test_email_replies import (
    ANN,
    SECRET,
    inbound,
    post,
    touch_address,
)
from tests.programs.test_email_replies import ann as ann  # noqa: F401 (a fixture)
from tests.programs.test_email_replies import eager as eager  # noqa: F401 (a fixture)
from tests.programs.test_email_replies import inbound_settings as inbound_settings  # noqa: F401

MAILGUN_KEY = "mailgun-signing-key-0123"
AUTH = {"Authorization": "Basic " + base64.b64encode(SECRET.encode()).decode()}


def post_raw(body: bytes) -> int:
    return (
        Client()
        .post("/anymail/postmark/inbound/", body, content_type="application/json", headers=AUTH)
        .status_code
    )


def test_a_reply_waits_as_posted_and_is_parsed_when_a_worker_comes(db, ann):  # noqa: F811
    touch = email_touch(ann)

    assert post(inbound(touch_address(touch))).status_code == 200
    assert ProviderEvent.objects.get().processed_at is None  # no worker: stored, waiting
    assert not Interaction.objects.exists()

    assert drain() == (1, 0)

    event = ProviderEvent.objects.get()
    assert event.raw is None  # the request gives way to the message anymail read from it
    assert email_replies.sender_of(event.payload) == ANN
    assert event.payload["subject"] == "Re: How are we doing?"
    assert event.outcome == f"reply of customer {ann.pk} to touch {touch.pk}"
    assert Interaction.objects.filter(customer=ann, direction="inbound").count() == 1
    assert drain() == (0, 0)  # worked once


def test_a_repeat_is_one_row_before_and_after_it_is_worked(db, ann):  # noqa: F811
    touch = email_touch(ann)
    body = inbound(touch_address(touch))

    assert [post(body).status_code, post(body).status_code] == [200, 200]
    drain()
    assert post(body).status_code == 200
    drain()

    assert ProviderEvent.objects.count() == 1
    assert Interaction.objects.filter(customer=ann).count() == 1
    assert FollowUp.objects.filter(customer=ann).count() == 1


def test_without_the_providers_id_the_body_is_the_key(db, ann):  # noqa: F811
    body = inbound(touch_address(email_touch(ann)))
    del body["MessageID"]
    raw = json.dumps(body).encode()

    assert [post_raw(raw), post_raw(raw)] == [200, 200]

    assert ProviderEvent.objects.get().key == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_a_body_anymail_cannot_read_is_kept_and_listed_never_a_5xx(db, eager):  # noqa: F811
    assert post_raw(b'{"From": "ann@example.com", "To": ') == 200

    event = ProviderEvent.objects.get()
    assert event.processed_at is not None
    assert event.outcome.startswith("unreadable: JSONDecodeError")
    assert bytes(event.raw) == b'{"From": "ann@example.com", "To": '  # kept for a person
    listed = UnmatchedReply.objects.get()
    assert listed.event == event and "could not be read" in listed.subject
    assert f"provider event {event.pk}" in listed.body
    assert not Interaction.objects.exists()


def test_a_tracking_webhook_set_to_the_inbound_url_is_refused(db):
    answer = post_raw(json.dumps({"RecordType": "Delivery", "MessageID": "x"}).encode())

    assert answer == 403
    assert not ProviderEvent.objects.exists()


def mailgun_form(to: str, *, key: str = MAILGUN_KEY) -> dict:
    """An inbound message as Mailgun's forward() route posts it (fully parsed, signed)."""
    timestamp, token = "1765100000", "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "recipient": to,
        "sender": ANN,
        "from": f"Ann Customer <{ANN}>",
        "subject": "Re: How are we doing?",
        "body-plain": "Call me on Tuesday.\n\nOn Fri, 4 Dec 2026, Bonding wrote:\n> Hello",
        "message-headers": json.dumps(
            [
                ["From", f"Ann Customer <{ANN}>"],
                ["To", to],
                ["Subject", "Re: How are we doing?"],
                ["Message-Id", "<abc@mail.example.com>"],
            ]
        ),
        "timestamp": timestamp,
        "token": token,
        "signature": signature.hexdigest(),
    }


def test_a_signed_mailgun_reply_is_checked_then_parsed_by_the_worker(
    db,
    ann,  # noqa: F811
    settings,
):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    touch = email_touch(ann)
    url = "/anymail/mailgun/inbound/"

    forged = Client().post(url, mailgun_form(touch_address(touch), key="guessed"), headers=AUTH)
    assert forged.status_code == 400 and not ProviderEvent.objects.exists()
    answers = [
        Client().post(url, mailgun_form(touch_address(touch)), headers=AUTH).status_code
        for _ in range(2)
    ]
    assert answers == [200, 200]
    event = ProviderEvent.objects.get()  # keyed by Mailgun's token: one row
    assert (event.provider, event.key) == ("mailgun", mailgun_form("")["token"])

    drain()

    reply = Interaction.objects.get(customer=ann, direction="inbound")
    assert reply.notes == "Call me on Tuesday."
    touch.refresh_from_db()
    assert touch.responded_at is not None


@pytest.mark.parametrize("method", ["head", "options"])
def test_a_provider_checking_the_url_gets_anymails_answer(db, method):
    assert getattr(Client(), method)("/anymail/postmark/inbound/").status_code == 200
