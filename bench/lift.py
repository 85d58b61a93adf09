"""Response times and SQL queries of a program's lift (API and page) at scale.

    bin/with-test-services .venv/bin/python bench/lift.py [--regenerate] [--requests 20]
        [--customers 1000000] [--rows 10000000] [--enrollments 450000]

Migrates a database `bonding_bench_lift` on the PostgreSQL server of DATABASE_URL and fills what
is missing: the customers, purchases and tier changes of bench/generate.py (its `--rows` split
between interactions and purchases), then `--enrollments` enrollments of the eight-step program
(10 % held out) spread over the last year, so most windows of 90 days have ended. Then, as a
marketer and with DEBUG off, one warm-up request and `--requests` measured ones of
`GET /api/v1/programs/{id}/lift/?window=90` and of the Lift page, after beat's work of
computing the lift tallies (programs.lift_tally, timed and printed), which they read.
Prints median, p95 and SQL
queries per request, and writes bench/results/lift.json.
"""

import argparse
import importlib.util
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

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
RESULTS = BENCH_DIR / "results" / "lift.json"
HOLDOUT = 0.10


def ensure_enrollments(count: int) -> dict:
    """The prototype program with `count` enrollments, 10 % held out; what was made."""
    from django.db import connection, transaction

    from programs.models import Enrollment, Program

    program = Program.objects.get(is_prototype=True)
    Program.objects.filter(pk=program.pk).update(holdout_share=round(HOLDOUT * 100))
    present = Enrollment.objects.filter(program=program).count()
    if present:
        print(f"Using the {present:,} enrollments already there.", flush=True)
        return {}
    timings: dict[str, float] = {}
    with (
        generate.step(f"{count:,} enrollments", timings),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # PostgreSQL's hashtext stands in for the app's draw, so the load stays one statement
        # (random() calls in one row came out correlated: no held-out windows had ended).
        cursor.execute(
            """
            INSERT INTO programs_enrollment
                (program_id, customer_id, enrolled_at, status, exit_reason, "group")
            SELECT %s, c.id, now() - mod(abs(hashtext('e' || c.id)), 365) * interval '1 day',
                   'active', '',
                   CASE WHEN mod(abs(hashtext(c.id::text)), 1000) < %s * 1000
                        THEN 'holdout' ELSE 'treated' END
            FROM customers_customer c
            WHERE c.deleted_at IS NULL AND c.external_id LIKE 'bench-%%'
            ORDER BY hashtext('o' || c.id)
            LIMIT %s
            """,
            [program.pk, HOLDOUT, count],
        )
        cursor.execute("ANALYZE programs_enrollment")
    return {"enrollments": count, "timings": timings}


def scenarios(count: int, program_id: int) -> list[tuple[str, list[tuple[object, str, dict]]]]:
    marketer = nps.marketer_client()
    repeat = count + 1
    return [
        (
            "lift API, window 90",
            [(marketer, f"/api/v1/programs/{program_id}/lift/?window=90", {})] * repeat,
        ),
        (
            "Lift page, window 90",
            [(marketer, f"/programs/{program_id}/lift/?window=90", {})] * repeat,
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regenerate", action="store_true", help="drop and refill the database")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000, help="interactions + purchases")
    parser.add_argument("--enrollments", type=int, default=450_000)
    parser.add_argument("--requests", type=int, default=20, help="measured requests per page")
    parser.add_argument("--database", default="bonding_bench_lift")
    parser.add_argument("--budget", type=float, default=150, help="seconds per page, then stop")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.responses = 0  # the lift reads no NPS answers it does not find
    args.invited = 1.0

    bench_url, var_dir = nps.start_django(args)
    try:
        generation = nps.ensure_data(bench_url, args)
        generation.update(ensure_enrollments(args.enrollments))
        from programs.models import Program

        program_id = Program.objects.get(is_prototype=True).pk
        # What beat does every ten minutes: the page and the API read its rows.
        from programs import lift_tally

        started = time.perf_counter()
        tallied = lift_tally.refresh()
        tally_seconds = round(time.perf_counter() - started, 1)
        print(f"Lift tallies: {tallied} rows in {tally_seconds} s (beat's work)", flush=True)
        before = nps.machine_load()
        print(f"Before measuring: {before['uptime']}", flush=True)
        results = []
        for name, requests in scenarios(args.requests, program_id):
            print(f"Measuring: {name}...", flush=True)
            results.append(nps.measure(name, requests, args.budget))
        after = nps.machine_load()
        print(f"\nAfter measuring: {after['uptime']}")
        nps.report(results, TARGET_P95_MS, explain_all=False)
        nps.write_results(
            args.results,
            {
                "benchmark": "lift",
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "target_p95_ms": TARGET_P95_MS,
                "machine": {"load_before": before, "load_after": after},
                "rows": nps.table_sizes(
                    [
                        "customers_customer",
                        "customers_purchase",
                        "customers_tierchange",
                        "programs_enrollment",
                    ]
                ),
                "generation": generation,
                "tally_refresh": {"rows": tallied, "seconds": tally_seconds},
                "pages": results,
            },
        )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
