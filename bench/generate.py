"""Fill a migrated PostgreSQL database with a large, skewed customer base, fast.

Set-based SQL only (INSERT ... SELECT over generate_series), in one transaction: the plain
indexes of the loaded tables are dropped first and rebuilt at the end (a sorted build beats
millions of random index inserts), and foreign-key triggers are off for the load
(session_replication_role = replica; the rows are consistent by construction). VACUUM ANALYZE
runs after the commit, so the pages read like a database that autovacuum looks after.

    python bench/generate.py --customers 1000000 --rows 10000000   # DATABASE_URL from env

Who and what it makes, all marked so later benchmarks can find them:
- users `bench-am-001`... (Account managers) and `bench-mkt-01`... (Marketers), unusable passwords;
- accounts named after surnames ("Hartley Logistics"), one per 20 customers;
- customers `external_id = bench-<id>`, spread over the tiers (fewer on each rung up), bond
  stages, owners (a few account managers own far more than others, 3 % nobody), churn risk
  0..100 (mostly low) with reasons, lifetime values, audiences; 1 % soft-deleted;
- `rows` interactions + purchases, half each, and far more on some customers than on most:
  a customer's share follows a power law (the heaviest gets ~1 % of all rows, the median a few);
- complaints (rows / 100), follow-ups for the owners (rows / 50), one tier change per customer
  above the bottom rung, one consent change per e-mail consent, and a timeline entry for each
  interaction, purchase, complaint, resolution and tier change.
"""

import argparse
import math
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

BENCH_PREFIX = "bench-"
AM_PREFIX = "bench-am-"
MARKETER_PREFIX = "bench-mkt-"


def words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = words(
    """Ann Ben Carla David Emma Frank Grace Henry Iris Jack Kate Liam Mia Noah Olivia Paul Quinn
    Rosa Sam Tara Umar Vera Will Xena Yusuf Zoe Alice Bruno Chloe Dmitri Elena Felix Gina Hugo Ines
    Jonas Kim Lena Marco Nina Oscar Petra Rafael Sofia Tomas Ursula Victor Wanda Yara Zack Adele
    Boris Clara Dario Eva Fabio Greta Hans Ida Joel Karin Luca Marta Nils Omar Pia Ravi Sara Theo
    Uma Vito Walter Agnes Bianca Cyril Dora Emil Flora Gustav Hanna Igor Julia Kurt Lotte Milan Nora
    Otto Paula Ruth Stefan Tilda Ulla Vince Wilma Xavier Yvonne Zeno Aaron Beth Colin Diana"""
)
# Surnames are a head and a tail ("Hart" + "ley"): ~1,000 of them, the commonest ~1.3 % of
# people, the rarest ~0.04 %, so a search by surname finds hundreds to thousands of people.
SURNAME_HEADS = words(
    """Ash Black Brad Brook Cal Car Chat Clay Cole Craw Dal Dun El Fair Fen Fox Gar Glen Hal Hart
    Haw Hol Kings Lang Lind Mar Mid Mor New Nor Oak Pem Ral Red Ross Rut Sand Shel Stan Stock Sut
    Thorn Tur Wal War West Whit Win Wood Yar"""
)
SURNAME_TAILS = words(
    "ton ley son field ford wood well by more worth ham don stone brook cott hurst ridge man "
    "croft wick"
)
SUMMARIES = [
    "Checked in after the delivery",
    "Asked about the renewal",
    "Questions about the invoice",
    "Interested in the new range",
    "Complained about a late delivery",
    "Thanked us for the gift",
    "Wants a quote for next quarter",
    "Discussed the loyalty programme",
    "Left a voicemail",
    "Booked a product demo",
    "Asked for a discount",
    "Referred a colleague",
    "Support: password reset",
    "Met at the trade fair",
    "Reviewed the contract terms",
    "Feedback on the survey",
]
NOTES = [
    "Happy overall; call back next month.",
    "Prefers e-mail in the morning.",
    "Budget is tight until the new fiscal year.",
    "Decision maker is the purchasing manager.",
    "Wants to hear about the premium tier.",
]
FOLLOW_UP_REASONS = [
    "Call back about the quote",
    "Send the renewal offer",
    "Check the delivery arrived",
    "Follow up: detractor answer",
    "Invite to the customer day",
    "Ask for a referral",
]
COMPANY_KINDS = words("Logistics Foods Partners Trading Motors Supplies Holdings Systems Group")
INDUSTRIES = words("Retail Manufacturing Logistics Food Software Health Construction")
TIMEZONES = words(
    "Europe/Paris Europe/London America/New_York America/Chicago America/Los_Angeles Asia/Tokyo"
)
CHANNELS = words("email sms phone letter")
KINDS = words("call email meeting sms chat support social event letter")
PARTNER_KINDS = words("var dealer jobber")
BOND_STAGES = words("awareness identity relationship community advocacy")
RFM_SEGMENTS = words("champions loyal potential new at_risk hibernating lost")
COMPLAINT_CATEGORIES = words("Delivery Billing Quality Service Website Returns")
ROLE_GROUPS = ("Marketers", "Account managers")  # indexed by "is an account manager"
CHURN_REASON = """CASE floor(random() * 5)::int
    WHEN 0 THEN 'No purchase for ' || (60 + floor(random() * 300)) || ' days (usually every '
        || (20 + floor(random() * 60)) || ')'
    WHEN 1 THEN 'Detractor: last NPS answer was ' || floor(random() * 7)
    WHEN 2 THEN 'A complaint open for ' || (3 + floor(random() * 40)) || ' days'
    WHEN 3 THEN 'No two-way contact for ' || (90 + floor(random() * 300)) || ' days'
    ELSE 'Contract ends in ' || (5 + floor(random() * 60)) || ' days' END"""
