"""Contact sync through the API against a raw upsert, and the incremental list at 1M customers.

    flock /tmp/bonding-bench.lock bin/with-test-services .venv/bin/python bench/sync.py

Creates (afresh) and migrates a database `bonding_bench_sync` on the PostgreSQL server of
DATABASE_URL and starts gunicorn (2 workers, DEBUG off) on it. Then:

1. POSTs 200,000 customers to /api/v1/customers/sync/, 1,000 per request, from 2 client
   threads over keep-alive connections, three times: new rows (created), the same payload again
   (unchanged) and every row changed (updated);
2. upserts the same rows into the emptied customers table with psycopg2, `INSERT ... VALUES
   (x1000) ON CONFLICT (external_id) DO UPDATE`, one transaction per batch, one connection;
   then once more without the table's four GIN trigram indexes (the list search's), for scale;
3. times `sync.upsert_customers` in this process on 1,000 rows, and profiles it when the
   API misses half of the raw rate or 7,500 customers/s (or with --profile);
4. fills the table with 1,000,000 generated customers (bench/generate.py, customers only) and
   pages `GET /api/v1/customers/?updated_since=...&ordering=updated_at` by its cursor links from
   2 client threads for --list-seconds: requests/s, median and p95; checks the page's SQL has
   no COUNT.

Prints the figures and writes bench/results/sync.json.
"""

import argparse
import cProfile
import http.client
import io
import json
import os
import platform
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg2
from psycopg2.extras import execute_values

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

import generate  # noqa: E402
from customers_pages import percentile, prepare_server, server_urls, setup_django  # noqa: E402

RESULTS = BENCH_DIR / "results" / "sync.json"
SYNC_URL = "/api/v1/customers/sync/"
LIST_URL = "/api/v1/customers/"
USERNAME = "bench-sync"
TARGET_RATIO = 0.5
TARGET_API_RATE = 7_500  # customers/s: the "half of raw" on its reference machine
TIME_ZONES = generate.TIMEZONES + ["", "Australia/Sydney", "Asia/Kolkata"]


