"""Response times of the NPS summary endpoint and the NPS dashboard page over 1,000,000 answers.

    bin/with-test-services .venv/bin/python bench/nps.py [--regenerate] [--requests 50]

Migrates a database `bonding_bench` on the PostgreSQL server of DATABASE_URL and fills what is
missing: the customers with bench/generate.py (by default without interactions and purchases,
which no figure here reads), then `--responses` NPS answers over the last 12 months with their
invitations (`--invited` times as many, so the response rate is 1 / invited) and a follow-up for
every detractor, set-based (`generate_nps`, which bench/dashboard.py reuses), and counts them
into the NPS tallies when those miss answers (`count_tallies`). Then, as a
marketer and with DEBUG off, one warm-up request and `--requests` measured ones of
`/api/v1/nps/summary/?group_by=month`, `?group_by=tier`, the `/surveys/` page and its verbatims
searched (the htmx fragment, words and categories in turn). Prints median,
p95 and SQL queries per request, EXPLAIN (ANALYZE, BUFFERS) of the slowest queries of every
page whose p95 misses the target, and writes bench/results/nps.json.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

import customers_pages as pages  # noqa: E402
import generate  # noqa: E402

TARGET_P95_MS = 200.0
RESULTS = BENCH_DIR / "results" / "nps.json"
SURVEY_PREFIX = "bench-survey-"
NPS_TABLES = ["nps_survey", "nps_invitation", "nps_response", "customers_followup"]

WHY = [
    "Fast delivery and a friendly team.",
    "The product does what you promised.",
    "Prices went up again.",
    "Support took a week to answer.",
    "Always helpful on the phone.",
    "The invoice was wrong twice.",
    "Great quality, a bit expensive.",
    "Easy to order online.",
    "My account manager knows what I need.",
    "The last delivery came late and damaged.",
]
# Words the verbatims search for: common ones, rarer ones, and one nobody wrote.
SEARCHES = ["delivery", "support", "invoice+wrong", "phone", "zebra", "website", "prices"]
IMPROVE = [
    "Answer faster.",
    "Lower prices for regular customers.",
    "Deliver on time.",
    "Fewer e-mails.",
    "A better website.",
    "Nothing, keep going.",
    "Call me back when promised.",
]


def nps_response_count(dsn: str) -> int:
    """How many answers to the bench surveys the database already holds (0 when none)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('nps_response') IS NOT NULL")
        if not cur.fetchone()[0]:
            return 0
        cur.execute(
            "SELECT count(*) FROM nps_response r JOIN nps_survey s ON s.id = r.survey_id"
            " WHERE s.name LIKE %s",
            (SURVEY_PREFIX + "%",),
        )
        return cur.fetchone()[0]