PRODUCT_CATEGORIES = [
    "Hardware",
    "Software",
    "Services",
    "Spare parts",
    "Training",
    "Subscriptions",
    "Accessories",
]


def sql_text_array(words: list[str]) -> str:
    """A SQL array literal of plain words (ours, never user input)."""
    return "ARRAY[" + ",".join("'" + w.replace("'", "''") + "'" for w in words) + "]::text[]"


def int_array(values: list[int], kind: str = "int") -> str:
    return f"(ARRAY[{','.join(map(str, values))}]::{kind}[])"


def float_array(values: list[float]) -> str:
    return f"ARRAY[{','.join(f'{v:.6f}' for v in values)}]::float8[]"


def pick(words: list[str], u: str = "random()", skew: float = 1.0) -> str:
    """SQL picking one of `words`, the first ones more often when skew > 1."""
    return f"({sql_text_array(words)})[1 + floor({len(words)} * power({u}, {skew}))::int]"


def scatter_multiplier(n: int) -> int:
    """A multiplier coprime with n near 0.618 n: rank -> id becomes a bijection that scatters."""
    m = max(int(n * 0.6180339887), 1)
    while math.gcd(m, n) != 1:
        m += 1
    return m


def skewed_customer(base: int, n: int, mult: int, exponent: float = 3.0) -> str:
    """SQL for a customer id drawn with a power law: rank r has probability ~ r^(1/e - 1)."""
    return f"({base} + 1 + (floor({n} * power(random(), {exponent}))::bigint * {mult}) % {n})"


@contextmanager
def step(name: str, timings: dict[str, float]) -> Iterator[None]:
    print(f"  {name}...", end="", flush=True)
    started = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - started, 1)
    print(f" {timings[name]} s", flush=True)


