"""A batch of texts sent over several connections to Twilio at once (programs/delivery_pool.py),
through the real twilio client and a local stand-in of its Messages API: every touch handed
over exactly once, each answer mapped to its own touch, and a batch that loses the database
mid-way hands its retry what it sent."""

import json
import sys
import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.db import OperationalError
from django.utils import timezone

from customers.models import Channel, Customer, TimelineEntry
from programs import delivery
from programs.delivery import DeliveryInterrupted, deliver
from programs.delivery_pool import SWITCH_INTERVAL, Pool
from programs.models import Enrollment, Program, Step, Touch

ACCOUNT = "AC" + "3" * 32
REFUSED = "+14155550003"  # Twilio refuses this number
BUSY = "+14155550005"  # Twilio is busy (429) for this one


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.received: list[str] = []
        # The first two requests wait for each other: they meet only if both are in flight.
        self.meeting = threading.Barrier(2, timeout=5)
        self.met = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandIn

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        to = form["To"][0]
        with self.server.lock:
            self.server.received.append(to)
            number = len(self.server.received)
        if number <= 2:
            try:
                self.server.meeting.wait()
                self.server.met = True
            except threading.BrokenBarrierError:
                pass
        if to == REFUSED:
            status, body = 400, {"code": 21614, "message": "not a mobile number", "status": 400}
        elif to == BUSY:
            status, body = 429, {"code": 20429, "message": "Too Many Requests", "status": 429}
        else:
            status, body = 201, {"sid": f"SM{to[1:]:0>32}", "account_sid": ACCOUNT, "to": to}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def twilio(settings):
    server = StandIn()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SMS_BACKEND = "programs.channels.sms_twilio.TwilioBackend"
    settings.SMS_SEND_CONNECTIONS = 3
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT, "token"
    settings.TWILIO_MESSAGING_SERVICE_SID, settings.TWILIO_FROM_NUMBER = "MG" + "4" * 32, ""
    settings.TWILIO_API_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.SITE_URL = "https://crm.example.com"
    yield server
    server.shutdown()
    server.server_close()


def claimed_texts(phones: list[str]) -> list[Touch]:
    program = Program.objects.create(name="Texts")
    step = Step.objects.create(
        program=program,
        order=1,
        name="Check-in",
        channel_mode=Step.ChannelMode.FIXED,
        channel=Channel.SMS,
        sms_body="Hello {{ first_name }}!",
    )
    touches = []
    for phone in phones:
        customer = Customer.objects.create(first_name="Ann", phone=phone, consent_sms=True)
        enrollment = Enrollment.objects.create(program=program, customer=customer)
        touches.append(
            Touch.objects.create(
                enrollment=enrollment,
                step=step,
                customer=customer,
                channel=Channel.SMS,
                due_at=timezone.now() - timedelta(seconds=1),
                status=Touch.Status.CLAIMED,
                lease_expires_at=timezone.now() + timedelta(minutes=10),
            )
        )
    return touches


def phones(count: int) -> list[str]:
    return [f"+1415555{n:04d}" for n in range(100, 100 + count)]


def test_a_batch_goes_over_several_connections_each_text_once(db, twilio):
    touches = claimed_texts([*phones(8), REFUSED, BUSY])

    outcomes = deliver(touch_ids=[touch.pk for touch in touches])

    assert outcomes == {"sent": 8, "failed": 1, "retry": 1}
    assert twilio.met  # two texts were in flight at once
    assert sorted(twilio.received) == sorted([*phones(8), REFUSED, BUSY])  # each once
    for touch in touches:
        touch.refresh_from_db()
    by_phone = {touch.customer.phone: touch for touch in touches}
    for phone in phones(8):
        touch = by_phone[phone]
        assert (touch.status, touch.message_id) == ("sent", f"SM{phone[1:]:0>32}")
        assert touch.lease_expires_at is None and not touch.unsettled
    assert by_phone[REFUSED].status == "failed"
    assert by_phone[REFUSED].last_error.startswith("Twilio 400 error 21614")
    assert (by_phone[BUSY].status, by_phone[BUSY].attempts) == ("scheduled", 1)
    lines = Counter(
        TimelineEntry.objects.filter(kind=TimelineEntry.Kind.TOUCH).values_list(
            "source_id", flat=True
        )
    )
    assert lines == {by_phone[phone].pk: 1 for phone in phones(8)}


