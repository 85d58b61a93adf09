"""Webhook delivery against plain POSTs, and what writing events adds to a contact sync.

    flock /tmp/bonding-bench.lock bin/with-test-services .venv/bin/python bench/webhooks.py

Creates (afresh) and migrates `bonding_bench_webhooks` on the PostgreSQL server of
DATABASE_URL, starts a receiver on loopback (a threaded HTTP server answering 200), then:

1. POSTs --events signed bodies straight to the receiver from one process over one keep-alive
   session: the rate a sender that keeps no books could reach;
2. writes the same number of events to the outbox (spread over --customers customers, so each
   customer's run has to go out in order) for one subscribed endpoint, and runs the dispatcher
   and the delivery batches in this one process until every delivery is delivered: events/s
   through fan-out, claim, lease, signing, POST and the conditional updates (target ≥ 0.5 of 1);
3. times `customers.sync.upsert_customers` of 1,000 new rows in this process, --rounds times
   with the events and as often with them switched off (the bench patches out
   customers.announce.customers_changed: building the payloads, encoding and the insert),
   alternating: the median cost the events add (target < 15 %).

Prints the figures and writes bench/results/webhooks.json.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

from customers_pages import prepare_server, server_urls, setup_django  # noqa: E402

RESULTS = BENCH_DIR / "results" / "webhooks.json"
TARGET_DELIVERY_RATIO = 0.5
TARGET_SYNC_COST = 0.15


class Receiver(BaseHTTPRequestHandler):
    """Reads the body and answers 200, as a receiver that queues what it gets would."""

    protocol_version = "HTTP/1.1"
    received = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def start_receiver() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hooks"


def direct_rate(url: str, bodies: list[bytes], secret: str) -> float:
    """POSTs of the same signed bodies from one session, no database: events/s."""
    import requests

    from webhooks import signing

    started = time.perf_counter()
    with requests.Session() as session:
        for n, body in enumerate(bodies):
            headers = signing.headers([secret], f"msg_{n:x}", int(time.time()), body)
            session.post(url, data=body, headers=headers, timeout=10).close()
    return len(bodies) / (time.perf_counter() - started)


def pipeline_rate(url: str, *, events: int, customers: int, owner) -> tuple[float, list[bytes]]:
    """Events through the outbox to the receiver, in order per customer: events/s."""
    from django.db import transaction

    from webhooks import delivery, outbox, subscriptions
    from webhooks.models import Delivery, Event

    endpoint = subscriptions.subscribe(owner=owner, url=url, events=["customer.updated"])
    with transaction.atomic():
        for n in range(events):
            customer = n % customers
            outbox.publish(
                "customer.updated",
                {"id": customer, "first_name": f"Name {n}", "n": n},
                customer_id=customer,
            )
    bodies = [delivery.body_of(event) for event in Event.objects.order_by("id")]
    before = Receiver.received
    started = time.perf_counter()
    while True:
        delivery.fan_out()
        batches = delivery.dispatch_due()
        for ids in batches:
            delivery.deliver(delivery_ids=ids)
        if not batches and not Delivery.objects.exclude(status="delivered").exists():
            break
    seconds = time.perf_counter() - started
    assert Receiver.received - before == events, (Receiver.received - before, events)
    endpoint.delete()
    return events / seconds, bodies


def sync_rows(start: int, count: int) -> list[dict]:
    return [
        {
            "external_id": f"wh-{i:07d}",
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "email": f"person{i}@example.com",
            "consents": {"email": i % 2 == 0},
        }
        for i in range(start, start + count)
    ]


def sync_costs(owner, *, rounds: int, rows: int) -> dict:
    """Median ms of upsert_customers of `rows` new rows, with and without the outbox writes."""
    from customers import announce, sync

    real = announce.customers_changed
    timings: dict[str, list[float]] = {"with events": [], "without events": []}
    start = 0
    for _ in range(rounds):
        for name in timings:
            announce.customers_changed = real if name == "with events" else _nothing
            batch = sync_rows(start, rows)
            start += rows
            began = time.perf_counter()
            outcome = sync.upsert_customers(rows=batch, by=owner, refresh_later=_nothing)
            timings[name].append((time.perf_counter() - began) * 1000)
            assert outcome.created == rows, outcome
    announce.customers_changed = real
    medians = {name: statistics.median(values) for name, values in timings.items()}
    return {
        "rows": rows,
        "rounds": rounds,
        "ms": {name: round(value, 1) for name, value in medians.items()},
        "cost": round(medians["with events"] / medians["without events"] - 1, 3),
    }


def _nothing(*args, **kwargs):
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--database", default="bonding_bench_webhooks")
    args = parser.parse_args(argv)

    # The receiver is on loopback, which subscriptions refuse unless allowed.
    os.environ["WEBHOOK_ALLOW_PRIVATE_URLS"] = "1"
    bench_url, admin_url = server_urls(args.database)
    prepare_server(admin_url, args.database, regenerate=True)
    setup_django(bench_url, tempfile.mkdtemp(prefix="bonding-bench-"))
    from django.contrib.auth.models import User

    from webhooks import signing

    owner = User.objects.create_user("bench-webhooks", is_staff=True)
    server, url = start_receiver()
    try:
        pipeline, bodies = pipeline_rate(
            url, events=args.events, customers=args.customers, owner=owner
        )
        direct = direct_rate(url, bodies, signing.new_secret())
        sync = sync_costs(owner, rounds=args.rounds, rows=1000)
    finally:
        server.shutdown()
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "events": args.events,
        "customers": args.customers,
        "direct_events_per_s": round(direct, 1),
        "delivered_events_per_s": round(pipeline, 1),
        "delivery_ratio": round(pipeline / direct, 3),
        "sync": sync,
    }
    print(
        f"Delivered {args.events:,} events of {args.customers} customers in order: "
        f"{pipeline:,.0f}/s; the same POSTs sent directly: {direct:,.0f}/s; "
        f"ratio {result['delivery_ratio']:.2f} (target ≥ {TARGET_DELIVERY_RATIO})"
    )
    print(
        f"customers/sync of 1,000 new rows: {sync['ms']['with events']:.0f} ms with their events, "
        f"{sync['ms']['without events']:.0f} ms without; cost {sync['cost']:.1%} "
        f"(target < {TARGET_SYNC_COST:.0%})"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