def bench_customer_count(dsn: str) -> int:
    """How many generated customers the database already holds (0 when not migrated)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('customers_customer') IS NOT NULL")
        if not cur.fetchone()[0]:
            return 0
        cur.execute(
            "SELECT count(*) FROM customers_customer WHERE external_id LIKE %s",
            (BENCH_PREFIX + "%",),
        )
        return cur.fetchone()[0]


def _plain_indexes(cur, tables: list[str]) -> list[tuple[str, str]]:
    """(name, definition) of the indexes on `tables` that no constraint owns."""
    cur.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1
        """,
        (tables,),
    )
    return cur.fetchall()


def open_load(dsn: str, seed: float):
    """A connection and cursor set up for a bulk load in one transaction, random() seeded."""
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    cur.execute("SET work_mem = '256MB'")
    cur.execute("SET maintenance_work_mem = '1GB'")
    cur.execute("SET max_parallel_maintenance_workers = 1")
    cur.execute("SET synchronous_commit = off")
    try:
        cur.execute("SET session_replication_role = replica")
    except psycopg2.Error:
        # Not a superuser: the foreign keys get checked, which is slower but works.
        conn.rollback()
        print("  (not a superuser: foreign-key checks stay on, the load is slower)")
    cur.execute("SELECT setseed(%s)", (seed,))
    return conn, cur


def drop_indexes(cur, tables: list[str], timings: dict[str, float]) -> list[tuple[str, str]]:
    """Drop the plain indexes of `tables` for the load; what `finish_load` builds again."""
    indexes = _plain_indexes(cur, tables)
    with step(f"drop {len(indexes)} indexes for the load", timings):
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
    return indexes


def finish_load(
    conn, indexes, tables: list[str], timings: dict[str, float], *, vacuum: bool = True
) -> None:
    """Build the dropped indexes again, commit, then vacuum (or analyze) the loaded tables."""
    cur = conn.cursor()
    with step(f"rebuild {len(indexes)} indexes", timings):
        for _, definition in indexes:
            cur.execute(definition)
    with step("commit", timings):
        conn.commit()
    conn.autocommit = True
    with step("VACUUM ANALYZE" if vacuum else "ANALYZE", timings):
        for table in tables:
            cur.execute(f"VACUUM (ANALYZE) {table}" if vacuum else f"ANALYZE {table}")
    conn.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load() -> float:
    """The machine's load average over the last minute, recorded beside each figure."""
    return round(os.getloadavg()[0], 2)


LOADED_TABLES = [
    "customers_account",
    "customers_customer",
    "customers_interaction",
    "customers_purchase",
    "customers_complaint",
    "customers_followup",
    "customers_tierchange",
    "customers_consentchange",
    "customers_timelineentry",
]


