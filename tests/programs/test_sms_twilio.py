"""The Twilio SMS backend: the real twilio client against a local HTTP server that speaks the
part of Twilio's REST API the backend uses (POST /2010-04-01/Accounts/{sid}/Messages.json),
asserting what the client sent, and each kind of answer mapped to the touch's fate."""

import base64
import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from customers.models import Channel, Customer
from programs.channels import Message, PermanentError, TransientError, UncertainError
from programs.channels.sms_twilio import TwilioBackend
from programs.delivery import deliver
from programs.models import Enrollment, Program, Step, Touch

ACCOUNT = "AC" + "1" * 32
TOKEN = "test-auth-token"
SERVICE = "MG" + "2" * 32


class TwilioStandIn(ThreadingHTTPServer):
    """Answers each POST with the next scripted answer and keeps what it was sent."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict] = []
        self.answers: list[tuple] = []
        self.release = threading.Event()  # ends a "hang" answer
        self.sids = iter(f"SM{n:032x}" for n in range(1, 10_000))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: TwilioStandIn

    def log_message(self, *args) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        auth = base64.b64decode(self.headers["Authorization"].split()[1]).decode()
        self.server.received.append({"path": self.path, "form": form, "auth": auth})
        answer = self.server.answers.pop(0) if self.server.answers else ("created",)
        if answer[0] == "hang":
            self.server.release.wait(timeout=30)
            return
        if answer[0] == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if answer[0] == "created":
            status, body = 201, self._message(form)
        else:
            status, code, text = answer[1], answer[2], answer[3]
            body = {"code": code, "message": text, "more_info": "", "status": status}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _message(self, form: dict) -> dict:
        return {
            "sid": next(self.server.sids),
            "account_sid": ACCOUNT,
            "to": form.get("To"),
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body"),
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/x.json",
        }


@pytest.fixture
def twilio(settings) -> Iterator[TwilioStandIn]:
    server = TwilioStandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "programs.channels.sms_twilio.TwilioBackend"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_MESSAGING_SERVICE_SID = SERVICE
    settings.TWILIO_FROM_NUMBER = ""
    settings.TWILIO_API_URL = server.url
    settings.SITE_URL = "https://crm.example.com"
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def message(touch_id: int = 7) -> Message:
    return Message(touch_id=touch_id, to="+14155552671", subject="", text="Hello Ann")


def claimed_sms_touch() -> Touch:
    program = Program.objects.create(name="Texts")
    step = Step.objects.create(
        program=program,
        order=1,
        name="Check-in",
        channel_mode=Step.ChannelMode.FIXED,
        channel=Channel.SMS,
        sms_body="Hello {{ first_name }}, how are we doing?",
    )
    customer = Customer.objects.create(
        first_name="Ann", phone="+14155552671", consent_sms=True, email="ann@example.com"
    )
    enrollment = Enrollment.objects.create(program=program, customer=customer)
    return Touch.objects.create(
        enrollment=enrollment,
        step=step,
        customer=customer,
        channel=Channel.SMS,
        due_at=timezone.now() - timedelta(seconds=1),
        status=Touch.Status.CLAIMED,
        lease_expires_at=timezone.now() + timedelta(minutes=10),
    )


def test_it_sends_through_the_messaging_service_with_a_status_callback(twilio):
    sid = TwilioBackend().send(message(touch_id=42))

    (request,) = twilio.received
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request["auth"] == f"{ACCOUNT}:{TOKEN}"
    assert request["form"] == {
        "To": "+14155552671",
        "Body": "Hello Ann",
        "MessagingServiceSid": SERVICE,
        "StatusCallback": "https://crm.example.com/sms/twilio/status/?touch=42",
    }
    assert sid == f"SM{1:032x}"


def test_it_sends_from_a_number_without_a_messaging_service(twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_FROM_NUMBER = "+15005550006"

    TwilioBackend().send(message())

    (request,) = twilio.received
    assert request["form"]["From"] == "+15005550006"
    assert "MessagingServiceSid" not in request["form"]


def test_an_invalid_number_is_permanent_with_twilios_code_and_message(twilio):
    twilio.answers.append(
        ("error", 400, 21211, "The 'To' number +1415 is not a valid phone number.")
    )

    with pytest.raises(PermanentError) as error:
        TwilioBackend().send(message())

    assert str(error.value) == (
        "Twilio 400 error 21211: The 'To' number +1415 is not a valid phone number."
    )


@pytest.mark.parametrize("status", [429, 500, 503])
def test_busy_or_broken_twilio_is_transient(twilio, status):
    twilio.answers.append(("error", status, 20429 if status == 429 else 20500, "Try later"))

    with pytest.raises(TransientError, match=f"Twilio {status}"):
        TwilioBackend().send(message())


def test_twilio_not_listening_is_transient(settings, twilio):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.TWILIO_API_URL = f"http://127.0.0.1:{closed_port}"

    with pytest.raises(TransientError, match="Twilio not reached"):
        TwilioBackend().send(message())


def test_no_answer_after_the_request_went_out_is_uncertain(twilio, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 0.5
    twilio.answers.append(("hang",))

    with pytest.raises(UncertainError, match="after the message was sent"):
        TwilioBackend().send(message())

    assert len(twilio.received) == 1  # it reached Twilio, and was not sent twice


def test_a_connection_dropped_after_the_request_is_uncertain(twilio):
    twilio.answers.append(("drop",))

    with pytest.raises(UncertainError):
        TwilioBackend().send(message())

    assert len(twilio.received) == 1


def test_a_delivered_touch_keeps_twilios_sid(db, twilio):
    touch = claimed_sms_touch()

    assert deliver(touch_ids=[touch.pk]) == {"sent": 1}

    touch.refresh_from_db()
    (request,) = twilio.received
    assert (touch.status, touch.message_id) == ("sent", f"SM{1:032x}")
    assert request["form"]["Body"] == "Hello Ann, how are we doing? Reply STOP to opt out."
    assert request["form"]["StatusCallback"].endswith(f"/sms/twilio/status/?touch={touch.pk}")


def test_a_refused_number_fails_the_touch_with_the_reason(db, twilio):
    touch = claimed_sms_touch()
    twilio.answers.append(("error", 400, 21614, "'To' number is not a valid mobile number"))

    assert deliver(touch_ids=[touch.pk]) == {"failed": 1}

    touch.refresh_from_db()
    assert touch.status == "failed"
    assert touch.last_error == "Twilio 400 error 21614: 'To' number is not a valid mobile number"


def test_a_busy_twilio_schedules_the_touch_again(db, twilio):
    touch = claimed_sms_touch()
    twilio.answers.append(("error", 429, 20429, "Too Many Requests"))

    assert deliver(touch_ids=[touch.pk]) == {"retry": 1}

    touch.refresh_from_db()
    assert touch.status == "scheduled"
    assert touch.last_error == "Twilio 429 error 20429: Too Many Requests"


def test_a_timeout_sends_the_touch_to_review_never_again_to_twilio(db, twilio, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 0.5
    touch = claimed_sms_touch()
    twilio.answers.append(("hang",))

    assert deliver(touch_ids=[touch.pk]) == {"review": 1}

    touch.refresh_from_db()
    assert touch.status == "review"
    assert len(twilio.received) == 1


def test_proxies_and_ca_bundle_of_the_environment_are_read_once_per_connection(twilio, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.com:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/our-ca.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    session = TwilioBackend().client.http_client.session

    assert session.trust_env is False  # not read again for every text
    assert session.proxies["http"] == "http://proxy.example.com:3128"
    assert session.verify == "/etc/ssl/our-ca.pem"
