"""SMS throughput: inbound events through Twilio's webhook URL, and delivery through Twilio's API.

    flock /tmp/bonding-bench.lock bin/with-test-services .venv/bin/python bench/sms.py

Creates (afresh) and migrates `bonding_bench_sms` on the PostgreSQL server of DATABASE_URL.

1. Inbound: gunicorn with two workers (as the Procfile serves) takes --events inbound texts,
   signed beforehand, at /sms/twilio/inbound/ from --clients processes (each POST a new
   connection, as Twilio makes them); events stored per second, counted in the database
   (target: 500/s). No worker runs: each event is stored and a drain task asked on the Redis
   of CELERY_BROKER_URL (at most once a second per gunicorn worker), as when the workers are
   behind. `--events 0` skips it.
2. Delivery: a local server speaking Twilio's Messages API (a thread per connection) takes
   --messages texts from the Twilio backend (the delivery's client, without the database)
   over SMS_SEND_CONNECTIONS connections at once and over one: the raw rate is the higher of
   the two (threads of one process share its interpreter lock: more connections can be
   slower). Then the same number of SMS touches are delivered through
   `programs.delivery.deliver` and the Twilio backend in batches of DELIVERY_BATCH_SIZE, in
   this process, each batch over SMS_SEND_CONNECTIONS connections at once
   (programs/delivery_pool.py; the database work stays on this thread): touches/s against
   the raw rate (target: 0.7). Each side is timed after an untimed warm-up of one batch
   (DELIVERY_BATCH_SIZE messages, or touches).

Prints the figures and writes bench/results/sms.json.
"""

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

from customers_pages import prepare_server, server_urls, setup_django  # noqa: E402

RESULTS = BENCH_DIR / "results" / "sms.json"
INBOUND_TARGET = 500  # events stored per second
DELIVERY_TARGET = 0.7  # of the raw rate of the Twilio stand-in
TOKEN = "bench-auth-token"  # noqa: S105 (a throwaway token for a local stand-in)
SITE = "https://bench.example.com"
ACCOUNT = "AC" + "b" * 32


class TwilioStandIn(ThreadingHTTPServer):
    """Answers every POST as Twilio's Messages API does (201 with the new message's JSON)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Created)
        self.count = 0
        self.lock = threading.Lock()  # a thread per connection counts the messages


class _Created(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the backend reuses its connection
    wbufsize = -1  # the answer in one write: headers and body apart wait for a delayed ACK
    server: TwilioStandIn

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        with self.server.lock:
            self.server.count += 1
            number = self.server.count
        body = json.dumps(
            {
                "sid": f"SM{number:032x}",
                "account_sid": ACCOUNT,
                "to": form["To"][0],
                "body": form["Body"][0],
                "status": "accepted",
                "api_version": "2010-04-01",
            }
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_twilio(ports: "multiprocessing.Queue") -> None:
    """Run the stand-in until terminated; its port goes to `ports`."""
    server = TwilioStandIn()
    ports.put(server.server_address[1])
    server.serve_forever()


def signed_texts(first: int, count: int) -> list[tuple[bytes, str]]:
    """Form bodies of inbound texts as Twilio posts them, with their signatures."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    texts = []
    for n in range(first, first + count):
        params = {
            "AccountSid": ACCOUNT,
            "Body": f"Reply number {n}",
            "From": f"+1415555{n % 10_000:04d}",
            "MessageSid": f"SM{n:032x}",
            "To": "+15005550006",
        }
        signature = validator.compute_signature(f"{SITE}/sms/twilio/inbound/", params)
        texts.append((urllib.parse.urlencode(params).encode(), signature))
    return texts