def generate_nps(
    dsn: str,
    *,
    responses: int = 1_000_000,
    invited: float = 2.0,
    days: int = 365,
    seed: float = 0.17,
) -> dict:
    """Add `responses` answers to three bench surveys, answered over the last `days` days by the
    generated customers (uniformly drawn), each with its invitation, plus `invited - 1` times as
    many invitations left unanswered, and a detractor follow-up for every detractor (most of
    them done, the recent ones open). Set-based SQL in one transaction, like generate.py."""
    invitations = max(int(responses * invited), responses)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    print(f"Generating {responses:,} NPS answers out of {invitations:,} invitations", flush=True)
    conn, cur = generate.open_load(dsn, seed)
    cur.execute(
        "SELECT min(id) - 1, count(*) FROM customers_customer WHERE external_id LIKE %s",
        (generate.BENCH_PREFIX + "%",),
    )
    base, n = cur.fetchone()
    if not n:
        raise SystemExit("No generated customers: run bench/generate.py first.")
    cur.execute("SELECT coalesce(max(id), 0) + 1 FROM customers_customer")
    if cur.fetchone()[0] != base + n + 1:
        raise SystemExit("The generated customers' ids are not contiguous.")
    cur.execute("SELECT id FROM programs_program ORDER BY is_prototype DESC, id")
    program_ids = [row[0] for row in cur.fetchall()] or [None]

    with generate.step("3 surveys", timings):
        cur.execute(
            """
            INSERT INTO nps_survey (name, question_score, question_why, question_improve,
                ask_preferred_channel, premium, is_active, valid_days, created_at)
            SELECT %s || g, 'How likely are you to recommend us to a friend or colleague?',
                'Why did you give that score?', 'What would we have to do to earn a 10?',
                g = 1, CASE WHEN g = 1 THEN 'a 10%% voucher' ELSE '' END, g < 3, 30,
                now() - interval '2 years'
            FROM generate_series(1, 3) AS g
            RETURNING id
            """,
            (SURVEY_PREFIX,),
        )
        surveys = generate.int_array(sorted(row[0] for row in cur.fetchall()), "bigint")

    indexes = generate.drop_indexes(cur, NPS_TABLES[1:], timings)

    cur.execute("SELECT coalesce(max(id), 0) FROM nps_invitation")
    invitation_base = cur.fetchone()[0]
    # The first `responses` invitations get answered (ids known in advance), the rest not.
    with generate.step(f"{invitations:,} invitations", timings):
        cur.execute(
            f"""
            INSERT INTO nps_invitation (id, survey_id, customer_id, channel, token, sent_at,
                expires_at, touch_id, emailed_at, audience, owner_id)
            SELECT {invitation_base} + g, {surveys}[1 + floor(3 * power(random(), 2))::int],
                x.customer_id, channel,
                md5(random()::text || g::text), sent, sent + interval '30 days', NULL,
                CASE WHEN channel = 'email' THEN sent END, c.audience, c.owner_id
            FROM (
                SELECT g, {generate.pick(generate.CHANNELS, skew=3.0)} AS channel,
                    now() - random() * interval '{days} days' AS sent,
                    {base} + 1 + floor({n} * random())::bigint AS customer_id
                FROM generate_series(1, {invitations}) AS g
                OFFSET 0
            ) AS x
            JOIN customers_customer AS c ON c.id = x.customer_id
            """
        )
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('nps_invitation', 'id'), %s)",
            (invitation_base + invitations,),
        )

    cur.execute("SELECT coalesce(max(id), 0) FROM nps_response")
    response_base = cur.fetchone()[0]
    # Scores lean higher up the ladder: 11 * u ^ (0.4 - 0.03 * rank); NPS about +7 at the
    # bottom rung, +35 at the top.
    programs = generate.int_array([p or 0 for p in program_ids], "bigint")
    with generate.step(f"{responses:,} responses", timings):
        cur.execute(
            f"""
            INSERT INTO nps_response (invitation_id, survey_id, customer_id, score, category,
                why, improve, preferred_channel, tier_slug, owner_id_at_answer, program_id,
                audience, answered_at, updated_at)
            SELECT id, survey_id, customer_id, score,
                CASE WHEN score >= 9 THEN 'promoter' WHEN score >= 7 THEN 'passive'
                    ELSE 'detractor' END,
                CASE WHEN random() < 0.7 THEN {generate.pick(WHY)} ELSE '' END,
                CASE WHEN random() < 0.4 THEN {generate.pick(IMPROVE)} ELSE '' END,
                CASE WHEN random() < 0.2 THEN {generate.pick(generate.CHANNELS)} ELSE '' END,
                tier_slug, owner_id, nullif(program_id, 0), audience, answered, answered
            FROM (
                SELECT i.id, i.survey_id, i.customer_id, c.owner_id, c.audience,
                    coalesce(t.slug, '') AS tier_slug,
                    least(10, floor(11 * power(random(),
                        greatest(0.2, 0.4 - 0.03 * coalesce(t.rank, 0)))))::int AS score,
                    CASE WHEN random() < 0.6 THEN {programs}[1 + floor(random()
                        * {len(program_ids)})::int] END AS program_id,
                    least(now(), i.sent_at + power(random(), 3) * interval '5 days') AS answered
                FROM nps_invitation i
                JOIN customers_customer c ON c.id = i.customer_id
                LEFT JOIN customers_tier t ON t.id = c.tier_id
                WHERE i.id > {invitation_base} AND i.id <= {invitation_base + responses}
                OFFSET 0
            ) AS x
            """
        )

    # As nps.services does: the owner gets a follow-up due 48 hours after the answer, source
    # "detractor:<response id>"; nearly all older ones are done, about half of this week's.
    with generate.step("detractor follow-ups", timings):
        cur.execute(
            f"""
            INSERT INTO customers_followup (customer_id, assignee_id, due_at, reason, notes,
                source, done_at, done_by_id, created_at, updated_at)
            SELECT customer_id, owner_id_at_answer, answered_at + interval '48 hours',
                'Detractor: scored ' || score || '. Call and listen.',
                concat_ws(E'\n', nullif(why, ''), nullif(improve, '')), 'detractor:' || id,
                done, CASE WHEN done IS NOT NULL THEN owner_id_at_answer END, answered_at,
                coalesce(done, answered_at)
            FROM (
                SELECT r.*, CASE WHEN random() < CASE
                        WHEN answered_at < now() - interval '14 days' THEN 0.97
                        WHEN answered_at < now() - interval '2 days' THEN 0.7 ELSE 0.4 END
                    THEN least(now(), answered_at + random() * interval '72 hours') END AS done
                FROM nps_response r
                WHERE r.id > {response_base} AND r.category = 'detractor'
                OFFSET 0
            ) AS x
            """
        )
        follow_ups = cur.rowcount

    generate.finish_load(conn, indexes, NPS_TABLES, timings)
    total = round(time.perf_counter() - started, 1)
    print(f"Generated in {total} s", flush=True)
    return {
        "responses": responses,
        "invitations": invitations,
        "detractor_follow_ups": follow_ups,
        "days": days,
        "seconds": total,
        "steps": timings,
    }


