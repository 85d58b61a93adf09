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
3. times `customers.sync.upsert_customers` of 1,000 new rows in this process while an endpoint
   is subscribed to their events, with the events and with them switched off (the bench
   patches out customers.announce.customers_changed: building the payloads, encoding and the
   insert), in --rounds interleaved pairs after a warm-up pair, alternating which goes first:
   the median of the pairs' ratios is the cost the events add (target < 15 %), printed with
   the quartiles and extremes of the pairs and the load average.

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


def backend_cpu_reader():
    """A function giving the CPU seconds used so far by this process and by the PostgreSQL
    backend serving its connection (read from /proc: the server is the local one of
    bin/with-test-services); None when the backend's /proc entry cannot be read."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [pid] = cursor.fetchone()
    stat = Path(f"/proc/{pid}/stat")
    tick = os.sysconf("SC_CLK_TCK")

    def backend() -> float:
        # utime and stime, fields 14 and 15, after the command name in parentheses.
        fields = stat.read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / tick

    try:
        backend()
    except OSError:
        return None
    return lambda: time.process_time() + backend()


def _spread(ratios: list[float]) -> dict[str, float]:
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return {
        "median": round(statistics.median(ratios), 3),
        "min": round(min(ratios), 3),
        "q1": round(quartiles[0], 3),
        "q3": round(quartiles[2], 3),
        "max": round(max(ratios), 3),
    }


def sync_costs(owner, url: str, *, rounds: int, rows: int) -> dict:
    """What writing the events adds to upsert_customers of `rows` new rows, while an endpoint
    is subscribed to them (so they are all written, as in use): in wall time, and in CPU time
    of this process plus its PostgreSQL backend, which other processes' load moves far less.

    Paired and interleaved so the machine's load weighs on both alike: one untimed warm-up
    pair, then `rounds` pairs in alternating order (with first, then without first, ...). Each
    cost is the median of the pairs' ratios, with their quartiles and extremes."""
    from customers import announce, sync
    from webhooks import subscriptions

    endpoint = subscriptions.subscribe(
        owner=owner, url=url, events=["customer.created", "customer.updated"]
    )
    real = announce.customers_changed
    cpu = backend_cpu_reader()
    start = 0
    inside: list[list[float]] = []

    def announcing(*args, **kwargs):
        cpu_began = cpu() if cpu else 0.0
        began = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            inside[-1][0] += (time.perf_counter() - began) * 1000
            inside[-1][1] += ((cpu() - cpu_began) if cpu else 0.0) * 1000

    def timed(with_events: bool) -> tuple[float, float, list[float]]:
        """Wall ms, CPU ms, and both inside the announcements."""
        nonlocal start
        inside.append([0.0, 0.0])
        announce.customers_changed = announcing if with_events else _nothing
        batch = sync_rows(start, rows)
        start += rows
        try:
            cpu_began = cpu() if cpu else 0.0
            began = time.perf_counter()
            outcome = sync.upsert_customers(rows=batch, by=owner, refresh_later=_nothing)
            wall = (time.perf_counter() - began) * 1000
            spent = ((cpu() - cpu_began) if cpu else 0.0) * 1000
        finally:
            announce.customers_changed = real
        assert outcome.created == rows, outcome
        return wall, spent, inside[-1]

    timed(True), timed(False)  # warm-up: caches, prepared plans, the first pages of the tables
    ms: dict[str, dict[str, list[float]]] = {
        kind: {"with events": [], "without events": []} for kind in ("wall", "cpu")
    }
    ratios: dict[str, list[float]] = {"wall": [], "cpu": []}
    share: dict[str, list[float]] = {"wall": [], "cpu": []}
    for n in range(rounds):
        order = (True, False) if n % 2 == 0 else (False, True)
        pair = {with_events: timed(with_events) for with_events in order}
        # The same sync's own split: its time in the announcements against the rest of it,
        # which no drift of the load between two runs can tilt.
        for i, kind in enumerate(("wall", "cpu")):
            announcing_ms = pair[True][2][i]
            if pair[True][i] > announcing_ms:
                share[kind].append(announcing_ms / (pair[True][i] - announcing_ms))
            ms[kind]["with events"].append(pair[True][i])
            ms[kind]["without events"].append(pair[False][i])
            if pair[False][i]:
                ratios[kind].append(pair[True][i] / pair[False][i] - 1)
    endpoint.delete()
    return {
        "rows": rows,
        "rounds": rounds,
        **{
            kind: {
                "ms": {name: round(statistics.median(v), 1) for name, v in ms[kind].items()},
                "cost": _spread(ratios[kind]) if ratios[kind] else None,
            }
            for kind in ("wall", "cpu")
        },
        "inside": {kind: _spread(v) for kind, v in share.items() if v},
    }


def _nothing(*args, **kwargs):
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--database", default="bonding_bench_webhooks")
    parser.add_argument(
        "--sync-only", action="store_true", help="measure only what the events add to a sync"
    )
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
        pipeline = direct = 0.0
        if not args.sync_only:
            pipeline, bodies = pipeline_rate(
                url, events=args.events, customers=args.customers, owner=owner
            )
            direct = direct_rate(url, bodies, signing.new_secret())
        load_before = os.getloadavg()
        sync = sync_costs(owner, url, rounds=args.rounds, rows=1000)
        sync["load"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    finally:
        server.shutdown()
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "events": args.events,
        "customers": args.customers,
        "direct_events_per_s": round(direct, 1),
        "delivered_events_per_s": round(pipeline, 1),
        "delivery_ratio": round(pipeline / direct, 3) if direct else None,
        "sync": sync,
    }
    if direct:
        print(
            f"Delivered {args.events:,} events of {args.customers} customers in order: "
            f"{pipeline:,.0f}/s; the same POSTs sent directly: {direct:,.0f}/s; "
            f"ratio {result['delivery_ratio']:.2f} (target ≥ {TARGET_DELIVERY_RATIO})"
        )
    for kind, label in (("wall", "wall time"), ("cpu", "CPU time (bench + its PostgreSQL)")):
        figures = sync[kind]
        cost = figures["cost"]
        if cost is None:
            print(f"customers/sync: no {label} measured (the backend's /proc is not readable)")
            continue
        print(
            f"customers/sync of 1,000 new rows, {label}: {figures['ms']['with events']:.0f} ms "
            f"with their events, {figures['ms']['without events']:.0f} ms without (medians of "
            f"{sync['rounds']} interleaved pairs); cost {cost['median']:.1%} (median of the "
            f"pairs; target < {TARGET_SYNC_COST:.0%}), quartiles {cost['q1']:.1%} to "
            f"{cost['q3']:.1%}, extremes {cost['min']:.1%} to {cost['max']:.1%}"
        )
    for kind, inside in sync["inside"].items():
        print(
            f"customers/sync of 1,000 new rows, {kind}: a sync's time announcing against the "
            f"rest of that same sync {inside['median']:.1%} (median of {sync['rounds']}), "
            f"quartiles {inside['q1']:.1%} to {inside['q3']:.1%}, extremes {inside['min']:.1%} "
            f"to {inside['max']:.1%}"
        )
    print(
        f"load average (1, 5, 15 min) before the syncs {sync['load'][:3]}, after {sync['load'][3:]}"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
