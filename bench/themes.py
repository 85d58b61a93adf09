"""How fast themes are fitted over many answers (nps/themes.py), and, with --database, the
whole refit and the NPS page's themes section on PostgreSQL.

    .venv/bin/python bench/themes.py [--answers 200000 400000] [--seed 20]
    bin/with-test-services .venv/bin/python bench/themes.py --database 200000 [--requests 20]

Makes synthetic verbatims from the labelled phrases of tests/nps/labelled_verbatims.json
(English, German and Spanish; each answer one to three sentences, mostly of one topic,
sometimes with a sentence of another, sometimes with a phrase of no topic), then for each size:
reads each answer's language, fits the themes of each language as the nightly refit does, and
checks that the themes found still match the topics (purity). Prints answers per second, the
projection to 1,000,000 answers against the nightly target (5 minutes on 2 cores), and writes
bench/results/themes.json.

The projection scales the measured time linearly from the largest size, which overstates it:
the grid and the model are fitted on a fixed sample, only the projection of every answer onto
the themes grows with the number of answers.

With --database N: a throwaway test database on the server of DATABASE_URL gets N such
answers (one customer, one invitation each, over the last 12 months), then the nightly
refit runs once (nps.theming.refit_themes: read, fit, rewrite every answer's theme, count the
tallies) and the themes section's reads (nps.theme_figures.theme_rows, as a marketer) run
--requests times: median and p95 against the page's 200 ms target.
"""

import argparse
import json
import os
import platform
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT)]

from nps import themes  # noqa: E402

LABELLED = ROOT / "tests" / "nps" / "labelled_verbatims.json"
RESULTS = BENCH_DIR / "results" / "themes.json"
MILLION = 1_000_000
TARGET_SECONDS = 5 * 60
FILLERS = {
    "en": ["Otherwise fine.", "Thanks.", "That is all.", "Nothing else to add."],
    "de": ["Sonst alles gut.", "Danke.", "Das wäre alles.", "Mehr gibt es nicht."],
    "es": ["Por lo demás, todo bien.", "Gracias.", "Eso es todo.", "Nada más que añadir."],
}
# The share of answers in each language.
LANGUAGE_SHARES = (("en", 0.6), ("de", 0.25), ("es", 0.15))


