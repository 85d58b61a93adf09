"""How fast themes are fitted over many answers (nps/themes.py, no database).

    .venv/bin/python bench/themes.py [--answers 200000 400000] [--seed 20]

Makes synthetic verbatims from the labelled phrases of tests/nps/labelled_verbatims.json
(English and German; each answer one to three sentences, mostly of one topic, sometimes with a
sentence of another, sometimes with a phrase of no topic), then for each size: reads each
answer's language, fits the themes of each language as the nightly refit does, and checks that
the themes found still match the topics (purity). Prints answers per second, the projection to
1,000,000 answers against the nightly target (5 minutes on 2 cores), and writes
bench/results/themes.json.

The projection scales the measured time linearly from the largest size, which overstates it:
the grid and the model are fitted on a fixed sample, only the projection of every answer onto
the themes grows with the number of answers.
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
}


def synthetic(count: int, seed: int) -> tuple[list[str], list[str]]:
    """`count` answers and the topic each is mostly about ("language:topic")."""
    labelled = json.loads(LABELLED.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    languages = [("en", 0.7), ("de", 0.3)]
    texts, labels = [], []
    for _ in range(count):
        language = "en" if rng.random() < languages[0][1] else "de"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, nargs="+", default=[200_000, 400_000])
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
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