def post_texts(port: int, texts: list[tuple[bytes, str]]) -> int:
    """Post signed texts (one client process), a new connection each as Twilio makes them;
    returns how many were answered 200. Signed beforehand: the client's CPU is the server's."""
    answered = 0
    for body, signature in texts:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(
            "POST",
            "/sms/twilio/inbound/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        answered += connection.getresponse().status == 200
        connection.close()
    return answered


def start_gunicorn(bench_url: str, var_dir: str) -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SITE_URL": SITE,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "VAR_DIR": var_dir,
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bonding.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit("gunicorn did not start")
            time.sleep(0.2)
    return process, port


def inbound(bench_url: str, var_dir: str, events: int, clients: int) -> dict:
    from programs.models import ProviderEvent

    ProviderEvent.objects.all().delete()
    share = events // clients
    batches = [signed_texts(first, share) for first in range(0, share * clients, share)]
    web, port = start_gunicorn(bench_url, var_dir)
    try:
        post_texts(port, signed_texts(10_000_000, 50))  # warm both workers up
        ProviderEvent.objects.all().delete()
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=clients) as pool:
            answered = sum(pool.map(post_texts, [port] * clients, batches))
        elapsed = time.perf_counter() - started
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
    stored = ProviderEvent.objects.count()
    return {
        "events": share * clients,
        "answered": answered,
        "stored": stored,
        "seconds": round(elapsed, 2),
        "events_per_s": round(stored / elapsed),
        "client_processes": clients,
    }


def make_touches(count: int) -> list[int]:
    """`count` claimed SMS touches of a two-step program, one customer each."""
    from django.utils import timezone

    from customers.models import Channel, Customer
    from programs.models import Enrollment, Program, Step, Touch

    Touch.objects.all().delete()
    Enrollment.objects.all().delete()
    Program.objects.filter(name="SMS bench").delete()
    Customer.objects.filter(email__endswith="@sms-bench.example.com").delete()
    program = Program.objects.create(name="SMS bench")
    step = Step.objects.create(
        program=program,
        order=1,
        name="Check-in",
        channel_mode=Step.ChannelMode.FIXED,
        channel=Channel.SMS,
        sms_body="Hello {{ first_name }}, how are we doing?",
    )
    customers = Customer.objects.bulk_create(
        Customer(
            first_name=f"Ann{n}",
            email=f"c{n}@sms-bench.example.com",
            phone=f"+1415{5550000 + n:07d}",
            consent_sms=True,
        )
        for n in range(count)
    )
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(program=program, customer=customer) for customer in customers
    )
    # A later step keeps each enrollment going, as in the eight-step program: a one-step
    # program would end every enrollment at each send, which is not what is measured here.
    later = Step.objects.create(
        program=program,
        order=2,
        name="Anniversary",
        offset_days=30,
        channel_mode=Step.ChannelMode.FIXED,
        channel=Channel.SMS,
        sms_body="A year already, {{ first_name }}!",
    )
    now = timezone.now()
    Touch.objects.bulk_create(
        Touch(
            enrollment=enrollment,
            step=later,
            customer=enrollment.customer,
            channel=Channel.SMS,
            due_at=now + timedelta(days=30),
        )
        for enrollment in enrollments
    )
    touches = Touch.objects.bulk_create(
        Touch(
            enrollment=enrollment,
            step=step,
            customer=enrollment.customer,
            channel=Channel.SMS,
            due_at=now - timedelta(seconds=1),
            status=Touch.Status.CLAIMED,
            lease_expires_at=now + timedelta(hours=1),
        )
        for enrollment in enrollments
    )
    return [touch.pk for touch in touches]


