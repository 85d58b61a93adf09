"""Program throughput: enrolling into the eight-step program, and delivering due e-mail touches.

    flock /tmp/bonding-bench.lock bin/with-test-services .venv/bin/python bench/programs.py

Creates (afresh) and migrates `bonding_bench_programs` on the PostgreSQL server of DATABASE_URL
and adds 100,000 customers (e-mail consent, mixed time zones, a third with a contract to renew).
Then:

1. `programs.enrollment.enroll` in this process enrolls them all in the eight-step program:
   touches created per second;
2. an SMTP sink (aiosmtpd, its own process) counts what arrives; 20,000 messages shaped like a
   touch go to it over one reused connection (Django's SMTP backend): the direct SMTP rate;
3. for each worker set-up (--setups, "concurrency:DELIVERY_BATCH_SIZE"), two Celery worker
   processes on the Redis of CELERY_BROKER_URL take 20,000 empty tasks (bonding.tasks.ping_task;
   once per concurrency), then deliver 20,000 e-mail touches made due now (one per customer,
   the steps mixed) after one `dispatch_touches_task`, as beat would start it: touches/s;
4. when delivery misses 0.7 of the direct SMTP rate (or with --profile), profiles
   `programs.delivery.deliver` in this process and counts its SQL queries per touch.

Prints the figures and writes bench/results/programs.json.
"""

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg2

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# The project first: this file's name must not hide the `programs` app.
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

import generate  # noqa: E402
from customers_pages import prepare_server, server_urls, setup_django  # noqa: E402

RESULTS = BENCH_DIR / "results" / "programs.json"
ENROLL_TARGET = 20_000  # touches created per second
DELIVERY_TARGET = 0.7  # of the direct SMTP rate
TIME_ZONES = generate.TIMEZONES + ["", "Australia/Sydney", "Asia/Kolkata", "Pacific/Auckland"]
PREFIX = "prog-"
PROFILE_PREFIX = "prof-"
PROFILED_CUSTOMERS = 2000
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def run_sink(port: int, path: str) -> None:
    """The SMTP sink's process: accept everything, count messages, Message-IDs, connections."""
    from aiosmtpd.controller import Controller

    class Counting:
        def __init__(self) -> None:
            self.messages = 0
            self.connections = 0
            self.ids: set[bytes] = set()

        async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
            session.host_name = hostname
            self.connections += 1
            return responses

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            found = MESSAGE_ID.search(envelope.original_content or envelope.content)
            if found:
                self.ids.add(found.group(1))
            self.messages += 1
            return "250 OK"

    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))

    def write() -> None:
        state = {
            "messages": handler.messages,
            "unique_message_ids": len(handler.ids),
            "connections": handler.connections,
        }
        Path(path + ".tmp").write_text(json.dumps(state))
        os.replace(path + ".tmp", path)

    while not stopping:
        write()
        time.sleep(0.2)
    controller.stop()
    write()


class Sink:
    """The sink subprocess and a look at its counters."""

    def __init__(self, var_dir: str) -> None:
        self.port = generate.free_port()
        self.path = os.path.join(var_dir, "sink.json")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(self.port), self.path],
            cwd=ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not os.path.exists(self.path):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the SMTP sink did not start")
            time.sleep(0.05)

    def counts(self, settle: float = 0.5) -> dict:
        time.sleep(settle)  # it writes every 0.2 s
        return json.loads(Path(self.path).read_text())

    def stop(self) -> None:
        stop_group(self.process)


def stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Workers:
    """Celery worker processes (`celery -A bonding worker --concurrency N`) on the bench db."""

    def __init__(self, *, count: int, concurrency: int, env: dict, var_dir: str) -> None:
        from bonding.celery import app

        self.app = app
        self.names = [f"bench{k}-{os.getpid()}@{socket.gethostname()}" for k in range(count)]
        self.processes = []
        for k, name in enumerate(self.names):
            log = open(os.path.join(var_dir, f"worker{k}.log"), "w")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "bonding",
                        "worker",
                        "--loglevel",
                        "WARNING",
                        "--concurrency",
                        str(concurrency),
                        "--pool",
                        "prefork",
                        "--hostname",
                        name,
                        "--without-gossip",
                        "--without-mingle",
                    ],
                    cwd=ROOT,
                    env={**os.environ, **env},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            replies = app.control.ping(destination=self.names, timeout=1.0)
            if len(replies) == len(self.names):
                return
            if any(p.poll() is not None for p in self.processes):
                break
        self.stop()
        raise SystemExit(f"the Celery workers did not start: see {var_dir}/worker*.log")

    def stop(self) -> None:
        for process in self.processes:
            stop_group(process)