def test_texts_go_out_with_the_shorter_switch_interval_which_the_batch_then_gives_back(
    db, twilio, monkeypatch
):
    touches = claimed_texts(phones(3))
    seen: list[float] = []
    hand_over = Pool._hand_over

    def noting_the_interval(pool, message):
        seen.append(sys.getswitchinterval())
        return hand_over(pool, message)

    monkeypatch.setattr(Pool, "_hand_over", noting_the_interval)
    before = sys.getswitchinterval()

    assert deliver(touch_ids=[touch.pk for touch in touches]) == {"sent": 3}

    assert seen == [SWITCH_INTERVAL] * 3
    assert sys.getswitchinterval() == before > SWITCH_INTERVAL


def test_a_batch_losing_the_database_hands_its_retry_what_it_sent(db, twilio, monkeypatch):
    touches = claimed_texts(phones(10))
    ids = [touch.pk for touch in touches]
    claims = 0

    def losing_the_database_at_the_third(real):
        def claim(*args):
            nonlocal claims
            claims += 1
            if claims == 3:
                raise OperationalError("server closed the connection unexpectedly")
            return real(*args)

        return claim

    # Several touches claimed at once, or one (when one connection is free).
    monkeypatch.setattr(Pool, "_claim_many", losing_the_database_at_the_third(Pool._claim_many))
    monkeypatch.setattr(
        delivery, "_claim_to_send", losing_the_database_at_the_third(delivery._claim_to_send)
    )
    with pytest.raises(DeliveryInterrupted) as interrupted:
        deliver(touch_ids=ids)
    monkeypatch.undo()

    handed_over = len(twilio.received)
    assert 1 <= handed_over < 10
    assert len(interrupted.value.resume["sent"]) == handed_over
    assert not TimelineEntry.objects.exists()
    assert deliver(touch_ids=ids, resume=interrupted.value.resume) == {"sent": 10 - handed_over}

    assert sorted(twilio.received) == sorted(phones(10))  # none twice
    assert Counter(Touch.objects.values_list("status", flat=True)) == {"sent": 10}
    assert not Touch.objects.filter(unsettled=True).exists()
    assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.TOUCH).count() == 10


def test_file_and_console_backends_send_one_by_one(settings):
    from programs.channels import sms

    settings.SMS_SEND_CONNECTIONS = 4
    settings.SMS_BACKEND = "programs.channels.sms.FileBackend"
    assert sms.connections() == 1
    settings.SMS_BACKEND = "programs.channels.sms_twilio.TwilioBackend"
    assert sms.connections() == 4


def test_the_claim_of_several_checks_each_touch_afresh(db, twilio):
    """Consent withdrawn, the number changed or the enrollment paused after the batch was
    read: the claim of several at once refuses those as the claim of one does, and the slow
    path says why."""
    touches = claimed_texts(phones(5))
    Customer.objects.filter(pk=touches[1].customer_id).update(consent_sms=False)
    Customer.objects.filter(pk=touches[2].customer_id).update(phone="+14155559999")
    Enrollment.objects.filter(pk=touches[3].enrollment_id).update(status="paused")

    outcomes = deliver(touch_ids=[touch.pk for touch in touches])

    assert outcomes["sent"] == 3  # the first, the last, and the one at its new number
    assert sorted(twilio.received) == sorted([phones(5)[0], "+14155559999", phones(5)[4]])
    statuses = {touch.pk: Touch.objects.get(pk=touch.pk).status for touch in touches}
    assert statuses[touches[1].pk] == "skipped" and statuses[touches[3].pk] == "skipped"
