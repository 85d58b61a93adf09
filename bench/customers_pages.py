"""Response times of the customer list, the 360 page and My day over a large customer base.

    bin/with-test-services .venv/bin/python bench/customers_pages.py [--regenerate]

Migrates a database `bonding_bench` on the PostgreSQL server of DATABASE_URL, fills it with
bench/generate.py (skipped when the data is already there), then requests each page with
Django's test client in this process, with DEBUG off: one warm-up request, then `--requests`
measured ones. Prints median, p95 and SQL queries per request, writes
bench/results/customers_pages.json, and prints EXPLAIN ANALYZE of the slowest query of every
page whose p95 misses the target.
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg2

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

import generate  # noqa: E402

TARGET_P95_MS = 150.0
RESULTS = BENCH_DIR / "results" / "customers_pages.json"
# The temporary table of a dashboard's segment members (bonding/scope.py) names its queries.
SEGMENT_MEMBERS = "dashboard_segment_"


def server_urls(database: str) -> tuple[str, str]:
    """(the bench database's URL, the server's maintenance database URL) from DATABASE_URL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit(
            "DATABASE_URL must point at a PostgreSQL server, e.g. run\n"
            "  bin/with-test-services .venv/bin/python bench/customers_pages.py"
        )
    parts = urlsplit(url)
    return (
        urlunsplit(parts._replace(path=f"/{database}")),
        urlunsplit(parts._replace(path="/postgres")),
    )


def prepare_server(admin_url: str, database: str, *, regenerate: bool) -> None:
    """Create the bench database (afresh with --regenerate); tune a throwaway server for loads."""
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        exists = cur.fetchone() is not None
        if exists and regenerate:
            cur.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            exists = False
        if not exists:
            cur.execute(f'CREATE DATABASE "{database}"')
        cur.execute("SHOW fsync")
        if cur.fetchone()[0] == "off":
            # A throwaway cluster (bin/with-test-services): fewer checkpoints during the load.
            # Only settings a reload applies; the planner's settings stay the defaults.
            cur.execute("ALTER SYSTEM SET max_wal_size = '16GB'")
            cur.execute("ALTER SYSTEM SET checkpoint_timeout = '30min'")
            cur.execute("SELECT pg_reload_conf()")
    conn.close()


def setup_django(bench_url: str, var_dir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bonding.settings",
        DATABASE_URL=bench_url,
        DEBUG="0",
        SECRET_KEY="bench-only-" + "x" * 50,  # a throwaway key for a throwaway database
        ALLOWED_HOSTS="testserver",
        VAR_DIR=var_dir,
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    # With DEBUG off the settings ask for whitenoise's manifest, built by collectstatic; a plain
    # storage gives the same page for this purpose (a {% static %} costs a dict look-up either
    # way) and needs no collected files.
    from django.conf import settings
    from django.test.utils import override_settings

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages).enable()