def queue_depth(redis_client) -> int:
    """Messages waiting in the default queue plus those a worker holds unacknowledged."""
    return redis_client.llen("celery") + redis_client.hlen("unacked")


def make_customers(count: int, *, prefix: str = PREFIX, seed: int = 7) -> dict:
    """`count` customers with e-mail consent, time zones mixed; a third with a contract."""
    import random

    from customers.models import Contract, Customer, Tier

    rng = random.Random(seed)
    lowest = Tier.objects.order_by("rank").first()
    started = time.perf_counter()
    firsts = generate.FIRST_NAMES
    customers = Customer.objects.bulk_create(
        (
            Customer(
                external_id=f"{prefix}{i:07d}",
                first_name=firsts[i % len(firsts)],
                last_name=f"Bench{i}",
                email=f"{prefix}{i}@example.com",
                timezone=TIME_ZONES[i % len(TIME_ZONES)],
                consent_email=True,
                tier=lowest,
                highest_tier=lowest,
            )
            for i in range(count)
        ),
        batch_size=5000,
    )
    today = date.today()
    Contract.objects.bulk_create(
        (
            Contract(
                customer=c,
                title="Service contract",
                starts_on=today - timedelta(days=300),
                ends_on=today + timedelta(days=rng.randint(40, 400)),
            )
            for c in customers
            if c.pk % 3 == 0
        ),
        batch_size=5000,
    )
    return {"customers": count, "seconds": round(time.perf_counter() - started, 1)}


def analyze(dsn: str) -> None:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        for table in (
            "customers_customer",
            "customers_contract",
            "programs_enrollment",
            "programs_touch",
        ):
            cur.execute(f"VACUUM ANALYZE {table}")
    conn.close()


def enroll_everyone(prefix: str = PREFIX, *, profiled: bool = False) -> dict:
    """programs.enrollment.enroll of every customer made with `prefix`, as enroll_segment_task."""
    from django.db import connection
    from django.db.models import Count

    from customers.models import Customer
    from programs.enrollment import enroll
    from programs.models import Program, Touch

    program = Program.objects.get(is_prototype=True)
    profiler = cProfile.Profile() if profiled else None
    queries: list[float] = []
    with connection.execute_wrapper(query_timer(queries)):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        outcome = enroll(
            program=program,
            customers=Customer.objects.filter(external_id__startswith=prefix).order_by("id"),
        )
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    statuses = dict(
        Touch.objects.filter(customer__external_id__startswith=prefix)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    connection.close()
    result = {
        "enrolled": outcome.enrolled,
        "skipped": len(outcome.skipped),
        "touches": outcome.touches,
        "touch_statuses": statuses,
        "seconds": round(seconds, 1),
        "sql_seconds": round(sum(queries), 1),
        "queries": len(queries),
        "touches_per_s": round(outcome.touches / seconds),
        "customers_per_s": round(outcome.enrolled / seconds),
    }
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(14)
        stats.sort_stats("cumulative").print_stats(r"programs|customers|bulk_create", 16)
        result["profile"] = out.getvalue()
    return result


def query_timer(queries: list[float]):
    """A connection execute wrapper adding each statement's duration to `queries`."""

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append(time.perf_counter() - started)

    return timer


def park_due_touches(dsn: str) -> int:
    """Enrollment makes the welcome kits due at once: move every due touch a month away, so
    only the touches a measurement picks are due."""
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE programs_touch SET due_at = due_at + interval '30 days'"
            " WHERE status = 'scheduled' AND due_at <= now() + interval '1 day'"
        )
        moved = cur.rowcount
    conn.close()
    return moved