def sync_rows(count: int, *, changed: bool = False) -> list[dict]:
    """`count` contact rows as a sync client sends them; `changed` alters every row."""
    firsts, heads, tails = generate.FIRST_NAMES, generate.SURNAME_HEADS, generate.SURNAME_TAILS
    rows = []
    for i in range(count):
        first = firsts[i % len(firsts)]
        last = heads[(i // 7) % len(heads)] + tails[(i // 3) % len(tails)]
        rows.append(
            {
                "external_id": f"crm-{i:07d}",
                "first_name": first,
                "last_name": last + ("-Smith" if changed else ""),
                "email": f"{first}.{last}.{i}@example.com".lower(),
                "phone": f"+1{'415' if changed else '212'}736{i % 10000:04d}",
                "timezone": TIME_ZONES[i % len(TIME_ZONES)],
                "audience": "b2b" if i % 5 == 0 else "retail",
                "relationship": "customer" if i % 3 else "prospect",
                "preferred_channel": "sms" if i % 10 == 0 else "email",
                "consents": {"email": i % 10 < 6, "sms": i % 10 == 0},
            }
        )
    return rows


class Gunicorn:
    """`gunicorn bonding.wsgi --workers 2` on a free loopback port, DEBUG off."""

    def __init__(self, *, var_dir: str, workers: int) -> None:
        self.port = generate.free_port()
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1",
            "API_RATE": "1000000/minute",
            "LOG_LEVEL": "WARNING",
            "SECURE_SSL_REDIRECT": "0",
            "VAR_DIR": var_dir,
        }
        self.log = open(os.path.join(var_dir, "gunicorn.log"), "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "bonding.wsgi",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("gunicorn did not start:\n" + Path(self.log.name).read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def post_batches(port: int, token: str, bodies: list[bytes], clients: int) -> dict:
    """POST every body to the sync endpoint from `clients` threads; totals and timings."""
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    pending = list(range(len(bodies)))
    lock = threading.Lock()
    totals = {"created": 0, "updated": 0, "unchanged": 0, "errors": 0}
    latencies: list[float] = []
    failures: list[str] = []

    def work() -> None:
        # http.client keeps the connection when the server does, and reopens it when not.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while True:
            with lock:
                if not pending or failures:
                    break
                index = pending.pop()
            started = time.perf_counter()
            conn.request("POST", SYNC_URL, body=bodies[index], headers=headers)
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    failures.append(f"{response.status}: {data[:500]!r}")
                    continue
                outcome = json.loads(data)
                for key in ("created", "updated", "unchanged"):
                    totals[key] += outcome[key]
                totals["errors"] += len(outcome["errors"])
                if outcome["errors"] and len(failures) < 1:
                    failures.append(f"row errors: {outcome['errors'][:2]}")
        conn.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit(f"The sync requests failed: {failures[0]}")
    return {
        **totals,
        "seconds": round(seconds, 2),
        "request_median_ms": round(statistics.median(latencies) * 1000, 1),
        "request_p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
    }


def vacuum(dsn: str, table: str = "customers_customer") -> None:
    """What autovacuum would do between two syncs: untimed, the same for API and raw."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"VACUUM ANALYZE {table}")
    conn.close()


def empty_customers(dsn: str) -> None:
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE customers_customer CASCADE")
    conn.close()
    vacuum(dsn)


def raw_tuples(rows: list[dict]) -> tuple[list[str], list[str], list[tuple]]:
    """(columns, updated columns, value tuples): every row as the service would store it."""
    from django.db import connection
    from django.utils import timezone

    from customers.models import Customer, Tier
    from customers.sync import NEW_CUSTOMER_DEFAULTS, SYNCED_FIELDS

    lowest = Tier.objects.order_by("rank").first()
    now = timezone.now()
    fields = [f for f in Customer._meta.concrete_fields if not f.primary_key]
    values = []
    for row in rows:
        row = dict(row)
        consents = row.pop("consents")
        customer = Customer(
            **{**NEW_CUSTOMER_DEFAULTS, **row},
            **{f"consent_{c}": g for c, g in consents.items()},
            tier=lowest,
            highest_tier=lowest,
            created_at=now,
            updated_at=now,
        )
        values.append(
            tuple(f.get_db_prep_save(getattr(customer, f.attname), connection) for f in fields)
        )
    by_name = {f.attname: f.column for f in fields}
    consent_columns = [f.column for f in fields if f.attname.startswith("consent_")]
    updated = [by_name[name] for name in SYNCED_FIELDS] + consent_columns + ["updated_at"]
    return [f.column for f in fields], updated, values


def raw_upsert(
    dsn: str, columns: list[str], updated: list[str], values: list[tuple], batch: int
) -> dict:
    """INSERT ... VALUES (x batch) ON CONFLICT (external_id) DO UPDATE, a commit per batch."""
    names = ", ".join(f'"{c}"' for c in columns)
    sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in updated)
    # Like the service, leave a row that would not change alone (the unchanged pass).
    compared = [c for c in updated if c != "updated_at"]
    mine = ", ".join(f'customers_customer."{c}"' for c in compared)
    theirs = ", ".join(f'EXCLUDED."{c}"' for c in compared)
    sql = (
        f"INSERT INTO customers_customer ({names}) VALUES %s ON CONFLICT (external_id) "
        f"DO UPDATE SET {sets} WHERE ({mine}) IS DISTINCT FROM ({theirs})"
    )
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    started = time.perf_counter()
    written = 0
    for start in range(0, len(values), batch):
        execute_values(cur, sql, values[start : start + batch], page_size=batch)
        written += cur.rowcount
        conn.commit()
    seconds = time.perf_counter() - started
    # What of it was psycopg2 writing the statement's text here (execute_values' mogrify).
    template = "(" + ",".join(["%s"] * len(columns)) + ")"
    started = time.perf_counter()
    for row in values:
        cur.mogrify(template, row)
    client_seconds = time.perf_counter() - started
    conn.close()
    return {
        "seconds": round(seconds, 2),
        "client_seconds": round(client_seconds, 2),
        "rows_written": written,
    }


def trigram_indexes(dsn: str) -> list[tuple[str, str]]:
    """(name, definition) of the customers table's GIN trigram indexes (the list's search)."""
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indrelid = 'customers_customer'::regclass"
            " AND pg_get_indexdef(indexrelid) LIKE '%%gin_trgm_ops%%'"
        )
        found = cur.fetchall()
    conn.close()
    return found


def run_sql(dsn: str, statements: list[str]) -> None:
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    conn.close()


def in_process_upsert(rows: list[dict], user, *, profile: bool) -> dict:
    """Time sync.upsert_customers on one batch here (no HTTP), optionally under cProfile."""
    from django.db import connection

    from customers import sync, tasks

    queries: list[float] = []

    def count(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append(time.perf_counter() - started)

    profiler = cProfile.Profile() if profile else None
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        outcome = sync.upsert_customers(
            rows=rows, by=user, refresh_later=tasks.refresh_customers_task.delay
        )
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    result = {
        "rows": len(rows),
        "created": outcome.created,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
        "ms": round(seconds * 1000, 1),
        "sql_ms": round(sum(queries) * 1000, 1),
        "queries": len(queries),
    }
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(14)
        stats.sort_stats("cumulative").print_stats(r"customers|django/db/models/query\.py", 16)
        result["profile"] = out.getvalue()
    return result


def page_walk(port: int, token: str, first_url: str, seconds: float, clients: int) -> dict:
    """Follow `next` links from `first_url` (starting over at the end) for `seconds`."""
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    # Every client walks from the first page, as independent sync clients would.
    walked = {"pages": 0, "rows": 0, "ends_reached": 0}

    def work() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        url = first_url
        while time.perf_counter() < stop_at and not failures:
            started = time.perf_counter()
            conn.request("GET", url, headers=headers)
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                failures.append(f"{response.status}: {data[:300]!r}")
                break
            page = json.loads(data)
            with lock:
                latencies.append(elapsed)
                walked["pages"] += 1
                walked["rows"] += len(page["results"])
            if page["next"]:
                parts = urlsplit(page["next"])
                url = f"{parts.path}?{parts.query}"
            else:
                with lock:
                    walked["ends_reached"] += 1
                url = first_url
        conn.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    measured_from = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - measured_from
    if failures:
        raise SystemExit(f"The list requests failed: {failures[0]}")
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 1),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        **walked,
    }


def list_sql(token: str, first_url: str, *, profiled: bool) -> dict:
    """The SQL of the first pages, and a page's time in this process (Django's test client)."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    url, pages = first_url, []
    for _ in range(3):
        statements: list[tuple[float, str, tuple]] = []

        def log(execute, sql, params, many, context, statements=statements):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                statements.append((time.perf_counter() - started, sql, params))

        with connection.execute_wrapper(log):
            response = client.get(url, secure=True)
        assert response.status_code == 200, response.content[:300]
        pages.append(statements)
        parts = urlsplit(response.json()["next"])
        url = f"{parts.path}?{parts.query}"
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        client.get(url, secure=True)
        timings.append((time.perf_counter() - started) * 1000)
    profile = None
    if profiled:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            client.get(url, secure=True)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(12)
        stats.sort_stats("cumulative").print_stats(r"rest_framework|customers|django_filters", 14)
        profile = out.getvalue()
    counts = [s for page in pages for _, s, _ in page if "COUNT(" in s.upper()]
    slowest = max(pages[-1], key=lambda q: q[0])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest[1], slowest[2])
        plan = [row[0] for row in cursor.fetchall()]
    return {
        "queries_per_page": [len(page) for page in pages],
        "count_queries": len(counts),
        "page_query": slowest[1],
        "page_query_ms": round(slowest[0] * 1000, 2),
        "explain": plan,
        "in_process_median_ms": round(statistics.median(timings), 1),
        "profile": profile,
    }


