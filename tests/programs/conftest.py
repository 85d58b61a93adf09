"""Fixtures of the delivery tests: a real SMTP sink, due touches, real workers, waiting."""

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.utils import timezone

from customers.models import Channel, Customer
from programs import content
from programs.models import Enrollment, Program, Step, Touch
from programs.placement import FINAL
from tests.conftest import start_worker, stop_worker


class Sink:
    """An aiosmtpd handler that records what it accepted, and misbehaves when told to.

    `delay` slows every DATA down before the message is stored; `answer_delay` stores it, then
    waits that long before answering (a server that queued it but answers late); `slow_rcpt`
    makes the next N RCPT commands wait `rcpt_delay` seconds; `defer_rcpt` / `defer_data`
    answer the next N RCPT or DATA commands with 451; `refuse` answers RCPT for those
    addresses with 550; `hold`, when set to an unset Event, keeps DATA waiting until it is set.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.sessions = 0
        self.delay = 0.0
        self.answer_delay = 0.0
        self.defer_rcpt = 0
        self.defer_data = 0
        self.slow_rcpt = 0
        self.rcpt_delay = 0.0
        self.refuse: set[str] = set()
        self.hold: threading.Event | None = None
        self.url = ""
        self.port = 0

    def counts(self) -> Counter[str]:
        """Times each Message-ID was accepted, copied under the lock."""
        with self.lock:
            return Counter(self.received)

    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        # Every client connection greets once: the number of greetings is the connections used.
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            slow = self.slow_rcpt > 0
            self.slow_rcpt -= slow
        if slow:
            await asyncio.sleep(self.rcpt_delay)
        with self.lock:
            if address in self.refuse:
                return "550 5.1.1 Mailbox unavailable"
            if self.defer_rcpt > 0:
                self.defer_rcpt -= 1
                return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            if self.defer_data > 0:
                self.defer_data -= 1
                return "451 4.3.0 Try again later"
        if self.delay:
            await asyncio.sleep(self.delay)
        deadline = time.monotonic() + 30
        while self.hold is not None and not self.hold.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        headers = BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        with self.lock:
            self.received[headers["Message-ID"]] += 1
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_sink():
    """A real SMTP server on a free loopback port, in a thread of the test process."""
    chatty = logging.getLogger("mail.log")  # aiosmtpd logs a line per SMTP command
    level = chatty.level
    chatty.setLevel(logging.WARNING)
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.url = f"smtp://127.0.0.1:{port}"
    sink.port = port
    yield sink
    controller.stop()
    chatty.setLevel(level)


@pytest.fixture
def smtp_settings(settings, smtp_sink):
    """Point this process's Django mail at the sink (workers get EMAIL_URL instead)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return settings


@pytest.fixture
def make_touches() -> Callable[..., list[Touch]]:
    """Make `count` customers in a one-step e-mail program, each with one touch due now."""

    def make(
        count: int,
        *,
        due_at: datetime | None = None,
        consents: tuple[str, ...] = (Channel.EMAIL,),
        fallbacks: tuple[str, ...] = (),
    ) -> list[Touch]:
        program = Program.objects.create(name="Delivery test")
        step = Step.objects.create(
            program=program,
            order=1,
            name="Hello",
            channel_mode=Step.ChannelMode.FIXED,
            channel=Channel.EMAIL,
            fallbacks=list(fallbacks),
            email_subject="Hello {{ first_name }}",
            email_body="Dear {{ first_name }},\n\nhello from {{ organization_name }}.",
            sms_body="Hello {{ first_name }}",
        )
        start = Customer.objects.count()
        customers = Customer.objects.bulk_create(
            Customer(
                first_name=f"Ann{start + n}",
                email=f"customer{start + n}@example.com",
                phone=f"+1415555{start + n:04d}",
                **{f"consent_{channel}": True for channel in consents},
            )
            for n in range(count)
        )
        enrollments = Enrollment.objects.bulk_create(
            Enrollment(program=program, customer=customer) for customer in customers
        )
        due = due_at or timezone.now() - timedelta(seconds=1)
        return Touch.objects.bulk_create(
            Touch(
                enrollment=enrollment,
                step=step,
                customer=enrollment.customer,
                due_at=due,
                channel=Channel.EMAIL,
            )
            for enrollment in enrollments
        )

    return make


def message_ids(touches: list[Touch]) -> dict[int, str]:
    """The Message-ID each touch goes out with."""
    return {touch.pk: content.message_id_for(touch.pk, touch.occurrence) for touch in touches}


def wait_until(
    condition: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    detail: Callable[[], str] = lambda: "",
) -> Any:
    """Poll `condition` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{detail()}")
        time.sleep(interval)


def unfinished() -> int:
    """Touches not yet in a final state."""
    return Touch.objects.exclude(status__in=FINAL).count()


def statuses() -> Counter[str]:
    return Counter(Touch.objects.values_list("status", flat=True))


class Workers:
    """Real Celery worker processes on the test broker, sending to the sink."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.processes = []

    def start(self, name: str, concurrency: int = 1, **env: str):
        process = start_worker(name=name, concurrency=concurrency, EMAIL_URL=self.sink.url, **env)
        self.processes.append(process)
        return process

    def log(self) -> str:
        """The end of every worker's output, for a failure message."""
        return (
            "\n".join("".join(process.log[-40:]) for process in self.processes)
            + f"\nstatuses: {dict(statuses())}"
        )

    def stop_all(self) -> None:
        for process in self.processes:
            stop_worker(process)


def purge_broker() -> None:
    """Drop queued and unacknowledged messages so no test's tasks reach the next test."""
    from bonding.celery import app

    with contextlib.suppress(Exception):
        app.control.purge()
        with app.connection_for_write() as connection:
            connection.default_channel.client.delete("unacked", "unacked_index")


@pytest.fixture
def workers(smtp_sink):
    """Start workers with `workers.start(name=..., concurrency=..., **env)`; all stop after."""
    # A missing broker fails the test: a CI that lost it must not pass without fault tests.
    if not django_settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("needs the Redis broker of bin/with-test-services (CELERY_BROKER_URL)")
    purge_broker()
    pool = Workers(smtp_sink)
    yield pool
    pool.stop_all()
    purge_broker()