def synthetic(count: int, seed: int) -> tuple[list[str], list[str]]:
    """`count` answers and the topic each is mostly about ("language:topic")."""
    labelled = json.loads(LABELLED.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    languages = [language for language, _ in LANGUAGE_SHARES]
    shares = [share for _, share in LANGUAGE_SHARES]
    texts, labels = [], []
    for _ in range(count):
        language = rng.choices(languages, weights=shares)[0]
        topics = labelled[language]
        topic = rng.choice(sorted(topics))
        parts = rng.sample(topics[topic], k=rng.choice((1, 1, 2)))
        if rng.random() < 0.15:  # a word about something else too
            other = rng.choice(sorted(set(topics) - {topic}))
            parts.append(rng.choice(topics[other]))
        if rng.random() < 0.2:
            parts.append(rng.choice(FILLERS[language]))
        texts.append(" ".join(parts))
        labels.append(f"{language}:{topic}")
    return texts, labels


def purity(fit: themes.Fit, labels: list[str]) -> float:
    per_theme: dict[int, Counter] = {}
    for assignment, label in zip(fit.assignments, labels, strict=True):
        if assignment is not None:
            per_theme.setdefault(assignment[0], Counter())[label] += 1
    assigned = sum(sum(c.values()) for c in per_theme.values())
    if not assigned:
        return 0.0
    return sum(c.most_common(1)[0][1] for c in per_theme.values()) / assigned


def measure(texts: list[str], labels: list[str]) -> dict:
    started = time.perf_counter()
    by_language: dict[str, tuple[list[str], list[str]]] = {}
    for text, label in zip(texts, labels, strict=True):
        found = by_language.setdefault(themes.language_of(text), ([], []))
        found[0].append(text)
        found[1].append(label)
    read = time.perf_counter() - started
    languages = {}
    for language, (part, part_labels) in sorted(by_language.items()):
        began = time.perf_counter()
        fit = themes.fit(part, language=language)
        seconds = time.perf_counter() - began
        languages[language] = {
            "answers": len(part),
            "themes": [theme.name for theme in fit.themes],
            "assigned": sum(a is not None for a in fit.assignments),
            "purity": round(purity(fit, part_labels), 3),
            "seconds": round(seconds, 2),
        }
    total = time.perf_counter() - started
    return {
        "answers": len(texts),
        "language_seconds": round(read, 2),
        "seconds": round(total, 2),
        "answers_per_second": round(len(texts) / total),
        "languages": languages,
    }


# How customers who talk about each topic score us (as tests/factories.py's TOPIC_SCORES).
TOPIC_SCORES = {
    "delivery": (2, 4, 6),
    "price": (5, 6, 7),
    "staff": (9, 10, 10),
    "quality": (8, 9, 10),
    "app": (0, 3, 6),
}
TARGET_SECTION_MS = 200.0


def in_database(count: int, seed: int, requests: int) -> dict:
    """The refit and the section's reads over `count` answers in a throwaway database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    databases = setup_databases(verbosity=0, interactive=False)
    try:
        return _refit_and_read(count, seed, requests)
    finally:
        teardown_databases(databases, verbosity=0)


def _refit_and_read(count: int, seed: int, requests: int) -> dict:
    import statistics
    from datetime import timedelta

    from django.utils import timezone

    from customers.models import Customer
    from nps import score, theme_figures, theming
    from nps.models import Invitation, Response, Survey

    texts, labels = synthetic(count, seed)
    rng = random.Random(seed)
    survey = Survey.objects.order_by("id").first()
    customer = Customer.objects.create(first_name="Bench", email="bench-themes@example.com")
    now = timezone.now()
    began = time.perf_counter()
    batch = 5_000
    for start in range(0, count, batch):
        part = range(start, min(start + batch, count))
        invitations = Invitation.objects.bulk_create(
            Invitation(survey=survey, customer=customer, token=f"bench-themes-{i}", expires_at=now)
            for i in part
        )
        rows = []
        for i, invitation in zip(part, invitations, strict=True):
            value = rng.choice(TOPIC_SCORES[labels[i].split(":")[1]])
            field = "improve" if i % 4 == 3 else "why"
            rows.append(
                Response(
                    invitation=invitation,
                    survey=survey,
                    customer=customer,
                    score=value,
                    category=score.category(value),
                    answered_at=now - timedelta(minutes=rng.randrange(365 * 24 * 60)),
                    **{field: texts[i]},
                )
            )
        Response.objects.bulk_create(rows)
    loaded = time.perf_counter() - began
    began = time.perf_counter()
    outcome = theming.refit_themes()
    refit = time.perf_counter() - began
    timings = []
    for _ in range(requests + 1):
        began = time.perf_counter()
        section = theme_figures.theme_rows()
        timings.append((time.perf_counter() - began) * 1000)
    timings = sorted(timings[1:])  # the first warms the connection
    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
    return {
        "answers": count,
        "load_seconds": round(loaded, 1),
        "refit_seconds": round(refit, 1),
        "refit_answers_per_second": round(count / refit),
        "themes": outcome.themes,
        "assigned": outcome.assigned,
        "section_rows": len(section),
        "section_median_ms": round(statistics.median(timings), 1),
        "section_p95_ms": round(p95, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, nargs="+", default=[200_000, 400_000])
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--database", type=int, metavar="N", help="refit N answers in PostgreSQL")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    if args.database:
        found = in_database(args.database, args.seed, args.requests)
        projected = MILLION / found["refit_answers_per_second"]
        print(
            f"{found['answers']:,} answers loaded in {found['load_seconds']} s; refit in "
            f"{found['refit_seconds']} s ({found['refit_answers_per_second']:,} answers/s; "
            f"themes {found['themes']}, {found['assigned']:,} assigned)"
        )
        print(
            f"projected refit of {MILLION:,} answers: {projected:.0f} s (target {TARGET_SECONDS} s)"
        )
        print(
            f"themes section ({found['section_rows']} themes): median "
            f"{found['section_median_ms']} ms, p95 {found['section_p95_ms']} ms "
            f"(target {TARGET_SECTION_MS:.0f} ms)"
        )
        found["projected_refit_seconds_for_a_million"] = round(projected)
        RESULTS.parent.mkdir(exist_ok=True)
        (RESULTS.parent / "themes_database.json").write_text(json.dumps(found, indent=2) + "\n")
        return
    runs = []
    for count in args.answers:
        texts, labels = synthetic(count, args.seed)
        run = measure(texts, labels)
        runs.append(run)
        print(
            f"{run['answers']:>9,} answers: {run['seconds']:7.1f} s "
            f"({run['answers_per_second']:,} answers/s; language {run['language_seconds']} s)"
        )
        for language, figures in run["languages"].items():
            print(
                f"    {language}: {figures['answers']:,} answers, {len(figures['themes'])} themes "
                f"in {figures['seconds']} s, {figures['assigned']:,} assigned, "
                f"purity {figures['purity']}"
            )
            print(f"        {' | '.join(figures['themes'])}")
    largest = max(runs, key=lambda run: run["answers"])
    projected = MILLION / largest["answers_per_second"]
    verdict = "within" if projected <= TARGET_SECONDS else "over"
    print(
        f"projected for {MILLION:,} answers: {projected:.0f} s "
        f"({verdict} the {TARGET_SECONDS} s nightly target)"
    )
    found = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
        "projected_seconds_for_a_million": round(projected),
        "target_seconds": TARGET_SECONDS,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