def make_due(dsn: str, customer_ids: list[int]) -> tuple[list[int], dict[str, int]]:
    """One scheduled e-mail touch of each customer due now, the program's steps in turn."""
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            WITH chosen AS (
                SELECT DISTINCT ON (t.customer_id) t.id
                FROM programs_touch t JOIN programs_step s ON s.id = t.step_id
                WHERE t.customer_id = ANY(%s) AND t.status = 'scheduled' AND t.channel = 'email'
                ORDER BY t.customer_id, (s."order" + 7 - t.customer_id %% 8) %% 8
            )
            UPDATE programs_touch SET due_at = now() - interval '1 second'
            WHERE id IN (SELECT id FROM chosen) RETURNING id
            """,
            (customer_ids,),
        )
        ids = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT s.kind, count(*) FROM programs_touch t JOIN programs_step s"
            " ON s.id = t.step_id WHERE t.id = ANY(%s) GROUP BY 1 ORDER BY 1",
            (ids,),
        )
        mix = dict(cur.fetchall())
    conn.close()
    return ids, mix


def customer_slices(dsn: str, sizes: list[int]) -> list[list[int]]:
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id FROM customers_customer WHERE external_id LIKE %s ORDER BY id",
            (PREFIX + "%",),
        )
        ids = [row[0] for row in cur.fetchall()]
    conn.close()
    if sum(sizes) > len(ids):
        raise SystemExit(f"{sum(sizes):,} touches need as many customers: use --customers.")
    slices, start = [], 0
    for size in sizes:
        slices.append(ids[start : start + size])
        start += size
    return slices


def direct_smtp(count: int) -> dict:
    """`count` touch-shaped messages over one reused connection of Django's SMTP backend."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives, get_connection

    from customers.models import Customer
    from programs import content
    from programs.models import Program

    step = Program.objects.get(is_prototype=True).steps.order_by("order").first()
    customer = Customer.objects.filter(external_id__startswith=PREFIX).first()
    message = content.message_for(touch=None, customer=customer, channel="email", step=step)
    emails = []
    for i in range(count):
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[f"direct{i}@example.com"],
            headers={"Message-ID": f"<direct-{i}@bench>", **message.headers},
        )
        email.attach_alternative(message.html, "text/html")
        emails.append(email)
    connection = get_connection(fail_silently=False)
    connection.open()
    started = time.perf_counter()
    sent = connection.send_messages(emails)
    seconds = time.perf_counter() - started
    connection.close()
    return {
        "messages": sent,
        "seconds": round(seconds, 1),
        "messages_per_s": round(sent / seconds),
        "message_bytes": len(emails[0].message().as_bytes()),
    }


def wait_drained(redis_client, *, timeout: float, poll: float = 0.05) -> float:
    """Seconds until the queue and the workers' unacknowledged messages are empty."""
    started = time.perf_counter()
    while queue_depth(redis_client):
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"the queue did not drain within {timeout:.0f} s")
        time.sleep(poll)
    return time.perf_counter()


def empty_tasks(count: int, workers: Workers, redis_client, timeout: float) -> dict:
    """`count` ping tasks through Redis to the running workers, until every one is done.

    The workers stop consuming while the tasks are queued: one process publishes only ~500 a
    second, which would measure the producer. They start again when the clock starts.
    """
    from bonding.tasks import ping_task

    for key in redis_client.scan_iter("celery-task-meta-*", count=1000):
        redis_client.delete(key)
    workers.app.control.cancel_consumer("celery", destination=workers.names, reply=True)
    started = time.perf_counter()
    for _ in range(count):
        ping_task.delay()
    enqueue_seconds = time.perf_counter() - started
    started = time.perf_counter()
    workers.app.control.add_consumer("celery", destination=workers.names, reply=True)
    seconds = wait_drained(redis_client, timeout=timeout) - started
    results = sum(1 for _ in redis_client.scan_iter("celery-task-meta-*", count=1000))
    return {
        "tasks": count,
        "results_stored": results,
        "seconds": round(seconds, 1),
        "tasks_per_s": round(count / seconds),
        "enqueue_per_s": round(count / enqueue_seconds),
    }


