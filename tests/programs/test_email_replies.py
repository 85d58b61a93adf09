"""Replies to our e-mails: Postmark's inbound webhook posted to /anymail/postmark/inbound/ as
Postmark documents it (a JSON body, HTTP basic auth with the webhook secret), parsed by
anymail, stored, and put on the customer's timeline threaded to the touch it answers."""

import base64
import json
import urllib.request
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from bonding.celery import app
from customers import reply_addresses
from customers.models import FollowUp, Interaction, TimelineEntry
from nps.mail import send_invitation_email
from nps.models import Invitation, Survey
from programs import content, email_replies
from programs.models import ProviderEvent, Touch
from tests.conftest import start_web, start_worker, stop_worker
from tests.factories import CustomerFactory
from tests.programs.conftest import wait_until
from tests.programs.test_email_events import email_touch

SECRET = "postmark-hook:5d1b0c4e9a7f"
URL = "/anymail/postmark/inbound/"
DOMAIN = "in.bonding.example.com"
ANN = "ann@example.com"

REPLY_TEXT = (
    "Thanks, the new plan suits us.\n"
    "Could you call me on Tuesday?\n"
    "\n"
    "On Fri, 4 Dec 2026 at 10:00, Bonding <bonding@example.com> wrote:\n"
    "> How are we doing?\n"
    "> Hello.\n"
)


@pytest.fixture(autouse=True)
def inbound_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    settings.INBOUND_DOMAIN = DOMAIN