def prepare_user_and_token(bench_url: str, var_dir: str) -> tuple[object, str]:
    """A marketer (sees everyone) and an API token from `manage.py issue_token`."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    user.groups.add(Group.objects.get(name="Marketers"))
    env = {**os.environ, "DATABASE_URL": bench_url, "VAR_DIR": var_dir, "LOG_LEVEL": "WARNING"}
    key = (
        subprocess.run(
            [sys.executable, "manage.py", "issue_token", USERNAME, "--name", "bench"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return user, key


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2, help="client threads")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--list-customers", type=int, default=1_000_000)
    parser.add_argument(
        "--list-matching", type=int, default=100_000, help="customers changed since updated_since"
    )
    parser.add_argument("--list-seconds", type=float, default=20.0)
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile even when on target")
    parser.add_argument("--database", default="bonding_bench_sync")
    args = parser.parse_args(argv)

    bench_url, admin_url = server_urls(args.database)
    prepare_server(admin_url, args.database, regenerate=True)
    var_dir = tempfile.mkdtemp(prefix="bonding-bench-")
    os.makedirs(os.path.join(var_dir, "staticfiles"))
    server = None
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "load": {}}
    try:
        setup_django(bench_url, var_dir)
        from django.db import connection

        user, token = prepare_user_and_token(bench_url, var_dir)
        rows = sync_rows(args.customers)
        changed_rows = sync_rows(args.customers, changed=True)

        def bodies(source: list[dict]) -> list[bytes]:
            return [
                json.dumps({"customers": source[i : i + args.batch]}).encode()
                for i in range(0, len(source), args.batch)
            ]

        new_bodies, changed_bodies = bodies(rows), bodies(changed_rows)
        connection.close()
        server = Gunicorn(var_dir=var_dir, workers=args.web_workers)
        print(f"gunicorn ({args.web_workers} workers) on port {server.port}", flush=True)

        machine["load"]["before_api"] = generate.load()
        api = {}
        for name, payload, expect in [
            ("created", new_bodies, "created"),
            ("unchanged", new_bodies, "unchanged"),
            ("updated", changed_bodies, "updated"),
        ]:
            print(f"API sync, {name}: {args.customers:,} customers...", end="", flush=True)
            api[name] = post_batches(server.port, token, payload, args.clients)
            api[name]["customers_per_s"] = round(args.customers / api[name]["seconds"])
            assert api[name][expect] == args.customers, api[name]
            print(f" {api[name]['customers_per_s']:,}/s", flush=True)
            vacuum(bench_url)
        machine["load"]["after_api"] = generate.load()

        empty_customers(bench_url)
        columns, updated, new_values = raw_tuples(rows)
        _, _, changed_values = raw_tuples(changed_rows)
        connection.close()
        raw = {}
        for name, values in [
            ("created", new_values),
            ("unchanged", new_values),
            ("updated", changed_values),
        ]:
            print(f"raw upsert, {name}: {args.customers:,} rows...", end="", flush=True)
            raw[name] = raw_upsert(bench_url, columns, updated, values, args.batch)
            raw[name]["customers_per_s"] = round(args.customers / raw[name]["seconds"])
            print(f" {raw[name]['customers_per_s']:,}/s", flush=True)
            vacuum(bench_url)
        # How much of the raw cost is the list search's trigram indexes (GIN, four columns)?
        trigram = trigram_indexes(bench_url)
        empty_customers(bench_url)
        run_sql(bench_url, [f"DROP INDEX {name}" for name, _ in trigram])
        raw_plain = {}
        for name, values in [("created", new_values), ("updated", changed_values)]:
            print(
                f"raw upsert without the {len(trigram)} trigram indexes, {name}...",
                end="",
                flush=True,
            )
            raw_plain[name] = raw_upsert(bench_url, columns, updated, values, args.batch)
            raw_plain[name]["customers_per_s"] = round(args.customers / raw_plain[name]["seconds"])
            print(f" {raw_plain[name]['customers_per_s']:,}/s", flush=True)
            vacuum(bench_url)
        run_sql(bench_url, [definition for _, definition in trigram])
        vacuum(bench_url)
        machine["load"]["after_raw"] = generate.load()
        ratios = {
            name: round(api[name]["customers_per_s"] / raw[name]["customers_per_s"], 2)
            for name in api
        }

        on_target = all(
            ratios[name] >= TARGET_RATIO and api[name]["customers_per_s"] >= TARGET_API_RATE
            for name in ("created", "updated")
        )
        profile_wanted = args.profile or not on_target

        # The table now holds the changed rows: the original ones update them. Timed without
        # the profiler on one batch, profiled on the next (after a warm-up: the first call
        # also connects to the broker, which a web worker does once).
        def fresh(prefix: str, part: int) -> list[dict]:
            return [
                {**r, "external_id": prefix + r["external_id"], "email": prefix + r["email"]}
                for r in rows[part * args.batch : (part + 1) * args.batch]
            ]

        in_process_upsert(fresh("w", 0)[:10], user, profile=False)
        in_process = {
            "created": in_process_upsert(fresh("p", 0), user, profile=False),
            "updated": in_process_upsert(rows[: args.batch], user, profile=False),
        }
        if profile_wanted:
            for name, batch in [
                ("created", fresh("q", 1)),
                ("updated", rows[args.batch : 2 * args.batch]),
            ]:
                in_process[name]["profile"] = in_process_upsert(batch, user, profile=True)[
                    "profile"
                ]
        connection.close()

        listing = None
        if not args.skip_list:
            server.stop()
            empty_customers(bench_url)
            generation = generate.generate(bench_url, customers=args.list_customers, rows=0)
            server = Gunicorn(var_dir=var_dir, workers=args.web_workers)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT updated_at FROM customers_customer WHERE deleted_at IS NULL"
                    " ORDER BY updated_at DESC OFFSET %s LIMIT 1",
                    (args.list_matching - 1,),
                )
                since = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT count(*) FROM customers_customer"
                    " WHERE deleted_at IS NULL AND updated_at >= %s",
                    (since,),
                )
                matching = cursor.fetchone()[0]
            first_url = (
                LIST_URL
                + "?"
                + urlencode({"updated_since": since.isoformat(), "ordering": "updated_at"})
            )
            sql = list_sql(token, first_url, profiled=args.profile)
            connection.close()
            print(
                f"List pages (updated_since matches {matching:,}), {args.list_seconds:.0f} s...",
                flush=True,
            )
            page_walk(server.port, token, first_url, 2.0, args.clients)  # warm-up
            machine["load"]["before_list"] = generate.load()
            walk = page_walk(server.port, token, first_url, args.list_seconds, args.clients)
            machine["load"]["after_list"] = generate.load()
            listing = {
                "customers": args.list_customers,
                "updated_since": since.isoformat(),
                "matching": matching,
                "first_url": first_url,
                "generation_seconds": generation["seconds"],
                **walk,
                "sql": sql,
            }

        report(args, api, raw, raw_plain, ratios, in_process, listing, machine)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            json.dumps(
                {
                    "benchmark": "sync",
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": machine,
                    "customers": args.customers,
                    "batch": args.batch,
                    "client_threads": args.clients,
                    "web_workers": args.web_workers,
                    "target_ratio": TARGET_RATIO,
                    "api": api,
                    "raw": raw,
                    "raw_without_trigram_indexes": raw_plain,
                    "trigram_indexes": [name for name, _ in trigram],
                    "target_api_customers_per_s": TARGET_API_RATE,
                    "ratio_api_to_raw": ratios,
                    "in_process_upsert": in_process,
                    "list": listing,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"Written to {RESULTS.relative_to(ROOT)}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(var_dir, ignore_errors=True)


def report(args, api, raw, raw_plain, ratios, in_process, listing, machine) -> None:
    print(
        f"\nContact sync: {args.customers:,} customers, {args.batch:,} per request "
        f"({args.clients} client threads, gunicorn {args.web_workers} workers; raw: one "
        "connection, a commit per batch)"
    )
    print(
        f"{'pass':<10} {'API /s':>7} {'req. median/p95 ms':>19} {'raw /s':>7} {'API/raw':>8}"
        f"  {'>= ' + str(TARGET_RATIO) + ' raw':>10}  {'>= ' + format(TARGET_API_RATE, ','):>8}"
        f"  {'raw w/o trigram /s':>18}"
    )
    for name in api:
        a, r = api[name], raw[name]
        ratio_ok = ratio_abs = ""
        if name != "unchanged":
            ratio_ok = "yes" if ratios[name] >= TARGET_RATIO else "NO"
            ratio_abs = "yes" if a["customers_per_s"] >= TARGET_API_RATE else "NO"
        timing = f"{a['request_median_ms']:.0f} / {a['request_p95_ms']:.0f}"
        plain = raw_plain.get(name, {}).get("customers_per_s")
        print(
            f"{name:<10} {a['customers_per_s']:>7,} {timing:>19} {r['customers_per_s']:>7,} "
            f"{ratios[name]:>8.2f}  {ratio_ok:>10}  {ratio_abs:>8}  "
            + (f"{plain:>18,}" if plain else "")
        )
    client = raw["created"]["client_seconds"] / raw["created"]["seconds"]
    print(f"(of the raw time, psycopg2 writing the VALUES text here: {client:.0%})")
    for name, result in in_process.items():
        print(
            f"In process, upsert_customers of {result['rows']:,} rows ({name}): "
            f"{result['ms']:.0f} ms, of it SQL {result['sql_ms']:.0f} ms in "
            f"{result['queries']} queries"
        )
    for name, result in in_process.items():
        if "profile" in result:
            print(f"\nProfile of upsert_customers, {name} (the next {result['rows']} rows):")
            print(result["profile"])
    if listing:
        sql = listing["sql"]
        print(
            f"\nList: GET {LIST_URL}?updated_since=…&ordering=updated_at over "
            f"{listing['customers']:,} customers ({listing['matching']:,} match), cursor pages "
            f"of 50, {args.clients} client threads, {listing['seconds']} s"
        )
        print(
            f"{'requests/s':>10} {'median ms':>10} {'p95 ms':>8} {'pages walked':>13} "
            f"{'queries/page':>13} {'COUNT queries':>14}"
        )
        print(
            f"{listing['requests_per_s']:>10} {listing['median_ms']:>10} "
            f"{listing['p95_ms']:>8} {listing['pages']:>13,} "
            f"{'/'.join(map(str, sorted(set(sql['queries_per_page'])))):>13} "
            f"{sql['count_queries']:>14}"
        )
        print(
            f"In process (test client) a page takes {sql['in_process_median_ms']} ms (median), "
            f"its page query {sql['page_query_ms']} ms; plan:"
        )
        for line in sql["explain"][:4]:
            print("   ", line.strip())
        if sql["profile"]:
            print("\nProfile of 5 list pages (in process):")
            print(sql["profile"])
    print("Load average (1 min):", ", ".join(f"{k} {v}" for k, v in machine["load"].items()))


if __name__ == "__main__":
    main()