def ensure_data(bench_url: str, args: argparse.Namespace) -> dict:
    """Generate the customers and the answers unless they are there; what was generated."""
    from django.db import connection

    made = {}
    existing = generate.bench_customer_count(bench_url)
    if existing >= args.customers:
        print(f"Using the {existing:,} generated customers already there.", flush=True)
    elif existing:
        sys.exit(f"{args.database} holds {existing:,} generated customers: use --regenerate.")
    else:
        connection.close()
        made["customers"] = generate.generate(bench_url, customers=args.customers, rows=args.rows)
    answers = nps_response_count(bench_url)
    if answers >= args.responses:
        print(f"Using the {answers:,} generated NPS answers already there.", flush=True)
    elif answers:
        sys.exit(f"{args.database} holds {answers:,} generated answers: use --regenerate.")
    else:
        connection.close()
        made["nps"] = generate_nps(bench_url, responses=args.responses, invited=args.invited)
    tallies = count_tallies()
    if tallies:
        made["nps_tallies"] = tallies
    return made


def count_tallies() -> dict:
    """Count the answers and invitations into the NPS tallies (as `rebuild_nps_tallies` does)
    when they miss some: the generator writes around the services that keep them. What was
    done, or {} when the tallies already held every answer."""
    from django.db.models import Sum

    from nps import services
    from nps.models import DayTally, Response

    tallied = DayTally.objects.aggregate(n=Sum("answers"))["n"] or 0
    answers = Response.objects.count()
    if tallied == answers:
        print(f"The NPS tallies hold all {answers:,} answers.", flush=True)
        return {}
    print(f"Counting {answers:,} answers into the NPS tallies ({tallied:,} there)", flush=True)
    started = time.perf_counter()
    rows = services.rebuild_tallies()
    seconds = round(time.perf_counter() - started, 1)
    print(f"  {rows} in {seconds} s", flush=True)
    return {"rows": rows, "seconds": seconds}


