"""Response times and SQL queries of the marketer's dashboard over 1,000,000 customers.

    bin/with-test-services .venv/bin/python bench/dashboard.py [--regenerate] [--requests 50]

Migrates a database `bonding_bench` on the PostgreSQL server of DATABASE_URL and fills what is
missing: the customers (bench/generate.py, by default without interactions and purchases,
which the dashboard does not read), the NPS answers of bench/nps.py, and `--touches` program
touches (`generate_touches`: enrollments in the eight-step program and two copies of it, one
paused, enrolled over the last 150 days, each step's touch due from its offset; the past ones
sent, waiting, skipped, failed, for review or cancelled, the future ones scheduled), and
refreshes the dashboard's tallies as beat does every minute (timed). Then, as a
marketer and with DEBUG off, one warm-up request and `--requests` measured ones of the first
load of `/` and of its htmx refreshes (`HX-Request: true`): `?days=90`,
`?days=365&audience=b2b` and `?owner=<account manager>` (a different one each time), and an
account manager's own first load of `/` (signed in as each of those in turn). Prints
median, p95 and SQL queries per request, EXPLAIN (ANALYZE, BUFFERS) of the slowest queries
when a p95 misses the target, and writes bench/results/dashboard.json.

Unless `--small 0`, it first runs itself on a second database with `--small` customers (1,000)
and as many answers, and compares the queries per request: they must not depend on the size.
"""

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

import generate  # noqa: E402


def _load_bench_nps():
    """bench/nps.py (`import nps` would find the Django app of that name first)."""
    spec = importlib.util.spec_from_file_location("bench_nps", BENCH_DIR / "nps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nps = _load_bench_nps()

TARGET_P95_MS = 300.0
RESULTS = BENCH_DIR / "results" / "dashboard.json"
PROGRAM_PREFIX = "bench-program "
TOUCH_TABLES = ["programs_program", "programs_step", "programs_enrollment", "programs_touch"]
# (name, share of the enrollments, steps copied from the eight-step program, active)
PROGRAMS = [(None, 0.7, 8, True), ("win-back", 0.2, 4, True), ("onboarding", 0.1, 3, False)]


def bench_touch_count(dsn: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM programs_touch t JOIN programs_enrollment e"
            " ON e.id = t.enrollment_id JOIN customers_customer c ON c.id = e.customer_id"
            " WHERE c.external_id LIKE %s",
            (generate.BENCH_PREFIX + "%",),
        )
        return cur.fetchone()[0]


def copy_rows(cur, table: str, where: str, where_params: tuple, **overrides) -> None:
    """INSERT copies of the rows of `table` matching `where`, every column but the id copied
    unless overridden by name=(SQL, parameter or None)."""
    cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
        " AND column_name <> 'id' ORDER BY ordinal_position",
        (table,),
    )
    columns = [row[0] for row in cur.fetchall()]
    values, params = [], []
    for column in columns:
        sql, param = overrides.get(column, (f'"{column}"', None))
        values.append(sql)
        if sql == "%s":
            params.append(param)
    names = ", ".join(f'"{column}"' for column in columns)
    cur.execute(
        f"INSERT INTO {table} ({names}) SELECT {', '.join(values)} FROM {table} WHERE {where}",
        (*params, *where_params),
    )


