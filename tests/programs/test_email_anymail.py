"""E-mail through an e-mail service provider: anymail's Postmark backend against a local HTTP
server that speaks Postmark's POST /email, asserting what was sent, and each kind of answer
mapped to the touch's fate; the provider's message id is kept beside our Message-ID."""

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from customers.models import Channel, Customer
from programs.channels import Message, PermanentError, TransientError
from programs.channels import email as email_channel
from programs.delivery import deliver
from programs.models import Enrollment, Program, Step, Touch

SERVER_TOKEN = "postmark-server-token"
# Postmark's answer to a send to an address that bounced hard or complained before.
INACTIVE = (
    422,
    {
        "ErrorCode": 406,
        "Message": "You tried to send to a recipient that has been marked as inactive.\n"
        "Found inactive addresses: ann@example.com.\n"
        "Inactive recipients are ones that have generated a hard bounce or a spam complaint.",
    },
)


class PostmarkStandIn(ThreadingHTTPServer):
    """Answers each POST with the next scripted answer and keeps what it was sent."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        self.ids = iter(f"0a129aee-e1cd-480d-b08d-{n:012d}" for n in range(1, 10_000))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(BaseHTTPRequestHandler):
    server: PostmarkStandIn

    def log_message(self, *args) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.server.received.append(
            {"path": self.path, "token": self.headers["X-Postmark-Server-Token"], "json": body}
        )
        if self.server.answers:
            status, answer = self.server.answers.pop(0)
        else:
            status, answer = (
                200,
                {
                    "To": body["To"],
                    "SubmittedAt": "2026-12-05T09:00:00.0000000-05:00",
                    "MessageID": next(self.server.ids),
                    "ErrorCode": 0,
                    "Message": "OK",
                },
            )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def postmark(settings) -> Iterator[PostmarkStandIn]:
    server = PostmarkStandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": SERVER_TOKEN, "POSTMARK_API_URL": server.url}
    settings.DEFAULT_FROM_EMAIL = "Bonding <bonding@example.com>"
    yield server
    server.shutdown()
    server.server_close()


def message(touch_id: int = 7) -> Message:
    return Message(
        touch_id=touch_id,
        to="ann@example.com",
        subject="How are we doing?",
        text="Hello Ann",
        html="<p>Hello Ann</p>",
        message_id="<touch-7@bonding.example.com>",
    )


def claimed_email_touch() -> Touch:
    program = Program.objects.create(name="Mail")
    step = Step.objects.create(
        program=program,
        order=1,
        name="Check-in",
        channel_mode=Step.ChannelMode.FIXED,
        channel=Channel.EMAIL,
        email_subject="How are we doing, {{ first_name }}?",
        email_body="Hello {{ first_name }}.",
    )
    customer = Customer.objects.create(
        first_name="Ann", email="ann@example.com", consent_email=True
    )
    enrollment = Enrollment.objects.create(program=program, customer=customer)
    return Touch.objects.create(
        enrollment=enrollment,
        step=step,
        customer=customer,
        channel=Channel.EMAIL,
        due_at=timezone.now() - timedelta(seconds=1),
        status=Touch.Status.CLAIMED,
        lease_expires_at=timezone.now() + timedelta(minutes=10),
    )


def test_it_posts_the_message_to_postmarks_email_endpoint(postmark):
    with email_channel.open() as connection:
        outcome = email_channel.send(message(touch_id=42), connection)

    (request,) = postmark.received
    assert request["path"] == "/email"
    assert request["token"] == SERVER_TOKEN
    sent = request["json"]
    assert (sent["From"], sent["To"], sent["Subject"]) == (
        "Bonding <bonding@example.com>",
        "ann@example.com",
        "How are we doing?",
    )
    assert (sent["TextBody"], sent["HtmlBody"]) == ("Hello Ann", "<p>Hello Ann</p>")
    assert {"Name": "Message-ID", "Value": "<touch-7@bonding.example.com>"} in sent["Headers"]
    assert sent["Metadata"] == {"touch": "42"}
    assert outcome.message_id == "<touch-7@bonding.example.com>"
    assert outcome.provider_id == "0a129aee-e1cd-480d-b08d-000000000001"


def test_an_inactive_recipient_is_permanent(postmark):
    postmark.answers.append(INACTIVE)

    with pytest.raises(PermanentError), email_channel.open() as connection:
        email_channel.send(message(), connection)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_busy_or_broken_provider_is_transient(postmark, status):
    postmark.answers.append((status, {"ErrorCode": 100, "Message": "Try later"}))

    with pytest.raises(TransientError, match="provider error"), email_channel.open() as session:
        email_channel.send(message(), session)


def test_a_provider_not_listening_is_transient(postmark, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": SERVER_TOKEN,
        "POSTMARK_API_URL": f"http://127.0.0.1:{closed_port}/",
    }

    with pytest.raises(TransientError, match="provider unreachable"), email_channel.open() as c:
        email_channel.send(message(), c)


def test_a_sent_touch_keeps_our_message_id_and_the_providers(db, postmark):
    touch = claimed_email_touch()

    assert deliver(touch_ids=[touch.pk]) == {"sent": 1}

    touch.refresh_from_db()
    (request,) = postmark.received
    assert touch.status == "sent"
    assert touch.provider_message_id == "0a129aee-e1cd-480d-b08d-000000000001"
    assert {"Name": "Message-ID", "Value": touch.message_id} in request["json"]["Headers"]
    assert request["json"]["Subject"] == "How are we doing, Ann?"
    assert request["json"]["Metadata"] == {"touch": str(touch.pk)}


def test_a_refused_recipient_fails_the_touch_with_the_reason(db, postmark):
    touch = claimed_email_touch()
    postmark.answers.append(INACTIVE)

    assert deliver(touch_ids=[touch.pk]) == {"failed": 1}

    touch.refresh_from_db()
    assert touch.status == "failed"
    assert touch.last_error.startswith("recipient refused by the provider")
    assert touch.provider_message_id == ""