def deliver_due(dsn: str, touch_ids: list[int], sink: Sink, redis_client, timeout: float) -> dict:
    """Start the dispatcher as beat would and wait until no chosen touch is left in flight."""
    from programs.tasks import dispatch_touches_task

    before = sink.counts(settle=0.3)
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    pending_sql = (
        "SELECT (SELECT count(*) FROM programs_touch"
        "        WHERE status = 'scheduled' AND due_at <= now())"
        " + (SELECT count(*) FROM programs_touch WHERE status IN ('claimed', 'sending'))"
    )
    started = time.perf_counter()
    dispatch_touches_task.delay()
    last_dispatch = started
    dispatches = 1
    while True:
        time.sleep(0.1)
        cur.execute(pending_sql)
        pending = cur.fetchone()[0]
        if pending == 0 and queue_depth(redis_client) == 0:
            break
        now = time.perf_counter()
        if now - started > timeout:
            raise SystemExit(f"delivery did not finish within {timeout:.0f} s ({pending} left)")
        if now - last_dispatch > 10 and queue_depth(redis_client) == 0:
            dispatch_touches_task.delay()  # a touch put back (retry, fallback): beat's next run
            last_dispatch, dispatches = now, dispatches + 1
    seconds = time.perf_counter() - started
    cur.execute(
        "SELECT status, count(*) FROM programs_touch WHERE id = ANY(%s) GROUP BY 1",
        (touch_ids,),
    )
    statuses = dict(cur.fetchall())
    conn.close()
    after = sink.counts()
    sent = statuses.get("sent", 0)
    return {
        "touches": len(touch_ids),
        "statuses": statuses,
        "seconds": round(seconds, 1),
        "touches_per_s": round(sent / seconds),
        "dispatch_tasks": dispatches,
        "sink_messages": after["messages"] - before["messages"],
        "sink_unique_message_ids": after["unique_message_ids"] - before["unique_message_ids"],
        "smtp_connections": after["connections"] - before["connections"],
    }


TABLE = re.compile(r'\b(?:FROM|INTO)\s+"?(\w+)"?')


def statement_kind(sql: str) -> str:
    """ "SELECT programs_touch", "UPDATE customers_customer"...: the verb and the main table."""
    verb, rest = (sql.split(None, 1) + [""])[:2]
    if verb.upper() == "UPDATE":
        return f"UPDATE {rest.split(None, 1)[0].strip(chr(34))}"
    found = TABLE.search(sql)
    return f"{verb.upper()} {found.group(1) if found else ''}".strip()