def generate_touches(dsn: str, *, touches: int = 3_000_000, seed: float = 0.23) -> dict:
    """Enroll generated customers (one enrollment each at most) in the eight-step program and
    in two bench copies of its first steps (the last one paused), and write every enrollment's
    touches, about `touches` in all. Set-based SQL in one transaction, like generate.py."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    conn, cur = generate.open_load(dsn, seed)
    cur.execute(
        "SELECT min(id) - 1, count(*) FROM customers_customer WHERE external_id LIKE %s",
        (generate.BENCH_PREFIX + "%",),
    )
    base, n = cur.fetchone()
    cur.execute("SELECT id FROM programs_program WHERE is_prototype ORDER BY id LIMIT 1")
    row = cur.fetchone()
    if row is None or not n:
        raise SystemExit("Needs the generated customers and the migrated eight-step program.")
    prototype = row[0]
    steps_per_enrollment = sum(share * steps for _, share, steps, _ in PROGRAMS)
    enrollments = min(round(touches / steps_per_enrollment), n)
    print(f"Generating {enrollments:,} enrollments and their touches (~{touches:,})", flush=True)

    with generate.step("2 bench programs", timings):
        program_ids = [prototype]
        for name, _, steps, active in PROGRAMS[1:]:
            # Copies of the prototype's row and steps, whatever columns they have by now.
            copy_rows(
                cur,
                "programs_program",
                "id = %s RETURNING id",
                (prototype,),
                name=("%s", PROGRAM_PREFIX + name),
                is_active=("%s", active),
                is_prototype=("false", None),
                goal_tier_id=("NULL", None),
                auto_enroll_tier_id=("NULL", None),
                created_at=("now() - interval '1 year'", None),
            )
            program_ids.append(cur.fetchone()[0])
            copy_rows(
                cur,
                "programs_step",
                'program_id = %s AND "order" <= %s',
                (prototype, steps),
                program_id=("%s", program_ids[-1]),
            )

    indexes = generate.drop_indexes(cur, TOUCH_TABLES[2:], timings)

    cur.execute("SELECT coalesce(max(id), 0) FROM programs_enrollment")
    enrollment_base = cur.fetchone()[0]
    ids = generate.int_array(program_ids, "bigint")
    edges = generate.float_array([sum(p[1] for p in PROGRAMS[:i]) for i in range(len(PROGRAMS))])
    mult = generate.scatter_multiplier(n)
    with generate.step(f"{enrollments:,} enrollments", timings):
        cur.execute(
            f"""
            INSERT INTO programs_enrollment (id, program_id, customer_id, enrolled_at, status,
                exit_reason, ended_at)
            SELECT {enrollment_base} + g, {ids}[width_bucket(u, {edges})],
                {base} + 1 + (g::bigint * {mult}) % {n}, enrolled,
                CASE WHEN s < 0.9 THEN 'active' WHEN s < 0.95 THEN 'completed' ELSE 'exited' END,
                CASE WHEN s >= 0.95 THEN 'Unsubscribed from every channel' ELSE '' END,
                CASE WHEN s >= 0.9 THEN enrolled + (now() - enrolled) * random() END
            FROM (
                SELECT g, random() AS u, random() AS s,
                    now() - random() * interval '150 days' AS enrolled
                FROM generate_series(1, {enrollments}) AS g
                OFFSET 0
            ) AS x
            """
        )
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('programs_enrollment', 'id'), %s)",
            (enrollment_base + enrollments,),
        )

    # Past due: 75 % sent, 6 % waiting, 8 % skipped, 2 % failed, 1 % for review, 7.8 %
    # cancelled, 0.2 % still scheduled (the dispatcher's backlog); future ones scheduled.
    with generate.step("touches", timings):
        cur.execute(
            f"""
            INSERT INTO programs_touch (enrollment_id, step_id, customer_id, occurrence, due_at,
                channel, status, attempts, last_error, lease_expires_at, sent_at, message_id,
                responded_at, created_at)
            SELECT enrollment_id, step_id, customer_id, 1, due, channel, status,
                CASE WHEN status IN ('sent', 'waiting') THEN 1 WHEN status IN ('failed',
                    'review') THEN 3 ELSE 0 END,
                CASE status WHEN 'failed' THEN '550 mailbox unavailable'
                    WHEN 'review' THEN 'No channel with consent' ELSE '' END,
                NULL, sent,
                CASE WHEN status = 'sent' THEN md5(random()::text) || '@bench' ELSE '' END,
                CASE WHEN status = 'sent' AND random() < CASE WHEN kind = 'satisfaction_survey'
                    THEN 0.35 ELSE 0.08 END
                    THEN least(now(), sent + power(random(), 2) * interval '7 days') END,
                enrolled
            FROM (
                SELECT *, CASE WHEN status IN ('sent', 'waiting')
                    THEN least(now(), due + random() * interval '15 minutes') END AS sent
                FROM (
                    SELECT e.id AS enrollment_id, s.id AS step_id, e.customer_id, s.kind,
                        e.enrolled_at AS enrolled, due, c.preferred_channel AS channel,
                        CASE WHEN due > now() THEN CASE WHEN e.status = 'active'
                                THEN 'scheduled' ELSE 'cancelled' END
                            WHEN u < 0.75 THEN 'sent' WHEN u < 0.81 THEN 'waiting'
                            WHEN u < 0.89 THEN 'skipped' WHEN u < 0.91 THEN 'failed'
                            WHEN u < 0.92 THEN 'review' WHEN u < 0.998 THEN 'cancelled'
                            ELSE 'scheduled' END AS status
                    FROM programs_enrollment e
                    JOIN programs_step s ON s.program_id = e.program_id
                    JOIN customers_customer c ON c.id = e.customer_id,
                    LATERAL (SELECT random() AS u, e.enrolled_at + random() * interval '10 hours'
                        + CASE s.anchor WHEN 'enrollment' THEN s.offset_days * interval '1 day'
                            WHEN 'contract_end' THEN (30 + floor(random() * 300))
                                * interval '1 day'
                            ELSE interval '365 days' END AS due) AS r
                    WHERE e.id > {enrollment_base}
                    OFFSET 0
                ) AS x
            ) AS y
            """
        )
        made = cur.rowcount

    generate.finish_load(conn, indexes, TOUCH_TABLES, timings)
    total = round(time.perf_counter() - started, 1)
    print(f"Generated in {total} s", flush=True)
    return {"enrollments": enrollments, "touches": made, "seconds": total, "steps": timings}


def refresh_tallies() -> dict:
    """What beat does every minute, before the page reads the tallies: the first run fills
    what is missing (every day of the touch tally on fresh data), a second one shows the cost
    of a minute's refresh with nothing new. Then ANALYZE, as autovacuum would soon."""
    from django.db import connection

    from bonding import services

    timings = {}
    for run in ("first", "again"):
        for name, refresh in (
            ("ladder", services.refresh_ladder_tally),
            ("touches", services.refresh_touch_tally),
        ):
            started = time.perf_counter()
            refresh()
            timings[f"{name} ({run}) s"] = round(time.perf_counter() - started, 2)
    with connection.cursor() as cur:
        for table in (
            "laddertally",
            "touchtally",
            "ownertouchtally",
            "touchstatetally",
            "detractortally",
        ):
            cur.execute(f"ANALYZE bonding_{table}")
    print("Dashboard tallies refreshed:", timings, flush=True)
    return timings