class QueryLog:
    """Every SQL statement of a request with its duration (a connection execute wrapper)."""

    def __init__(self) -> None:
        self.queries: list[tuple[float, str, tuple]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append((time.perf_counter() - started, sql, params))


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure(name: str, requests: list[tuple[object, str]]) -> dict:
    """Request each (client, url); the first only warms up. Timings in ms."""
    from django.db import connection

    (warm_client, warm_url), *measured = requests
    response = warm_client.get(warm_url, secure=True)
    assert response.status_code == 200, (warm_url, response.status_code)
    times, sql_times, counts, sizes, segment_times = [], [], [], [], []
    slowest = (0.0, "", (), "", ())
    for client, url in measured:
        log = QueryLog()
        started = time.perf_counter()
        with connection.execute_wrapper(log):
            response = client.get(url, secure=True)  # as behind TLS
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        sql_times.append(sum(q[0] for q in log.queries) * 1000)
        # The dashboard over a segment: what reads the segment's members (kept for the page).
        segment_times.append(sum(q[0] for q in log.queries if SEGMENT_MEMBERS in q[1]) * 1000)
        counts.append(len(log.queries))
        sizes.append(len(response.content) / 1024)
        # The statements that made the page's temporary tables: EXPLAIN makes them again.
        setup = tuple(
            (sql, params)
            for _, sql, params in log.queries
            if sql.startswith(("CREATE TEMPORARY", "ANALYZE"))
        )
        for seconds, sql, params in log.queries:
            if seconds * 1000 > slowest[0]:
                slowest = (seconds * 1000, sql, params, url, setup)
    return {
        "page": name,
        "requests": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "sql_median_ms": round(statistics.median(sql_times), 1),
        "queries": sorted(set(counts)),
        "sql_over_segment_median_ms": round(statistics.median(segment_times), 1),
        "sql_over_segment_p95_ms": round(percentile(segment_times, 0.95), 1),
        "html_kb_median": round(statistics.median(sizes)),
        "html_kb_max": round(max(sizes)),
        "example_url": measured[0][1],
        "slowest_query": {
            "ms": round(slowest[0], 1),
            "url": slowest[3],
            "sql": slowest[1],
            "params": [str(p) for p in slowest[2] or ()],
            "_params": slowest[2],
            "_setup": slowest[4],
        },
    }


def explain(sql: str, params, setup=()) -> str:
    """The plan of a page's query, with the temporary tables it read made again first (they
    were dropped at the page's commit)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for statement, statement_params in setup:
            cursor.execute(statement, statement_params)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def scenarios(count: int, seed: int) -> list[tuple[str, list[tuple[object, str]]]]:
    """The pages to measure: (name, [(logged-in client, url)]), count + 1 requests each."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from customers.filters import as_query
    from customers.models import Customer, Segment, Tier

    rng = random.Random(seed)
    user_model = get_user_model()
    clients: dict[int, Client] = {}

    def client_for(user) -> Client:
        if user.pk not in clients:
            clients[user.pk] = Client()
            clients[user.pk].force_login(user)
        return clients[user.pk]

    marketer_user = user_model.objects.get(username=f"{generate.MARKETER_PREFIX}01")
    marketer = client_for(marketer_user)
    managers = list(
        user_model.objects.filter(username__startswith=generate.AM_PREFIX).order_by("username")
    )
    # Every fourth account manager, from the busiest (bench-am-001) down; another warms up.
    chosen_managers = [managers[1]] + (managers[::4] + managers[2::4])[:count]

    slugs = list(Tier.objects.order_by("rank").values_list("slug", flat=True))
    filtered = [
        (
            marketer,
            "/customers/?"
            + urlencode(
                {
                    "tier": slugs[i % len(slugs)],
                    "risk": ("high", "medium")[i % 2],
                    "ordering": "-churn_risk",
                }
            ),
        )
        for i in range(count + 1)
    ]

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.customer_id, count(*) FROM customers_timelineentry t"
            " JOIN customers_customer c ON c.id = t.customer_id"
            " AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL"
            " GROUP BY 1 ORDER BY 2 DESC LIMIT %s",
            (count // 2,),
        )
        heaviest = cursor.fetchall()
        cursor.execute("SELECT min(id), max(id) FROM customers_customer")
        low, high = cursor.fetchone()
    sample = rng.sample(range(low, high + 1), min(20 * count, high - low + 1))
    live = list(
        Customer.objects.filter(pk__in=sample, deleted_at__isnull=True, owner__isnull=False)
        .select_related("owner")
        .only("id", "first_name", "last_name", "owner__id")
    )
    rng.shuffle(live)
    heavy = {
        c.pk: c
        for c in Customer.objects.select_related("owner").filter(pk__in=[pk for pk, _ in heaviest])
    }
    print(
        f"Heaviest timelines: {', '.join(f'{n:,}' for _, n in heaviest[:5])} entries...",
        flush=True,
    )
    detail_customers = live[:1] + [heavy[pk] for pk, _ in heaviest] + live[1:]
    # Each opened by its owner, the account manager (customers without an owner have nobody
    # to open them as a manager; marketers see them, test_pages covers that page).
    detail = [(client_for(c.owner), f"/customers/{c.pk}/") for c in detail_customers[: count + 1]]
    surnames = list(dict.fromkeys(c.last_name for c in live))
    search = [
        (marketer, "/customers/?" + urlencode({"q": surnames[i % len(surnames)]}))
        for i in range(count + 1)
    ]
    by_risk = [
        (
            marketer,
            "/customers/?"
            + urlencode({"q": surnames[i % len(surnames)], "ordering": "-churn_risk"}),
        )
        for i in range(count + 1)
    ]
    first_names = list(dict.fromkeys(c.first_name for c in live))
    by_first_name = [
        (marketer, "/customers/?" + urlencode({"q": first_names[i % len(first_names)]}))
        for i in range(count + 1)
    ]
    sorts = ["-lifetime_value", "lifetime_value", "-predicted_value_12m", "predicted_value_12m"]
    sorts += ["churn_risk", "name", "-name", "-updated_at"]
    sorted_by = [
        (marketer, "/customers/?" + urlencode({"ordering": sorts[i % len(sorts)]}))
        for i in range(count + 1)
    ]
    mine = [(client_for(user), "/customers/") for user in chosen_managers]
    my_day = [(client_for(user), "/my-day/") for user in chosen_managers]
    segment_ids = saved_segments(marketer_user, managers, slugs)
    segment_counts = [
        (marketer, f"/customers/segments/{segment_ids[i % len(segment_ids)]}/count/")
        for i in range(count + 1)
    ]
    segment_pages = [
        (marketer, f"/api/v1/segments/{segment_ids[i % len(segment_ids)]}/customers/")
        for i in range(count + 1)
    ]
    # Only the segments that name a category, each a count: the purchases' index at work.
    by_category = [
        pk
        for pk in segment_ids
        if {"bought", "not_bought"} & set(Segment.objects.get(pk=pk).filters)
    ]
    category_counts = [
        (marketer, f"/customers/segments/{by_category[i % len(by_category)]}/count/")
        for i in range(count + 1)
    ]
    segment_queries = [
        as_query(s.filters).urlencode() for s in Segment.objects.filter(pk__in=segment_ids)
    ]
    segment_lists = [
        (marketer, f"/customers/?{segment_queries[i % len(segment_queries)]}")
        for i in range(count + 1)
    ]
    # The dashboard over each saved segment: marketers 02, 03... each chose one (the page
    # reads the user's choice); every figure is counted live over the segment's customers.
    dashboards = segment_dashboards(segment_ids)
    # Seconds a page at a million (the organization-wide figures): a fifth as many requests.
    over_segment = [
        (client_for(dashboards[i % len(dashboards)]), "/") for i in range(count // 5 + 1)
    ]
    return [
        ("customer list, marketer: tier + risk band, by churn risk", filtered),
        ("customer list, marketer: every other sort (value, name, last change)", sorted_by),
        ("customer list, marketer: search a surname", search),
        ("customer list, marketer: search a surname, by churn risk", by_risk),
        ("customer list, marketer: search a first name", by_first_name),
        ("customer list, account manager: own customers", mine),
        ("360 page (half of them the heaviest timelines)", detail),
        ("My day, account managers", my_day),
        ("segment: live count (exact up to 10,000)", segment_counts),
        ("segment: live count, bought / never bought a category", category_counts),
        ("segment: first page of its customers (API)", segment_pages),
        ("customer list with a segment's total", segment_lists),
        ("dashboard over a saved segment (counted live)", over_segment),
    ]


def segment_dashboards(segment_ids: list[int]) -> list:
    """One marketer per segment (bench-mkt-02, 03...) whose dashboard is computed over it."""
    from django.contrib.auth import get_user_model

    from bonding.services import choose_dashboard_audience
    from customers.models import Segment

    users = []
    for n, segment in enumerate(Segment.objects.filter(pk__in=segment_ids).order_by("pk")):
        user = get_user_model().objects.get(username=f"{generate.MARKETER_PREFIX}{n + 2:02d}")
        choose_dashboard_audience(user=user, segment=segment)
        users.append(user)
    return users


def saved_segments(marketer, managers, slugs) -> list[int]:
    """The marketer's segments the bench reads (saved again on each run, under fixed names)."""
    from customers.models import Segment
    from customers.segments import save_segment
    from programs.models import Program

    program = Program.objects.order_by("id").first()
    wanted = {
        "bench: B2B at risk": "audience=b2b&risk=high",
        "bench: one owner's at risk": f"owner={managers[0].username}&risk=high",
        "bench: a tier, moved in 30 days": f"tier={slugs[-1]}&tier_moved_days=30",
        "bench: bought Hardware, detractors": "bought=Hardware&nps_min=0&nps_max=6",
        "bench: bought Spare parts, B2B at risk": "bought=Spare parts&audience=b2b&risk=high",
        "bench: never bought Software, at risk": "not_bought=Software&risk=high",
        "bench: never in the program, at risk": f"program=out:{program.pk}&risk=high",
    }
    Segment.objects.filter(owner=marketer, name__in=wanted).delete()
    return [save_segment(owner=marketer, name=name, query=q).pk for name, q in wanted.items()]


def table_sizes() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class"
            " WHERE relkind = 'r' AND relname = ANY(%s) ORDER BY relname",
            (generate.LOADED_TABLES,),
        )
        return dict(cursor.fetchall())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regenerate", action="store_true", help="drop and refill the database")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000, help="interactions + purchases")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per page")
    parser.add_argument("--database", default="bonding_bench")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN every page's slowest")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--only", default="", help="measure only the pages whose name contains this text"
    )
    args = parser.parse_args(argv)

    bench_url, admin_url = server_urls(args.database)
    prepare_server(admin_url, args.database, regenerate=args.regenerate)
    var_dir = tempfile.mkdtemp(prefix="bonding-bench-")
    os.makedirs(os.path.join(var_dir, "staticfiles"))  # whitenoise looks there
    try:
        setup_django(bench_url, var_dir)
        from django.db import connection

        existing = generate.bench_customer_count(bench_url)
        generation = None
        if existing >= args.customers:
            print(f"Using the {existing:,} generated customers already there.", flush=True)
        elif existing:
            sys.exit(f"{args.database} holds {existing:,} generated customers: use --regenerate.")
        else:
            connection.close()
            generation = generate.generate(bench_url, customers=args.customers, rows=args.rows)

        # What beat's lift round keeps for the dashboard (all programs against the global
        # control group, each program's lift), as on a running install: not the page's work.
        from programs import lift_tally

        started = time.perf_counter()
        lift_tally.refresh_round()
        print(f"Beat's lift round: {time.perf_counter() - started:.1f} s", flush=True)

        # Other work on the machine shows in the figures: note the load around the measurement.
        load_before = os.getloadavg()[0]
        results = []
        for name, requests in scenarios(args.requests, args.seed):
            if args.only not in name:
                continue
            print(f"Measuring: {name}...", flush=True)
            results.append(measure(name, requests))
        load_after = os.getloadavg()[0]
        print(
            f"\nLoad average (1 min) before / after measuring: {load_before:.1f} / {load_after:.1f}"
        )
        report(results, explain_all=args.explain)

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server_version = cursor.fetchone()[0]
        for result in results:
            del result["slowest_query"]["_params"], result["slowest_query"]["_setup"]
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            json.dumps(
                {
                    "benchmark": "customers_pages",
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "target_p95_ms": TARGET_P95_MS,
                    "machine": {
                        "cpus": os.cpu_count(),
                        "python": platform.python_version(),
                        "load_average_before": round(load_before, 2),
                        "load_average_after": round(load_after, 2),
                    },
                    "postgresql": server_version,
                    "rows": table_sizes(),
                    "generation": generation,
                    "pages": results,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"Written to {RESULTS.relative_to(ROOT)}")
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def report(results: list[dict], *, explain_all: bool) -> None:
    width = max(len(r["page"]) for r in results)
    print()
    print(
        f"{'page':<{width}}  median ms  p95 ms  of it SQL (median)  queries  HTML kB"
        f"  p95 < {TARGET_P95_MS:.0f} ms"
    )
    for r in results:
        queries = "/".join(map(str, r["queries"]))
        verdict = "yes" if r["p95_ms"] < TARGET_P95_MS else "NO"
        print(
            f"{r['page']:<{width}}  {r['median_ms']:>9}  {r['p95_ms']:>6}  "
            f"{r['sql_median_ms']:>15} ms  {queries:>7}  {r['html_kb_median']:>7}  {verdict}"
        )
    for r in results:
        if r["sql_over_segment_median_ms"]:
            print(
                f"{r['page']}: SQL reading the segment's members, median / p95"
                f" {r['sql_over_segment_median_ms']} / {r['sql_over_segment_p95_ms']} ms"
            )
    for r in results:
        slowest = r["slowest_query"]
        if r["p95_ms"] < TARGET_P95_MS and not explain_all:
            continue
        print(f"\nSlowest query of “{r['page']}” ({slowest['ms']} ms, {slowest['url']}):")
        print(slowest["sql"])
        if slowest["params"]:
            print("params:", slowest["params"])
        plan = explain(slowest["sql"], slowest["_params"], slowest["_setup"])
        slowest["explain"] = plan
        print(plan)


if __name__ == "__main__":
    main()
