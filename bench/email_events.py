"""E-mail events through anymail's webhook URLs: replies (inbound) and delivery events
(tracking), stored per second.

    flock /tmp/bonding-bench.lock bin/with-test-services .venv/bin/python bench/email_events.py

Creates (afresh) and migrates `bonding_bench_email` on the PostgreSQL server of DATABASE_URL.
gunicorn with two workers (as the Procfile serves) takes --events replies as Postmark posts
them to /anymail/postmark/inbound/ (JSON, HTTP basic auth with the webhook secret), then
--events delivery events at /anymail/postmark/tracking/, from --clients processes (each POST a
new connection, as providers make them); events stored per second, counted in the database
(target: 500/s). No worker runs: each request's events are stored in one statement and a
drain task is asked on the Redis of CELERY_BROKER_URL (at most once a second per gunicorn
worker), as when the workers are behind. A reply is stored as posted once anymail's checks
pass and parsed by that task (programs/inbound_mail.py), not in the request.

Prints the figures and writes bench/results/email_events.json.
"""

import argparse
import base64
import http.client
import json
import os
import platform
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

from customers_pages import prepare_server, server_urls, setup_django  # noqa: E402
from sms import start_gunicorn  # noqa: E402

RESULTS = BENCH_DIR / "results" / "email_events.json"
TARGET = 500  # events stored per second
SECRET = "bench-hook:" + "s" * 24  # noqa: S105 (a throwaway secret for a local server)
DOMAIN = "in.bench.example.com"
AUTH = "Basic " + base64.b64encode(SECRET.encode()).decode()


def reply(n: int) -> bytes:
    """A reply as Postmark's inbound webhook posts it (its documented fields)."""
    sender = f"customer{n % 5000}@example.com"
    to = f"reply+t{n + 1}-abcdefghijklmnopqrst@{DOMAIN}"
    return json.dumps(
        {
            "FromName": "Ann Customer",
            "MessageStream": "inbound",
            "From": sender,
            "FromFull": {"Email": sender, "Name": "Ann Customer", "MailboxHash": ""},
            "To": to,
            "ToFull": [{"Email": to, "Name": "", "MailboxHash": ""}],
            "Cc": "",
            "CcFull": [],
            "OriginalRecipient": to,
            "Subject": "Re: How are we doing?",
            "MessageID": f"73e6d360-66eb-11e1-8e72-{n:012x}",
            "Date": "Sat, 5 Dec 2026 09:45:32 +0000",
            "TextBody": "Thanks, all good.\n\nOn Fri, 4 Dec 2026, Bonding wrote:\n> How are we?",
            "HtmlBody": "",
            "StrippedTextReply": "Thanks, all good.",
            "Headers": [
                {"Name": "Return-Path", "Value": f"<{sender}>"},
                {"Name": "X-Spam-Status", "Value": "No"},
            ],
            "Attachments": [],
        }
    ).encode()


def delivered(n: int) -> bytes:
    """A delivery event as Postmark's tracking webhook posts it."""
    return json.dumps(
        {
            "RecordType": "Delivery",
            "ServerID": 23,
            "MessageStream": "outbound",
            "MessageID": f"883953f4-6105-42a2-a16a-{n:012x}",
            "Recipient": f"customer{n % 5000}@example.com",
            "Tag": "",
            "DeliveredAt": "2026-12-05T08:34:52Z",
            "Details": "smtp;250 2.0.0 OK",
            "Metadata": {"touch": str(n + 1)},
        }
    ).encode()


def post_events(port: int, path: str, bodies: list[bytes]) -> int:
    """Post the bodies (one client process), a new connection each; returns how many were
    answered 200. Built beforehand: the client's CPU is the server's."""
    answered = 0
    for body in bodies:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/json", "Authorization": AUTH},
        )
        answered += connection.getresponse().status == 200
        connection.close()
    return answered


def measure(port: int, path: str, make, events: int, clients: int, offset: int) -> dict:
    from programs.models import ProviderEvent

    share = events // clients
    batches = [
        [make(offset + n) for n in range(first, first + share)]
        for first in range(0, share * clients, share)
    ]
    before = ProviderEvent.objects.count()
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=clients) as pool:
        answered = sum(pool.map(post_events, [port] * clients, [path] * clients, batches))
    elapsed = time.perf_counter() - started
    stored = ProviderEvent.objects.count() - before
    return {
        "events": share * clients,
        "answered": answered,
        "stored": stored,
        "seconds": round(elapsed, 2),
        "events_per_s": round(stored / elapsed),
        "client_processes": clients,
        "target_per_s": TARGET,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4, help="client processes posting")
    parser.add_argument("--database", default="bonding_bench_email")
    args = parser.parse_args(argv)

    bench_url, admin_url = server_urls(args.database)
    prepare_server(admin_url, args.database, regenerate=True)
    var_dir = tempfile.mkdtemp(prefix="bonding-bench-email-")
    os.environ.update(
        ALLOW_LOCAL_DELIVERY="1",  # the check; nothing is sent here
        ANYMAIL_WEBHOOK_SECRET=SECRET,  # read by the gunicorn workers too
        INBOUND_DOMAIN=DOMAIN,
    )
    setup_django(bench_url, var_dir)
    from programs.models import ProviderEvent

    ProviderEvent.objects.all().delete()
    load_before = os.getloadavg()[0]
    web, port = start_gunicorn(bench_url, var_dir)
    try:
        # Warm both workers up on both URLs.
        post_events(port, "/anymail/postmark/inbound/", [reply(10_000_000 + n) for n in range(50)])
        post_events(
            port, "/anymail/postmark/tracking/", [delivered(10_000_000 + n) for n in range(50)]
        )
        ProviderEvent.objects.all().delete()
        print(f"Replies: {args.events:,} to /anymail/postmark/inbound/ (2 workers)...", flush=True)
        replies = measure(port, "/anymail/postmark/inbound/", reply, args.events, args.clients, 0)
        print(
            f"  {replies['events_per_s']:,} replies stored/s ({replies['stored']:,} stored, "
            f"{replies['answered']:,} answered 200 in {replies['seconds']} s; target {TARGET}/s)"
        )
        print(f"Tracking: {args.events:,} to /anymail/postmark/tracking/...", flush=True)
        tracking = measure(
            port, "/anymail/postmark/tracking/", delivered, args.events, args.clients, 0
        )
        print(
            f"  {tracking['events_per_s']:,} events stored/s ({tracking['stored']:,} stored, "
            f"{tracking['answered']:,} answered 200 in {tracking['seconds']} s; target {TARGET}/s)"
        )
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "email_events",
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    # Others' load on the same cores bends the figures: say how much there was.
                    "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
                },
                "replies": replies,
                "tracking": tracking,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"Load average (1 min) before and after: {load_before:.1f}, {os.getloadavg()[0]:.1f}")
    print(f"Wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