def profile_delivery(dsn: str, customer_ids: list[int], batch_size: int) -> dict:
    """programs.delivery.deliver here in one process: timed with its SQL statements sorted by
    kind for half the customers, under cProfile for the other half."""
    from django.db import connection

    from programs.delivery import deliver
    from programs.dispatch import dispatch_due

    halves = [customer_ids[: len(customer_ids) // 2], customer_ids[len(customer_ids) // 2 :]]
    result: dict = {}
    for half, profiled in zip(halves, (False, True), strict=True):
        touch_ids, mix = make_due(dsn, half)
        batches = dispatch_due(batch_size=len(touch_ids))
        batches = [b[i : i + batch_size] for b in batches for i in range(0, len(b), batch_size)]
        statements: list[tuple[float, str]] = []

        def log(execute, sql, params, many, context, statements=statements):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                statements.append((time.perf_counter() - started, sql))

        profiler = cProfile.Profile() if profiled else None
        outcomes: Counter[str] = Counter()
        with connection.execute_wrapper(log):
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            for batch in batches:
                outcomes.update(deliver(touch_ids=batch))
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
        sent = max(outcomes.get("sent", 0), 1)
        if profiler:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(12)
            stats.sort_stats("cumulative").print_stats(r"programs|customers|nps|mail|smtplib", 24)
            result["profile"] = out.getvalue()
            result["profiled_touches"] = len(touch_ids)
            continue
        kinds: dict[str, list[float]] = {}
        for duration, sql in statements:
            kinds.setdefault(statement_kind(sql), []).append(duration)
        result.update(
            touches=len(touch_ids),
            mix=mix,
            outcomes=dict(outcomes),
            ms_per_touch=round(seconds * 1000 / sent, 2),
            sql_ms_per_touch=round(sum(d for d, _ in statements) * 1000 / sent, 2),
            queries_per_touch=round(len(statements) / sent, 1),
            statements_per_touch={
                kind: [round(len(times) / sent, 2), round(sum(times) * 1000 / sent, 2)]
                for kind, times in sorted(kinds.items(), key=lambda item: -len(item[1]))
            },
        )
    return result


def parse_setups(text: str) -> list[tuple[int, int]]:
    setups = []
    for part in text.split(","):
        concurrency, batch = part.split(":")
        setups.append((int(concurrency), int(batch)))
    return setups


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--touches", type=int, default=20_000, help="delivered by the 1st setup")
    parser.add_argument(
        "--extra-touches", type=int, default=5_000, help="delivered by each further setup"
    )
    parser.add_argument(
        "--setups",
        default="2:100,2:200,2:50,1:100",
        help="worker set-ups, concurrency:DELIVERY_BATCH_SIZE, comma-separated",
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--dispatch-batch", type=int, default=1000, help="DISPATCH_BATCH_SIZE")
    parser.add_argument("--tasks", type=int, default=20_000, help="empty Celery tasks")
    parser.add_argument("--messages", type=int, default=20_000, help="direct SMTP messages")
    parser.add_argument("--timeout", type=float, default=600, help="per measurement, seconds")
    parser.add_argument("--profile", action="store_true", help="profile even when on target")
    parser.add_argument("--database", default="bonding_bench_programs")
    parser.add_argument("--sink", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sink:
        run_sink(int(args.sink[0]), args.sink[1])
        return

    import redis

    setups = parse_setups(args.setups)
    bench_url, admin_url = server_urls(args.database)
    prepare_server(admin_url, args.database, regenerate=True)
    var_dir = tempfile.mkdtemp(prefix="bonding-bench-")
    os.makedirs(os.path.join(var_dir, "staticfiles"))
    sink = Sink(var_dir)
    os.environ.update(
        EMAIL_URL=f"smtp://127.0.0.1:{sink.port}",
        LOG_LEVEL="WARNING",
        DISPATCH_BATCH_SIZE=str(args.dispatch_batch),
        SITE_URL="https://bonding.example.com",
    )
    redis_client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "load": {}}
    workers = None
    try:
        setup_django(bench_url, var_dir)
        from django.db import connection

        print(f"Making {args.customers:,} customers...", end="", flush=True)
        made = make_customers(args.customers)
        make_customers(PROFILED_CUSTOMERS, prefix=PROFILE_PREFIX)  # enrolled under cProfile
        connection.close()
        analyze(bench_url)
        print(f" {made['seconds']} s", flush=True)

        machine["load"]["before_enroll"] = generate.load()
        print("Enrolling them in the eight-step program...", end="", flush=True)
        enrollment = enroll_everyone()
        machine["load"]["after_enroll"] = generate.load()
        print(f" {enrollment['touches']:,} touches in {enrollment['seconds']} s", flush=True)
        enroll_profile = None
        if args.profile or enrollment["touches_per_s"] < ENROLL_TARGET:
            print(f"Profiling the enrollment of {PROFILED_CUSTOMERS:,} more...", flush=True)
            enroll_profile = enroll_everyone(PROFILE_PREFIX, profiled=True)
        park_due_touches(bench_url)
        analyze(bench_url)

        print(f"Direct SMTP, {args.messages:,} messages over one connection...", end="", flush=True)
        machine["load"]["before_smtp"] = generate.load()
        smtp = direct_smtp(args.messages)
        smtp["sink"] = sink.counts()
        connection.close()
        print(f" {smtp['messages_per_s']}/s", flush=True)

        sizes = [args.touches] + [args.extra_touches] * (len(setups) - 1)
        profile_customers = 500
        slices = customer_slices(bench_url, sizes + [profile_customers])
        celery, deliveries = {}, []
        for (concurrency, batch), customer_ids in zip(setups, slices, strict=False):
            workers = Workers(
                count=args.workers,
                concurrency=concurrency,
                env={"DELIVERY_BATCH_SIZE": str(batch)},
                var_dir=var_dir,
            )
            label = f"{args.workers} workers x concurrency {concurrency}"
            if concurrency not in celery:
                print(f"Empty tasks, {label}: {args.tasks:,}...", end="", flush=True)
                machine["load"][f"before_tasks_c{concurrency}"] = generate.load()
                celery[concurrency] = empty_tasks(args.tasks, workers, redis_client, args.timeout)
                print(f" {celery[concurrency]['tasks_per_s']}/s", flush=True)
            touch_ids, mix = make_due(bench_url, customer_ids)
            print(
                f"Delivery, {label}, DELIVERY_BATCH_SIZE {batch}: {len(touch_ids):,} touches...",
                end="",
                flush=True,
            )
            machine["load"][f"before_delivery_c{concurrency}_b{batch}"] = generate.load()
            result = deliver_due(bench_url, touch_ids, sink, redis_client, args.timeout)
            machine["load"][f"after_delivery_c{concurrency}_b{batch}"] = generate.load()
            result.update(
                concurrency=concurrency, delivery_batch_size=batch, mix=mix, workers=args.workers
            )
            result["of_smtp"] = round(result["touches_per_s"] / smtp["messages_per_s"], 2)
            result["of_celery"] = round(
                result["touches_per_s"] / celery[concurrency]["tasks_per_s"], 2
            )
            deliveries.append(result)
            print(f" {result['touches_per_s']}/s", flush=True)
            workers.stop()
            workers = None

        main_delivery = deliveries[0]
        profile = None
        if args.profile or main_delivery["of_smtp"] < DELIVERY_TARGET:
            print("Profiling programs.delivery.deliver here...", flush=True)
            profile = profile_delivery(bench_url, slices[-1], setups[0][1])
            connection.close()

        report(args, made, enrollment, enroll_profile, smtp, celery, deliveries, profile, machine)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            json.dumps(
                {
                    "benchmark": "programs",
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": machine,
                    "targets": {
                        "enroll_touches_per_s": ENROLL_TARGET,
                        "delivery_of_smtp": DELIVERY_TARGET,
                    },
                    "dispatch_batch_size": args.dispatch_batch,
                    "customers": made,
                    "enrollment": enrollment,
                    "enrollment_profile": enroll_profile,
                    "direct_smtp": smtp,
                    "empty_tasks": celery,
                    "deliveries": deliveries,
                    "profile": profile,
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
        print(f"Written to {RESULTS.relative_to(ROOT)}")
    finally:
        if workers is not None:
            workers.stop()
        sink.stop()
        shutil.rmtree(var_dir, ignore_errors=True)


def report(
    args, made, enrollment, enroll_profile, smtp, celery, deliveries, profile, machine
) -> None:
    ok = enrollment["touches_per_s"] >= ENROLL_TARGET
    print(
        f"\nEnrollment: {enrollment['enrolled']:,} customers, {enrollment['touches']:,} "
        f"touches in {enrollment['seconds']} s: {enrollment['touches_per_s']:,} touches/s "
        f"(target {ENROLL_TARGET:,}: {'yes' if ok else 'NO'}); reads {enrollment['sql_seconds']} s "
        f"in {enrollment['queries']:,} statements (the writer threads' COPY not included)"
    )
    if enroll_profile:
        print(
            f"\nProfile of enroll, {enroll_profile['enrolled']:,} more customers "
            f"({enroll_profile['touches_per_s']:,} touches/s under the profiler):"
        )
        print(enroll_profile["profile"])
    print(
        f"Direct SMTP: {smtp['messages']:,} messages ({smtp['message_bytes']:,} bytes) over "
        f"one connection: {smtp['messages_per_s']}/s"
    )
    for concurrency, result in celery.items():
        print(
            f"Empty Celery tasks, {args.workers} workers x concurrency {concurrency}: "
            f"{result['tasks']:,} in {result['seconds']} s: {result['tasks_per_s']}/s "
            f"(queued first, by one process at {result['enqueue_per_s']}/s)"
        )
    print(f"\nDelivery (DISPATCH_BATCH_SIZE {args.dispatch_batch}, {args.workers} workers)")
    print(
        f"{'concurrency':>11} {'batch':>6} {'touches':>8} {'sent':>7} {'touches/s':>10} "
        f"{'/SMTP':>6} {'/Celery':>8} {'SMTP conns':>11}  >= {DELIVERY_TARGET} SMTP"
    )
    for d in deliveries:
        verdict = "yes" if d["of_smtp"] >= DELIVERY_TARGET else "NO"
        print(
            f"{d['concurrency']:>11} {d['delivery_batch_size']:>6} {d['touches']:>8,} "
            f"{d['statuses'].get('sent', 0):>7,} {d['touches_per_s']:>10} {d['of_smtp']:>6} "
            f"{d['of_celery']:>8} {d['smtp_connections']:>11}  {verdict}"
        )
    print("Steps of the delivered touches:", deliveries[0]["mix"])
    if profile:
        print(
            f"\nprograms.delivery.deliver in this process, {profile['touches']} touches: "
            f"{profile['ms_per_touch']} ms a touch, of it SQL {profile['sql_ms_per_touch']} ms "
            f"in {profile['queries_per_touch']} queries; outcomes {profile['outcomes']}"
        )
        print(f"{'statement':<40} {'per touch':>9} {'ms per touch':>12}")
        for kind, (count, ms) in profile["statements_per_touch"].items():
            print(f"{kind:<40} {count:>9} {ms:>12}")
        print(f"\nUnder cProfile, {profile['profiled_touches']} more touches:")
        print(profile["profile"])
    print("Load average (1 min):", ", ".join(f"{k} {v}" for k, v in machine["load"].items()))


if __name__ == "__main__":
    main()