def scenarios(count: int) -> list[tuple[str, list[tuple[object, str, dict]]]]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    marketer = nps.marketer_client()
    htmx = {"HX-Request": "true"}
    repeat = count + 1
    managers = list(
        get_user_model()
        .objects.filter(username__startswith=generate.AM_PREFIX)
        .order_by("username")
        .values_list("username", flat=True)
    )
    # Every fourth account manager from the busiest (bench-am-001) down, then the others.
    chosen = [managers[1]] + (managers[::4] + managers[2::4] + managers[3::4])[:count]
    assert isinstance(marketer, Client)
    return [
        ("GET / (first load)", [(marketer, "/", {})] * repeat),
        ("htmx GET /?days=90", [(marketer, "/?days=90", htmx)] * repeat),
        (
            "htmx GET /?days=365&audience=b2b",
            [(marketer, "/?days=365&audience=b2b", htmx)] * repeat,
        ),
        (
            "htmx GET /?owner=<account manager>",
            [(marketer, f"/?owner={name}", htmx) for name in chosen],
        ),
        ("GET / as an account manager", [(signed_in(name), "/", {}) for name in chosen]),
    ]


def signed_in(username: str):
    """A browser signed in as this user."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def run_small(args: argparse.Namespace) -> dict:
    """This benchmark on a fresh small database (a child process); its results."""
    out = Path(tempfile.mkdtemp(prefix="bonding-bench-")) / "small.json"
    command = [
        sys.executable,
        __file__,
        "--regenerate",
        "--small",
        "0",
        "--database",
        f"{args.database}_small",
        "--customers",
        str(args.small),
        "--responses",
        str(args.small),
        "--touches",
        str(args.small * 3),
        "--requests",
        "10",
        "--results",
        str(out),
    ]
    print(f"Small data set first: {' '.join(command[2:])}", flush=True)
    subprocess.run(command, check=True)
    small = json.loads(out.read_text())
    shutil.rmtree(out.parent, ignore_errors=True)
    return small


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regenerate", action="store_true", help="drop and refill the database")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--rows", type=int, default=0, help="interactions + purchases for generate.py"
    )
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--invited", type=float, default=2.0, help="invitations per answer")
    parser.add_argument("--touches", type=int, default=3_000_000)
    parser.add_argument("--requests", type=int, default=50, help="measured requests per page")
    parser.add_argument("--database", default="bonding_bench")
    parser.add_argument("--small", type=int, default=1000, help="customers of the small run")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN every page's slowest")
    parser.add_argument(
        "--budget", type=float, default=150, help="seconds per page, then stop (10 at least)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    small = run_small(args) if args.small else None
    bench_url, var_dir = nps.start_django(args)
    try:
        generation = nps.ensure_data(bench_url, args)
        present = bench_touch_count(bench_url)
        if present >= args.touches * 0.9:
            print(f"Using the {present:,} generated touches already there.", flush=True)
        elif present:
            sys.exit(f"{args.database} holds {present:,} generated touches: use --regenerate.")
        else:
            generation["touches"] = generate_touches(bench_url, touches=args.touches)
        tallies = refresh_tallies()
        before = nps.machine_load()
        print(f"Before measuring: {before['uptime']}", flush=True)
        results = []
        for name, requests in scenarios(args.requests):
            print(f"Measuring: {name}...", flush=True)
            results.append(nps.measure(name, requests, args.budget))
        after = nps.machine_load()
        print(f"\nAfter measuring: {after['uptime']}")
        nps.report(results, TARGET_P95_MS, explain_all=args.explain)
        fixed = None
        if small:
            fixed = compare_queries(small, results, args.small, args.customers)
        nps.write_results(
            args.results,
            {
                "benchmark": "dashboard",
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "target_p95_ms": TARGET_P95_MS,
                "machine": {"load_before": before, "load_after": after},
                "rows": nps.table_sizes(
                    ["customers_customer", "customers_tierchange", *nps.NPS_TABLES, *TOUCH_TABLES]
                ),
                "generation": generation,
                "tallies": tallies,
                "pages": results,
                "queries_fixed_whatever_the_size": fixed,
                "small": small and {"customers": args.small, "pages": small["pages"]},
            },
        )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def compare_queries(small: dict, results: list[dict], few: int, many: int) -> bool:
    """Print the queries per request at both sizes; True when they are the same everywhere."""
    print(f"\nSQL queries per request: {few:,} customers vs {many:,}")
    same = True
    by_page = {r["page"]: r for r in small["pages"]}
    for r in results:
        a, b = by_page[r["page"]]["queries"], r["queries"]
        same &= a == b and len(b) == 1
        print(
            f"  {r['page']:<36} {'/'.join(map(str, a)):>5} {'/'.join(map(str, b)):>5}"
            f"  {'same' if a == b else 'DIFFERENT'}"
        )
    print("Fixed whatever the data size:", "yes" if same else "NO")
    return same


if __name__ == "__main__":
    main()