@pytest.fixture
def eager():
    """Tasks run where they are queued: the request's task is worked before the answer."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def ann(manager):
    return CustomerFactory(owner=manager, email=ANN, consent_email=True, consent_sms=False)


def inbound(
    to: str,
    *,
    text: str = REPLY_TEXT,
    headers: list[dict] | None = None,
    message_id: str = "73e6d360-66eb-11e1-8e72-a8904824019b",
    sender: str = ANN,
) -> dict:
    """An inbound message as Postmark posts it (its documented example, our addresses)."""
    return {
        "FromName": "Ann Customer",
        "MessageStream": "inbound",
        "From": sender,
        "FromFull": {"Email": sender, "Name": "Ann Customer", "MailboxHash": ""},
        "To": f'"Bonding" <{to}>',
        "ToFull": [{"Email": to, "Name": "Bonding", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": to,
        "Subject": "Re: How are we doing?",
        "MessageID": message_id,
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Sat, 5 Dec 2026 09:45:32 +0000",
        "TextBody": text,
        "HtmlBody": "",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": [
            {"Name": "Return-Path", "Value": f"<{sender}>"},
            {"Name": "X-Spam-Status", "Value": "No"},
            *(headers or []),
        ],
        "Attachments": [],
    }


def post(body: dict, *, secret: str | None = SECRET):
    headers = {}
    if secret is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
    return Client().post(URL, json.dumps(body), content_type="application/json", headers=headers)


def touch_address(touch: Touch) -> str:
    return reply_addresses.reply_to(reply_addresses.TOUCH, touch.pk)


def test_program_emails_carry_a_reply_to_of_their_own(db, ann, settings):
    first, second = email_touch(ann), email_touch(CustomerFactory())

    message = content.message_for(touch=first, customer=ann, channel="email")
    other = content.message_for(touch=second, customer=second.customer, channel="email")
    preview = content.message_for(touch=None, customer=ann, channel="email", step=first.step)
    settings.INBOUND_DOMAIN = ""
    unconfigured = content.message_for(touch=first, customer=ann, channel="email")

    reply_to = message.headers["Reply-To"]
    assert reply_to.startswith(f"reply+t{first.pk}-") and reply_to.endswith(f"@{DOMAIN}")
    assert other.headers["Reply-To"] != reply_to
    assert "Reply-To" not in preview.headers
    assert "Reply-To" not in unconfigured.headers


def test_survey_emails_carry_a_reply_to_of_the_invitation(db, ann, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    survey = Survey.objects.create(name="Pulse")
    invitation = Invitation.objects.create(
        survey=survey, customer=ann, token="t" * 32, expires_at=timezone.now() + timedelta(days=9)
    )

    send_invitation_email(invitation, unsubscribe_url="http://testserver/u/x/")

    assert mail.outbox[0].extra_headers["Reply-To"] == reply_addresses.reply_to(
        reply_addresses.INVITATION, invitation.pk
    )


def test_a_made_up_reply_address_names_nothing(db):
    real = reply_addresses.reply_to(reply_addresses.TOUCH, 41)

    assert reply_addresses.find([real]) == ("t", 41)
    assert reply_addresses.find([real.upper()]) == ("t", 41)  # a mail system folded its case
    assert reply_addresses.find([real.replace("+t41-", "+t42-")]) is None
    assert reply_addresses.find(["reply+t42-aaaaaaaaaaaaaaaaaaaa@" + DOMAIN]) is None
    # A whole header: a made-up address first, then ours.
    header = f"x <reply+t42-aaaaaaaaaaaaaaaaaaaa@{DOMAIN}>, Bonding <{real}>"
    assert reply_addresses.find([header]) == ("t", 41)


def test_inbound_is_closed_without_a_secret_and_refuses_wrong_auth(db, ann, settings):
    touch = email_touch(ann)

    wrong = post(inbound(touch_address(touch)), secret="postmark-hook:guessed")
    missing = post(inbound(touch_address(touch)), secret=None)
    settings.ANYMAIL = {}
    closed = post(inbound(touch_address(touch)))

    assert (wrong.status_code, missing.status_code, closed.status_code) == (400, 400, 403)
    assert ProviderEvent.objects.count() == 0


def test_the_reply_is_stored_in_one_query_before_the_answer(db, ann, django_assert_num_queries):
    touch = email_touch(ann)

    with django_assert_num_queries(1):
        assert post(inbound(touch_address(touch))).status_code == 200

    # Stored as posted (parsed by the worker), keyed by Postmark's MessageID, no credentials.
    event = ProviderEvent.objects.get()
    assert (event.provider, event.kind, event.processed_at) == ("postmark", "reply", None)
    assert event.key == "73e6d360-66eb-11e1-8e72-a8904824019b"
    assert json.loads(bytes(event.raw))["From"] == ANN
    assert event.payload["posted"]["meta"]["CONTENT_TYPE"] == "application/json"
    assert "HTTP_AUTHORIZATION" not in event.payload["posted"]["meta"]


def test_a_reply_lands_on_the_timeline_threaded_to_its_touch(db, ann, manager, eager, client):
    touch = email_touch(ann)

    assert post(inbound(touch_address(touch))).status_code == 200

    reply = Interaction.objects.get(customer=ann)
    assert (reply.channel, reply.direction) == ("email", "inbound")
    assert reply.summary == "E-mail reply to “Check-in”: Thanks, the new plan suits us."
    assert reply.notes == "Thanks, the new plan suits us.\nCould you call me on Tuesday?"
    touch.refresh_from_db()
    assert touch.responded_at is not None
    follow_up = FollowUp.objects.get(customer=ann)
    assert follow_up.assignee == manager
    assert timezone.localtime(follow_up.due_at).date() > timezone.localdate(reply.occurred_at)
    assert timezone.localtime(follow_up.due_at).weekday() < 5
    event = ProviderEvent.objects.get()
    assert (event.touch_ref, event.outcome) == (
        touch.pk,
        f"reply of customer {ann.pk} to touch {touch.pk}",
    )
    client.force_login(manager)
    page = client.get(f"/customers/{ann.pk}/").content.decode()
    assert "Thanks, the new plan suits us." in page
    assert "How are we doing?\n" not in page
    # The code's words read in the reader's language; what the customer wrote as written.
    german = Client(headers={"accept-language": "de"})
    german.force_login(manager)
    page = german.get(f"/customers/{ann.pk}/").content.decode()
    assert "E-Mail (eingehend): E-Mail-Antwort auf „Check-in“: Thanks, the new plan" in page
    api = german.get(f"/api/v1/interactions/?customer={ann.pk}").json()["results"]
    assert api[0]["summary"] == "E-Mail-Antwort auf „Check-in“: Thanks, the new plan suits us."


def test_the_same_reply_twice_is_logged_once(db, ann, eager):
    touch = email_touch(ann)

    answers = [post(inbound(touch_address(touch))).status_code for _ in range(2)]

    assert answers == [200, 200]
    assert ProviderEvent.objects.count() == 1
    assert Interaction.objects.filter(customer=ann).count() == 1
    assert FollowUp.objects.filter(customer=ann).count() == 1


@pytest.mark.parametrize(
    "header",
    [
        {"Name": "Auto-Submitted", "Value": "auto-replied"},
        {"Name": "X-Autoreply", "Value": "yes"},
        {"Name": "Precedence", "Value": "bulk"},
        {"Name": "Precedence", "Value": "auto_reply"},
    ],
)
def test_an_auto_reply_is_noted_on_the_touch_and_never_followed_up(db, ann, eager, header):
    touch = email_touch(ann)

    post(inbound(touch_address(touch), text="I am out of office until Monday.", headers=[header]))

    touch.refresh_from_db()
    assert touch.responded_at is None
    assert not Interaction.objects.filter(customer=ann).exists()
    assert not FollowUp.objects.filter(customer=ann).exists()
    event = ProviderEvent.objects.get()
    assert event.touch_ref == touch.pk and event.outcome.startswith("auto-reply (")
    note = TimelineEntry.objects.get(customer=ann, kind=TimelineEntry.Kind.NOTE)
    assert note.title.startswith("Automatic reply to “Check-in” (")


def test_auto_submitted_no_is_a_person_replying(db, ann, eager):
    touch = email_touch(ann)

    post(inbound(touch_address(touch), headers=[{"Name": "Auto-Submitted", "Value": "no"}]))

    assert Interaction.objects.filter(customer=ann).count() == 1


def test_a_delivery_status_report_is_no_reply(db, ann, eager):
    """A bounce sent to the Reply-To address: Postmark then posts the raw MIME."""
    touch = email_touch(ann)
    address = touch_address(touch)
    raw = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        f"To: {address}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        "Final-Recipient: rfc822; someone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b1--\r\n"
    )
    body = inbound(address, sender="MAILER-DAEMON@mx.example.com")
    body["RawEmail"] = raw

    post(body)

    assert ProviderEvent.objects.get().outcome == "auto-reply (delivery status report)"
    assert not FollowUp.objects.filter(customer=ann).exists()


def test_a_reply_to_a_survey_invitation_threads_to_its_touch(db, ann, eager):
    touch = email_touch(ann)
    survey = Survey.objects.create(name="Pulse")
    invitation = Invitation.objects.create(
        survey=survey,
        customer=ann,
        token="s" * 32,
        touch_id=touch.pk,
        expires_at=timezone.now() + timedelta(days=9),
    )

    post(inbound(reply_addresses.reply_to(reply_addresses.INVITATION, invitation.pk)))

    touch.refresh_from_db()
    assert touch.responded_at is not None
    assert Interaction.objects.filter(customer=ann, direction="inbound").count() == 1


def test_a_reply_to_a_survey_sent_on_its_own_lands_on_the_customer(db, ann, eager):
    """A survey invited from the survey pages has no touch: the reply still finds Ann, even
    from another address of hers."""
    invitation = Invitation.objects.create(
        survey=Survey.objects.create(name="Pulse"),
        customer=ann,
        token="o" * 32,
        expires_at=timezone.now() + timedelta(days=9),
    )

    post(
        inbound(
            reply_addresses.reply_to(reply_addresses.INVITATION, invitation.pk),
            sender="ann.private@example.org",
        )
    )

    assert ProviderEvent.objects.get().outcome == f"reply of customer {ann.pk}"
    assert Interaction.objects.filter(customer=ann, direction="inbound").count() == 1
    assert FollowUp.objects.filter(customer=ann).count() == 1


def test_a_forged_reply_address_is_matched_by_the_sender_only(db, ann, eager):
    bob = CustomerFactory(email="bob@example.com")
    bobs_touch = email_touch(bob)
    forged = touch_address(bobs_touch).replace(f"+t{bobs_touch.pk}-", f"+t{bobs_touch.pk + 1}-")

    post(inbound(forged))

    bobs_touch.refresh_from_db()
    assert bobs_touch.responded_at is None
    assert not Interaction.objects.filter(customer=bob).exists()
    assert Interaction.objects.filter(customer=ann).count() == 1  # Ann wrote it


def test_a_reply_from_nobody_we_know_is_kept_unmatched(db, eager):
    post(inbound(f"hello@{DOMAIN}", sender="stranger@example.org"))

    event = ProviderEvent.objects.get()
    assert event.outcome == "unmatched reply: kept for a marketer to assign"
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Yes please.\n\n> earlier\n> more", "Yes please."),
        ("Fine.\n\nOn Mon, 1 Dec 2026 at 10:00, Bonding\n<b@example.com> wrote:\n> x", "Fine."),
        ("Ok\n-----Original Message-----\nFrom: Bonding\nhello", "Ok"),
        ("Ok\r\n\r\nFrom: Bonding <b@example.com>\r\nSent: Monday\r\nTo: Ann\r\n\r\nold", "Ok"),
        ("Danke!\n\nAm 01.12.2026 um 10:00 schrieb Bonding <b@example.com>:\n> alt", "Danke!"),
        ("Line one\nFrom: my desk, with love", "Line one\nFrom: my desk, with love"),
    ],
)
def test_quoted_history_is_trimmed(text, kept):
    assert email_replies.trim_quoted(text) == kept


def test_replies_through_the_real_server_and_worker(transactional_db, manager):
    """A reply, its repeat and an out-of-office reply posted to gunicorn while no worker runs,
    then worked by a real Celery worker."""
    ann = CustomerFactory(owner=manager, email=ANN, consent_email=True)
    touch = email_touch(ann)
    address = touch_address(touch)
    env = {"ANYMAIL_WEBHOOK_SECRET": SECRET, "INBOUND_DOMAIN": DOMAIN}
    web, base = start_web(**env)
    try:
        answers = [
            post_to(base, inbound(address)),
            post_to(base, inbound(address)),
            post_to(
                base,
                inbound(
                    address,
                    text="Out of office.",
                    headers=[{"Name": "Auto-Submitted", "Value": "auto-replied"}],
                    message_id="out-of-office-1",
                ),
            ),
        ]
    finally:
        stop_worker(web)
    assert answers == [200, 200, 200]
    assert ProviderEvent.objects.filter(processed_at__isnull=True).count() == 2

    worker = start_worker(name="replies", **env)
    try:
        wait_until(
            lambda: not ProviderEvent.objects.filter(processed_at__isnull=True).exists(),
            timeout=60,
            what="the worker to work both replies",
            detail=lambda: "".join(worker.log),
        )
    finally:
        stop_worker(worker)
    touch.refresh_from_db()
    assert touch.responded_at is not None
    assert Interaction.objects.filter(customer=ann, direction="inbound").count() == 1
    assert FollowUp.objects.filter(customer=ann).count() == 1
    assert TimelineEntry.objects.filter(customer=ann, title__startswith="Automatic reply").exists()


def post_to(base: str, body: dict) -> int:
    """POST an inbound message to a running server, as Postmark does; the status code."""
    request = urllib.request.Request(  # noqa: S310 (loopback)
        base + URL,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(SECRET.encode()).decode(),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return response.status