def generate(
    dsn: str,
    *,
    customers: int = 1_000_000,
    rows: int = 10_000_000,
    account_managers: int = 200,
    marketers: int = 20,
    seed: float = 0.42,
    vacuum: bool = True,
) -> dict:
    """Add the data set to the database at `dsn`; return what it made and how long each took."""
    n = customers
    interactions = rows // 2
    purchases = rows - interactions
    complaints = rows // 100
    follow_ups = rows // 50
    accounts = max(n // 20, 1)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    print(f"Generating {n:,} customers and {rows:,} interactions + purchases", flush=True)

    conn, cur = open_load(dsn, seed)

    def next_id(table: str) -> int:
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        return cur.fetchone()[0]

    cur.execute("SELECT id FROM customers_tier ORDER BY rank")
    tier_ids = [row[0] for row in cur.fetchall()]
    if not tier_ids:
        raise SystemExit("customers_tier is empty: run the migrations first.")
    cur.execute("SELECT name, id FROM auth_group WHERE name IN %s", (tuple(ROLE_GROUPS),))
    groups = dict(cur.fetchall())

    with step("users", timings):
        names = [f"{AM_PREFIX}{i:03d}" for i in range(1, account_managers + 1)]
        names += [f"{MARKETER_PREFIX}{i:02d}" for i in range(1, marketers + 1)]
        group_ids = [groups[ROLE_GROUPS[name.startswith(AM_PREFIX)]] for name in names]
        cur.execute(
            f"""
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                email, is_staff, is_active, date_joined)
            SELECT '!bench', false, u.name, {pick(FIRST_NAMES)}, initcap(u.name),
                u.name || '@example.com', false, true, now()
            FROM unnest(%s::text[]) AS u(name)
            ON CONFLICT (username) DO NOTHING
            """,
            (names,),
        )
        cur.execute(
            """
            INSERT INTO auth_user_groups (user_id, group_id)
            SELECT u.id, g.group_id FROM auth_user u
            JOIN unnest(%s::text[], %s::int[]) AS g(name, group_id) ON g.name = u.username
            ON CONFLICT DO NOTHING
            """,
            (names, group_ids),
        )
        cur.execute(
            "SELECT id FROM auth_user WHERE username LIKE %s ORDER BY username", (AM_PREFIX + "%",)
        )
        am_ids = [row[0] for row in cur.fetchall()]

    indexes = drop_indexes(cur, LOADED_TABLES, timings)

    # A few account managers own far more customers than the others; 3 % have no owner.
    owner = f"{int_array(am_ids)}[1 + floor({len(am_ids)} * power(random(), 1.5))::int]"
    surname = f"{pick(SURNAME_HEADS, skew=1.6)} || {pick(SURNAME_TAILS, skew=1.6)}"
    account_base = next_id("customers_account")
    with step(f"{accounts:,} accounts", timings):
        cur.execute(
            f"""
            INSERT INTO customers_account (id, name, website, industry, owner_id,
                created_at, updated_at)
            SELECT {account_base} + g, {surname} || ' ' || {pick(COMPANY_KINDS)}, '',
                {pick(INDUSTRIES)}, {owner}, now() - random() * interval '5 years', now()
            FROM generate_series(1, {accounts}) AS g
            """
        )
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('customers_account', 'id'), %s)",
            (account_base + accounts,),
        )

    base = next_id("customers_customer")
    mult = scatter_multiplier(n)
    # Fewer customers on each rung up: weights 1, 0.6, 0.36...
    weights = [0.6**i for i in range(len(tier_ids))]
    thresholds = [sum(weights[:i]) / sum(weights) for i in range(len(weights))]
    tiers = int_array(tier_ids, "bigint")
    with step(f"{n:,} customers", timings):
        cur.execute(
            f"""
            INSERT INTO customers_customer (id, external_id, first_name, last_name, email, phone,
                postal_address, account_id, audience, relationship, partner_kind, owner_id,
                timezone, preferred_channel, consent_email, consent_sms, consent_phone,
                consent_letter, estimated_wallet, tier_id, highest_tier_id, manual_tier_until,
                bond_stage, lifetime_value, predicted_value_12m, probability_alive,
                share_of_wallet, churn_risk, churn_reasons, rfm_segment, value_method,
                value_refreshed_at, first_purchase_on, last_purchase_on, nps_latest,
                nps_latest_at, deleted_at, created_at, updated_at)
            SELECT id, '{BENCH_PREFIX}' || id, fn, ln,
                lower(fn || '.' || ln || '.' || id || '@example.com'),
                CASE WHEN random() < 0.85 THEN '+1' || (2012000000 + g) ELSE '' END,
                CASE WHEN random() < 0.3 THEN (1 + floor(random() * 999)) || ' '
                    || {pick(SURNAME_HEADS)} || E' Road\nSpringfield' ELSE '' END,
                account_id, CASE WHEN account_id IS NULL THEN 'retail' ELSE 'b2b' END,
                CASE WHEN tier_ix = 1 THEN 'prospect' WHEN kind < 0.03 THEN 'channel_partner'
                    WHEN kind < 0.04 THEN 'internal_sales' ELSE 'customer' END,
                CASE WHEN tier_ix > 1 AND kind < 0.03 THEN {pick(PARTNER_KINDS)} ELSE '' END,
                CASE WHEN random() < 0.03 THEN NULL ELSE {owner} END,
                CASE WHEN random() < 0.7 THEN '' ELSE {pick(TIMEZONES)} END,
                {pick(CHANNELS, skew=2.0)},
                random() < 0.7, random() < 0.3, random() < 0.4, random() < 0.5,
                wallet, {tiers}[tier_ix], {tiers}[tier_ix], NULL, {pick(BOND_STAGES, skew=1.5)},
                ltv, round((ltv * (0.1 + random() * 0.5))::numeric, 2),
                CASE WHEN tier_ix > 1 THEN random() END,
                CASE WHEN wallet > 0 THEN round(least(ltv / wallet, 1), 4) END,
                risk,
                CASE WHEN risk >= 67 THEN jsonb_build_array({CHURN_REASON}, {CHURN_REASON})
                    WHEN risk >= 34 THEN jsonb_build_array({CHURN_REASON})
                    ELSE '[]'::jsonb END,
                CASE WHEN tier_ix > 1 THEN {pick(RFM_SEGMENTS)} ELSE '' END,
                CASE WHEN tier_ix > 2 THEN 'bg_nbd_gamma_gamma' ELSE 'recent_spend' END,
                now() - random() * interval '1 day',
                CASE WHEN tier_ix > 1 THEN created::date END,
                CASE WHEN tier_ix > 1 THEN greatest(created::date,
                    current_date - floor(random() * 400)::int) END,
                nps, CASE WHEN nps IS NOT NULL THEN now() - random() * interval '1 year' END,
                CASE WHEN random() < 0.01 THEN now() - random() * interval '200 days' END,
                created, created + (now() - created) * random()
            FROM (
                SELECT g, {base} + g AS id, {pick(FIRST_NAMES)} AS fn, {surname} AS ln,
                    CASE WHEN random() < 0.2 THEN {account_base} + 1
                        + floor({accounts} * power(random(), 1.3))::bigint END AS account_id,
                    width_bucket(random(), {float_array(thresholds)}) AS tier_ix,
                    floor(101 * power(random(), 2))::int AS risk,
                    random() AS kind,
                    now() - random() * interval '5 years' AS created,
                    CASE WHEN random() < 0.35 THEN floor(11 * power(random(), 0.6))::int END
                        AS nps,
                    random() AS u_ltv, random() AS u_wallet
                FROM generate_series(1, {n}) AS g
                OFFSET 0
            ) AS r,
            LATERAL (SELECT CASE WHEN tier_ix = 1 THEN 0
                ELSE round((2 * exp(u_ltv * 9))::numeric, 2) END AS ltv) AS v,
            LATERAL (SELECT CASE WHEN u_wallet < 0.4 THEN
                round((ltv * (1 + u_wallet * 10) + 100)::numeric, 2) END AS wallet) AS w
            """
        )
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", (base + n,)
        )

    def drawn(count: int) -> str:
        """`count` rows (cid, u) with customers drawn by the power law; u is uniform."""
        return f"""(SELECT {skewed_customer(base, n, mult)} AS cid, random() AS u
            FROM generate_series(1, {count}) OFFSET 0) AS r"""

    interaction_base = next_id("customers_interaction")
    with step(f"{interactions:,} interactions", timings):
        cur.execute(
            f"""
            INSERT INTO customers_interaction (customer_id, author_id, channel, direction,
                occurred_at, summary, notes, sentiment, follow_up_on, created_at)
            SELECT cid, owner_id, channel, direction, at, summary, notes, sentiment, NULL, at
            FROM (
                SELECT c.id AS cid, c.owner_id, {pick(KINDS, skew=1.7)} AS channel,
                    CASE WHEN random() < 0.35 THEN 'inbound' ELSE 'outbound' END AS direction,
                    now() - power(u, 1.5) * interval '3 years' AS at,
                    {pick(SUMMARIES)} AS summary,
                    CASE WHEN random() < 0.4 THEN {pick(NOTES)} ELSE '' END AS notes,
                    CASE WHEN random() < 0.15 THEN 'negative' WHEN random() < 0.65 THEN 'neutral'
                        ELSE 'positive' END AS sentiment
                FROM {drawn(interactions)} JOIN customers_customer c ON c.id = r.cid
                OFFSET 0
            ) AS x
            """
        )

    purchase_base = next_id("customers_purchase")
    with step(f"{purchases:,} purchases", timings):
        cur.execute(
            f"""
            INSERT INTO customers_purchase (customer_id, external_id, amount, currency,
                purchased_on, product_category, created_at)
            SELECT cid, NULL, amount, 'EUR', day, category, day + time '12:00'
            FROM (
                SELECT r.cid,
                    round(((CASE WHEN random() < 0.04 THEN -1 ELSE 1 END)
                        * (5 + exp(random() * 6)))::numeric, 2) AS amount,
                    current_date - floor(power(u, 1.5) * 1095)::int AS day,
                    CASE WHEN random() < 0.8 THEN {pick(PRODUCT_CATEGORIES, skew=1.5)}
                        ELSE '' END AS category
                FROM {drawn(purchases)}
                OFFSET 0
            ) AS x
            """
        )

    complaint_base = next_id("customers_complaint")
    with step(f"{complaints:,} complaints", timings):
        cur.execute(
            f"""
            INSERT INTO customers_complaint (customer_id, opened_at, category, severity,
                description, owner_id, status, resolution, resolved_at, updated_at)
            SELECT cid, opened, category, severity, 'The customer says: ' || lower(category)
                    || ' was not what we promised.', owner_id,
                CASE WHEN resolved IS NULL THEN 'open' ELSE 'resolved' END,
                CASE WHEN resolved IS NULL THEN '' ELSE 'Apologised and made it right.' END,
                resolved, coalesce(resolved, opened)
            FROM (
                SELECT c.id AS cid, c.owner_id, now() - u * interval '2 years' AS opened,
                    {pick(COMPLAINT_CATEGORIES, skew=1.3)} AS category,
                    {pick(["medium", "low", "high"], skew=1.5)} AS severity,
                    CASE WHEN random() < 0.15 THEN NULL
                        ELSE least(now(), now() - u * interval '2 years'
                            + random() * interval '20 days') END AS resolved
                FROM {drawn(complaints)} JOIN customers_customer c ON c.id = r.cid
                OFFSET 0
            ) AS x
            """
        )

    # Due from 60 days ago to 30 days ahead; most of those past due are done.
    with step(f"{follow_ups:,} follow-ups", timings):
        cur.execute(
            f"""
            INSERT INTO customers_followup (customer_id, assignee_id, due_at, reason, notes,
                source, done_at, done_by_id, created_at, updated_at)
            SELECT cid, owner_id, due, reason, '', source, done,
                CASE WHEN done IS NOT NULL THEN owner_id END, due - interval '7 days',
                coalesce(done, due - interval '7 days')
            FROM (
                SELECT c.id AS cid, c.owner_id,
                    date_trunc('hour', now()) + (u * 90 - 60) * interval '1 day' AS due,
                    {pick(FOLLOW_UP_REASONS)} AS reason,
                    {pick(["interaction", "detractor", "call", "renewal", ""])} AS source,
                    CASE WHEN u * 90 - 60 < 0 AND random() < 0.85 THEN date_trunc('hour', now())
                        + (u * 90 - 60 + random()) * interval '1 day' END AS done
                FROM {drawn(follow_ups)}
                JOIN customers_customer c ON c.id = r.cid AND c.owner_id IS NOT NULL
                OFFSET 0
            ) AS x
            """
        )

    tier_change_base = next_id("customers_tierchange")
    with step("tier and consent changes", timings):
        cur.execute(
            f"""
            INSERT INTO customers_tierchange (customer_id, from_tier_id, to_tier_id, changed_at,
                reason, rule, changed_by_id, direction)
            SELECT id, {tiers}[array_position({tiers}, tier_id) - 1], tier_id,
                created_at + (now() - created_at) * 0.3, 'The ladder rules moved them up',
                'purchases', NULL, 'up'
            FROM customers_customer
            WHERE id > {base} AND tier_id <> {tier_ids[0]}
            """
        )
        cur.execute(
            f"""
            INSERT INTO customers_consentchange (customer_id, channel, granted, source,
                changed_by_id, changed_at)
            SELECT id, 'email', true, 'web form', NULL, created_at
            FROM customers_customer WHERE id > {base} AND consent_email
            """
        )

    # The titles the write modules give them (customers/activity.py), so pages show familiar lines.
    with step("timeline entries", timings):
        cur.execute(
            f"""
            INSERT INTO customers_timelineentry (customer_id, kind, occurred_at, title, detail,
                actor_id, source_id)
            SELECT customer_id, 'interaction', occurred_at,
                initcap(channel) || ' (' || direction || '): ' || summary, notes, author_id, id
            FROM customers_interaction WHERE id > {interaction_base}
            """
        )
        cur.execute(
            f"""
            INSERT INTO customers_timelineentry (customer_id, kind, occurred_at, title, detail,
                actor_id, source_id)
            SELECT customer_id, 'purchase', purchased_on + time '09:00',
                'Purchase: ' || amount || ' ' || currency
                    || CASE WHEN product_category <> '' THEN ' — ' || product_category ELSE '' END,
                '', NULL, id
            FROM customers_purchase WHERE id > {purchase_base}
            """
        )
        cur.execute(
            f"""
            INSERT INTO customers_timelineentry (customer_id, kind, occurred_at, title, detail,
                actor_id, source_id)
            SELECT customer_id, 'complaint', opened_at,
                'Complaint (' || severity || '): ' || category, description, NULL, id
            FROM customers_complaint WHERE id > {complaint_base}
            UNION ALL
            SELECT customer_id, 'complaint_resolved', resolved_at,
                'Complaint resolved: ' || category, resolution, owner_id, id
            FROM customers_complaint WHERE id > {complaint_base} AND resolved_at IS NOT NULL
            UNION ALL
            SELECT t.customer_id, 'tier', t.changed_at, 'Moved ↑ to ' || tier.name || ': '
                || t.reason, '', NULL, t.id
            FROM customers_tierchange t JOIN customers_tier tier ON tier.id = t.to_tier_id
            WHERE t.id > {tier_change_base}
            """
        )

    finish_load(
        conn, indexes, LOADED_TABLES + ["auth_user", "auth_user_groups"], timings, vacuum=vacuum
    )
    total = round(time.perf_counter() - started, 1)
    print(f"Generated in {total} s", flush=True)
    return {
        "customers": n,
        "interactions": interactions,
        "purchases": purchases,
        "complaints": complaints,
        "follow_ups": follow_ups,
        "accounts": accounts,
        "account_managers": account_managers,
        "marketers": marketers,
        "customer_id_base": base,
        "seconds": total,
        "steps": timings,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000, help="interactions + purchases")
    parser.add_argument("--account-managers", type=int, default=200)
    parser.add_argument("--marketers", type=int, default=20)
    parser.add_argument("--seed", type=float, default=0.42, help="for setseed(), -1..1")
    parser.add_argument("--no-vacuum", action="store_true", help="ANALYZE only")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.database_url or not args.database_url.startswith("postgres"):
        sys.exit("Set DATABASE_URL (or --database-url) to a migrated PostgreSQL database.")
    generate(
        args.database_url,
        customers=args.customers,
        rows=args.rows,
        account_managers=args.account_managers,
        marketers=args.marketers,
        seed=args.seed,
        vacuum=not args.no_vacuum,
    )


if __name__ == "__main__":
    main()