def measure(name: str, requests: list[tuple[object, str, dict]], budget_s: float = 1e9) -> dict:
    """Request each (client, url, headers); the first only warms up. Timings in ms. Keeps every
    statement's median duration by SQL text, to find the slowest ones of the page. Stops early
    (after 10 requests at least) once `budget_s` seconds have gone, so a slow page stays
    bounded."""
    from django.db import connection

    (warm_client, warm_url, warm_headers), *measured = requests
    response = warm_client.get(warm_url, secure=True, headers=warm_headers)
    assert response.status_code == 200, (warm_url, response.status_code)
    times, sql_times, counts, sizes = [], [], [], []
    by_sql: dict[str, list] = defaultdict(list)
    last_params: dict[str, tuple] = {}
    deadline = time.perf_counter() + budget_s
    for client, url, headers in measured:
        if len(times) >= 10 and time.perf_counter() > deadline:
            break
        log = pages.QueryLog()
        started = time.perf_counter()
        with connection.execute_wrapper(log):
            response = client.get(url, secure=True, headers=headers)  # as behind TLS
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        sql_times.append(sum(q[0] for q in log.queries) * 1000)
        counts.append(len(log.queries))
        sizes.append(len(response.content) / 1024)
        for seconds, sql, params in log.queries:
            by_sql[sql].append(seconds * 1000)
            last_params[sql] = (params, url)
    ranked = sorted(by_sql.items(), key=lambda item: -statistics.median(item[1]))
    slowest = ranked[:3]
    return {
        "page": name,
        "requests": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(pages.percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "sql_median_ms": round(statistics.median(sql_times), 1),
        "queries": sorted(set(counts)),
        "kb_median": round(statistics.median(sizes), 1),
        "example_url": measured[0][1],
        "slowest_queries": [
            {
                "median_ms": round(statistics.median(durations), 1),
                "max_ms": round(max(durations), 1),
                "url": last_params[sql][1],
                "sql": sql,
                "params": [str(p) for p in last_params[sql][0] or ()],
                "_params": last_params[sql][0],
            }
            for sql, durations in slowest
        ],
        "sql_by_median_ms": [
            [round(statistics.median(durations), 1), len(durations) // len(times), sql[:200]]
            for sql, durations in ranked
        ],
    }


def report(results: list[dict], target_ms: float, *, explain_all: bool) -> None:
    """The table, then the slowest queries (with their plans) of the pages that miss."""
    width = max(len(r["page"]) for r in results)
    print()
    print(
        f"{'page':<{width}}  median ms  p95 ms  of it SQL (median)  queries  kB"
        f"  p95 < {target_ms:.0f} ms"
    )
    for r in results:
        queries = "/".join(map(str, r["queries"]))
        verdict = "yes" if r["p95_ms"] < target_ms else "NO"
        print(
            f"{r['page']:<{width}}  {r['median_ms']:>9}  {r['p95_ms']:>6}  "
            f"{r['sql_median_ms']:>15} ms  {queries:>7}  {r['kb_median']:>5}  {verdict}"
        )
    for r in results:
        missed = r["p95_ms"] >= target_ms
        for query in r["slowest_queries"]:
            if not (missed or explain_all) or (query["median_ms"] < 10 and not explain_all):
                continue
            print(f"\n-- “{r['page']}”: {query['median_ms']} ms median ({query['url']})")
            print(query["sql"])
            if query["params"]:
                print("params:", query["params"])
            query["explain"] = pages.explain(query["sql"], query["_params"])
            print(query["explain"])
    for r in results:
        for query in r["slowest_queries"]:
            del query["_params"]


def machine_load() -> dict:
    """The load average now, and `uptime` as printed."""
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return {"load_average_1m": round(os.getloadavg()[0], 2), "uptime": uptime}


def table_sizes(tables: list[str]) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class"
            " WHERE relkind = 'r' AND relname = ANY(%s) ORDER BY relname",
            (tables,),
        )
        return dict(cursor.fetchall())


def write_results(path: Path, body: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        body["postgresql"] = cursor.fetchone()[0]
    body["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        **body.get("machine", {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")
    print(f"Written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def start_django(args: argparse.Namespace) -> tuple[str, str]:
    """Create (or recreate) and migrate the bench database; Django set up with DEBUG off, as
    over HTTPS without the redirect. Returns (the database URL, a temporary folder)."""
    bench_url, admin_url = pages.server_urls(args.database)
    pages.prepare_server(admin_url, args.database, regenerate=args.regenerate)
    var_dir = tempfile.mkdtemp(prefix="bonding-bench-")
    os.makedirs(os.path.join(var_dir, "staticfiles"))  # whitenoise looks there
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    pages.setup_django(bench_url, var_dir)
    return bench_url, var_dir


def marketer_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=f"{generate.MARKETER_PREFIX}01"))
    return client


def scenarios(count: int) -> list[tuple[str, list[tuple[object, str, dict]]]]:
    marketer = marketer_client()
    repeat = count + 1
    return [
        (
            "GET /api/v1/nps/summary/?group_by=month",
            [(marketer, "/api/v1/nps/summary/?group_by=month", {})] * repeat,
        ),
        (
            "GET /api/v1/nps/summary/?group_by=tier",
            [(marketer, "/api/v1/nps/summary/?group_by=tier", {})] * repeat,
        ),
        ("GET /surveys/ (NPS dashboard page)", [(marketer, "/surveys/", {})] * repeat),
        (
            "GET /surveys/?q=…&category=… (verbatims search, htmx)",
            [
                (
                    marketer,
                    f"/surveys/?q={SEARCHES[n % len(SEARCHES)]}"
                    f"&category={('', 'detractor', 'promoter')[n % 3]}",
                    {"HX-Request": "true"},
                )
                for n in range(repeat)
            ],
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regenerate", action="store_true", help="drop and refill the database")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--rows", type=int, default=0, help="interactions + purchases for generate.py"
    )
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--invited", type=float, default=2.0, help="invitations per answer")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per page")
    parser.add_argument("--database", default="bonding_bench")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN every page's slowest")
    parser.add_argument(
        "--budget", type=float, default=150, help="seconds per page, then stop (10 at least)"
    )
    args = parser.parse_args(argv)

    bench_url, var_dir = start_django(args)
    try:
        generation = ensure_data(bench_url, args)
        before = machine_load()
        print(f"Before measuring: {before['uptime']}", flush=True)
        results = []
        for name, requests in scenarios(args.requests):
            print(f"Measuring: {name}...", flush=True)
            results.append(measure(name, requests, args.budget))
        after = machine_load()
        print(f"\nAfter measuring: {after['uptime']}")
        report(results, TARGET_P95_MS, explain_all=args.explain)
        write_results(
            RESULTS,
            {
                "benchmark": "nps",
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "target_p95_ms": TARGET_P95_MS,
                "machine": {"load_before": before, "load_after": after},
                "rows": table_sizes(["customers_customer", *NPS_TABLES]),
                "generation": generation,
                "pages": results,
            },
        )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