def raw_rate(messages: int, width: int, warm_up: int) -> float:
    """Texts per second the stand-in takes from the delivery's client (the Twilio backend)
    over `width` connections at once, each a thread with a backend of its own, as in the pool.
    Each connection warms up (its share of `warm_up` texts) before the clock starts: the first
    messages pay for imports and a first connection, as a running worker has long done."""
    from programs.channels import Message
    from programs.channels.sms_twilio import TwilioBackend
    from programs.delivery_pool import prompt_switching

    backends = [TwilioBackend() for _ in range(width)]
    start = threading.Barrier(width + 1)
    share = messages // width

    def send(backend: TwilioBackend, first: int) -> None:
        for n in range(first - warm_up // width, first + share):
            if n == first:
                start.wait()
            backend.send(
                Message(
                    touch_id=n,
                    to=f"+1415{5550000 + n % 10_000_000:07d}",
                    subject="",
                    text="Hello Ann, how are we doing? Reply STOP to opt out.",
                )
            )

    threads = [
        threading.Thread(target=send, args=(backend, k * share))
        for k, backend in enumerate(backends)
    ]
    # Over several connections, with the interpreter's switching the delivery's pool uses.
    with prompt_switching() if width > 1 else contextlib.nullcontext():
        for thread in threads:
            thread.start()
        start.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
    return share * width / (time.perf_counter() - started)


def delivery(messages: int) -> dict:
    from django.conf import settings
    from django.urls import reverse

    from programs.delivery import deliver
    from programs.models import Touch

    # Its own process, as Twilio is: a thread here would take the GIL from the loop it serves.
    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve_twilio, args=(ports,), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=30)}"
    settings.SMS_BACKEND = "programs.channels.sms_twilio.TwilioBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT, TOKEN
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "b" * 32
    settings.TWILIO_API_URL, settings.SITE_URL = url, SITE
    try:
        width = settings.SMS_SEND_CONNECTIONS
        size = settings.DELIVERY_BATCH_SIZE
        # The raw rate: the same client as the delivery's (the backend, one per connection,
        # as the pool opens them) sending the same texts, without the database, over as many
        # connections at once as the delivery uses, and over one: the server's raw rate is the
        # better of the two, so the delivery is never compared with a slowed-down raw loop.
        raw_one = raw_rate(messages, 1, size)
        raw_many = raw_rate(messages, width, size)
        raw = max(raw_one, raw_many)

        made = make_touches(size + messages)
        warm_up, ids = made[:size], made[size:]
        # A running worker has its URLconf loaded (the status callback's address is reversed
        # from it) and has delivered batches before: one untimed batch, then the clock starts.
        reverse("programs:twilio_status")
        deliver(touch_ids=warm_up)
        started = time.perf_counter()
        outcomes: dict[str, int] = {}
        for first in range(0, len(ids), size):
            for outcome, n in deliver(touch_ids=ids[first : first + size]).items():
                outcomes[outcome] = outcomes.get(outcome, 0) + n
        delivered = outcomes.get("sent", 0) / (time.perf_counter() - started)
        sent = Touch.objects.filter(status="sent").exclude(message_id="").count()
        assert sent == size + messages, sent
    finally:
        server.terminate()
        server.join(timeout=30)
    return {
        "messages": messages,
        "raw_per_s": round(raw),
        "raw_one_connection_per_s": round(raw_one),
        "raw_all_connections_per_s": round(raw_many),
        "touches_per_s": round(delivered),
        "of_raw": round(delivered / raw, 2),
        "outcomes": outcomes,
        "batch": size,
        "warm_up": f"{size} raw messages and one delivery batch before timing",
        # Delivery sends a batch's texts over this many connections at once, and so does the
        # raw rate's client (and over one: raw_one_connection_per_s).
        "connections": width,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="0: no inbound half")
    parser.add_argument("--clients", type=int, default=4, help="client processes posting")
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--database", default="bonding_bench_sms")
    args = parser.parse_args(argv)

    bench_url, admin_url = server_urls(args.database)
    prepare_server(admin_url, args.database, regenerate=True)
    var_dir = tempfile.mkdtemp(prefix="bonding-bench-sms-")
    os.environ.setdefault("ALLOW_LOCAL_DELIVERY", "1")  # the check; the bench sends via Twilio
    setup_django(bench_url, var_dir)

    load_before = os.getloadavg()[0]
    received: dict = {"skipped": "--events 0"}
    if args.events:
        print(f"Inbound: {args.events:,} signed texts to gunicorn (2 workers)...", flush=True)
        received = inbound(bench_url, var_dir, args.events, args.clients)
        print(
            f"  {received['events_per_s']:,} events stored/s ({received['stored']:,} stored, "
            f"{received['answered']:,} answered 200 in {received['seconds']} s; "
            f"target {INBOUND_TARGET}/s)"
        )
    print(f"Delivery: {args.messages:,} texts through the Twilio stand-in...", flush=True)
    sent = delivery(args.messages)
    print(
        f"  raw {sent['raw_all_connections_per_s']:,}/s over {sent['connections']} connections "
        f"at once (SMS_SEND_CONNECTIONS), {sent['raw_one_connection_per_s']:,}/s over one; "
        f"delivered {sent['touches_per_s']:,} touches/s over {sent['connections']}: "
        f"{sent['of_raw']} of the better raw rate (target {DELIVERY_TARGET})"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "sms",
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    # Others' load on the same cores bends the figures: say how much there was.
                    "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
                },
                "inbound": {**received, "target_per_s": INBOUND_TARGET},
                "delivery": {**sent, "target_of_raw": DELIVERY_TARGET},
            },
            indent=2,
        )
        + "\n"
    )
    print(f"Load average (1 min) before and after: {load_before:.1f}, {os.getloadavg()[0]:.1f}")
    print(f"Wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
