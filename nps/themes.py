"""Themes in what customers say: TF-IDF and NMF over verbatims, one language at a time
(English, German and Spanish, the languages Bonding ships).

No database here: nps/theming.py reads the answers, calls `fit` per language and stores what
comes back. Everything is deterministic (NMF's nndsvda start and a fixed random_state, a sample
drawn with a fixed seed), so fitting the same answers twice finds the same themes with the
same names.

How many themes: a small bounded grid of k (2 to 12), fitted on a sample; the k kept is the
elbow of how well answers are described by their one dominant theme (see _chosen_k).
"""

import re
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

LANGUAGES = ("en", "de", "es")
MIN_THEMES = 2
MAX_THEMES = 12
# The grid and the model are fitted on at most this many answers; the rest are only projected
# onto the themes found, which is what keeps a million answers inside the nightly window.
FIT_SAMPLE = 20_000
GRID_SAMPLE = 5_000
# Fewer answers than this in a language find no theme: too little to tell topics apart.
MIN_ANSWERS = 20
# An answer belongs to its dominant theme when that theme holds at least this share of its
# weight; answers that talk about everything at once (or in no known word) stay unassigned.
DOMINANT_SHARE = 0.5
# One more theme is worth it while it gains at least this share of what the last one did.
ELBOW = 0.5
TOP_TERMS = 10
NAME_TERMS = 3
# Two themes are the same theme (across refits) when their top terms overlap this much.
SAME_THEME_OVERLAP = 0.25
SEED = 20

# Words only, two letters or more: numbers ("a 10") say nothing about a topic.
_TOKENS = r"(?u)\b[^\W\d_]{2,}\b"
_WORD = re.compile(r"[^\W\d_]+")
# Letters one of the languages writes and the others do not: a hint, counted as one word more.
_MARKS = {
    "de": re.compile(r"[äöüß]", re.IGNORECASE),
    "es": re.compile(r"[ñáéíóú¿¡]", re.IGNORECASE),
}


@cache
def stop_words(language: str) -> frozenset[str]:
    """The words that never make a theme, in this language."""
    if language == "en":
        # scikit-learn is imported where it is used: web processes that only read themes
        # never load it (some 80 MB each).
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return frozenset(ENGLISH_STOP_WORDS)
    if language in ("de", "es"):
        lines = Path(__file__).with_name(f"stopwords_{language}.txt").read_text(encoding="utf-8")
        return frozenset(
            line.strip() for line in lines.splitlines() if line.strip() and line[0] != "#"
        )
    raise ValueError(f"themes are found in {', '.join(LANGUAGES)}, not {language!r}")


def language_of(text: str, *, otherwise: str = "en") -> str:
    """The language the text reads as: the one most of its words are stop words of (a letter
    only that language writes counts as one word more). When no language leads ("Perfect!",
    "No."), `otherwise`: the caller may know better, e.g. the language the customer chose."""
    words = _WORD.findall(text.lower())
    evidence = {}
    for language in LANGUAGES:
        known = stop_words(language)
        evidence[language] = sum(word in known for word in words)
        mark = _MARKS.get(language)
        if mark is not None and mark.search(text):
            evidence[language] += 1
    most = max(evidence.values())
    leading = [language for language in LANGUAGES if evidence[language] == most]
    if len(leading) == 1:
        return leading[0]
    return otherwise if otherwise in leading else leading[0]


@dataclass(frozen=True)
class FoundTheme:
    """A theme as fitted: its strongest terms first, and a name made of the first few."""

    terms: tuple[str, ...]
    name: str


@dataclass(frozen=True)
class Fit:
    """Themes found in one language's answers, biggest first, and each answer's theme (an index
    into `themes`, or None) with the share of its weight that theme holds."""

    language: str
    themes: tuple[FoundTheme, ...]
    assignments: tuple[tuple[int, float] | None, ...]

    def sizes(self) -> list[int]:
        counts = [0] * len(self.themes)
        for assignment in self.assignments:
            if assignment is not None:
                counts[assignment[0]] += 1
        return counts


def fit(
    texts: Sequence[str],
    *,
    language: str,
    themes: int | None = None,
    max_themes: int = MAX_THEMES,
) -> Fit:
    """Find themes in these answers (all in `language`) and assign each answer to its dominant
    theme; `themes` fixes how many, else the grid chooses between 2 and `max_themes`."""
    if len(texts) < MIN_ANSWERS:
        return Fit(language, (), (None,) * len(texts))
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words=sorted(stop_words(language)),
        token_pattern=_TOKENS,
        min_df=2,
        max_df=0.9,
        sublinear_tf=True,
        dtype=np.float32,
    )
    sample = _sample(len(texts), FIT_SAMPLE)
    try:
        sample_matrix = vectorizer.fit_transform([texts[i] for i in sample])
    except ValueError:  # no word is left once stop words and rare words are gone
        return Fit(language, (), (None,) * len(texts))
    vocabulary = vectorizer.get_feature_names_out()
    most = min(max_themes, len(vocabulary) - 1, len(texts) // 10)
    if themes is None:
        if most < MIN_THEMES:
            return Fit(language, (), (None,) * len(texts))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            themes = _chosen_k(sample_matrix, range(MIN_THEMES, most + 1))
    themes = max(1, min(themes, len(vocabulary) - 1))
    with warnings.catch_warnings():
        # NMF stopping at max_iter still gives usable themes; nightly logs need not say so.
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        model = _model(themes).fit(sample_matrix)
    matrix = sample_matrix if len(sample) == len(texts) else vectorizer.transform(texts)
    found = [_found(row, vocabulary) for row in model.components_]
    return _biggest_first(language, found, _assign(model.transform(matrix)))


def _sample(size: int, limit: int) -> list[int]:
    """Indices of at most `limit` of `size` answers, drawn the same way every time."""
    if size <= limit:
        return list(range(size))
    rng = np.random.default_rng(SEED)
    return sorted(rng.choice(size, size=limit, replace=False).tolist())


def _model(themes: int) -> Any:
    from sklearn.decomposition import NMF

    return NMF(n_components=themes, init="nndsvda", random_state=SEED, max_iter=400, tol=1e-4)


def _chosen_k(matrix: Any, grid: range) -> int:
    """The number of themes, fitted for each k of the grid on a sample of the sample.

    Each k is scored by how well answers are described by their dominant theme: the margin by
    which it outweighs the runner-up, times the answer's closeness to the theme's terms. The
    score climbs while each new theme separates a topic of its own, and flattens once new
    themes only split topics in halves: the k kept is the elbow, the first one after which a
    theme more gains less than half of what the last one did."""
    part = matrix[_sample(matrix.shape[0], GRID_SAMPLE)]
    described = []
    for k in grid:
        model = _model(k)
        weights = model.fit_transform(part)
        closeness = _closeness(part, weights, model.components_)
        described.append(float((_margins(weights) * closeness).mean()))
    for i in range(len(grid) - 1):
        # The first k has no last gain: it is kept only if a second theme gains nothing.
        gained = described[i] - described[i - 1] if i > 0 else 0.0
        if described[i + 1] - described[i] <= ELBOW * gained:
            return grid[i]
    return grid[max(range(len(grid)), key=lambda i: (described[i], -i))]


def _margins(weights: np.ndarray) -> np.ndarray:
    """Per answer (dominant - runner-up) / dominant; 0 for an answer no theme explains."""
    ordered = -np.sort(-weights, axis=1)
    dominant = ordered[:, 0]
    runner_up = ordered[:, 1] if ordered.shape[1] > 1 else np.zeros_like(dominant)
    return np.divide(
        dominant - runner_up, dominant, out=np.zeros_like(dominant), where=dominant > 0
    )


def _closeness(part: Any, weights: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Per answer the cosine between its words and its dominant theme's terms."""
    lengths = np.linalg.norm(components, axis=1)
    unit = components / np.where(lengths > 0, lengths, 1.0)[:, None]
    cosines = np.asarray(part @ unit.T)
    row_lengths = np.sqrt(np.asarray(part.multiply(part).sum(axis=1)).ravel())
    chosen = cosines[np.arange(cosines.shape[0]), weights.argmax(axis=1)]
    return np.divide(chosen, row_lengths, out=np.zeros_like(chosen), where=row_lengths > 0)


def _found(component: np.ndarray, vocabulary: np.ndarray) -> FoundTheme:
    order = np.argsort(-component, kind="stable")[:TOP_TERMS]
    terms = tuple(str(vocabulary[i]) for i in order if component[i] > 0)
    return FoundTheme(terms=terms, name=name_for(terms))


def name_for(terms: Sequence[str]) -> str:
    """A theme's name from its top terms: "delivery, late, parcel"."""
    return ", ".join(terms[:NAME_TERMS]) or "(no words)"


def _assign(weights: np.ndarray) -> list[tuple[int, float] | None]:
    totals = weights.sum(axis=1)
    dominant = weights.argmax(axis=1)
    top = weights[np.arange(weights.shape[0]), dominant]
    shares = np.divide(top, totals, out=np.zeros_like(top), where=totals > 0)
    return [
        (int(theme), round(float(share), 4)) if share >= DOMINANT_SHARE else None
        for theme, share in zip(dominant, shares, strict=True)
    ]


def _biggest_first(
    language: str, found: list[FoundTheme], raw: list[tuple[int, float] | None]
) -> Fit:
    """Themes ordered by how many answers they hold (then by name), empty ones dropped."""
    sizes = [0] * len(found)
    for assignment in raw:
        if assignment is not None:
            sizes[assignment[0]] += 1
    order = sorted(
        (i for i in range(len(found)) if sizes[i]), key=lambda i: (-sizes[i], found[i].name)
    )
    position = {old: new for new, old in enumerate(order)}
    return Fit(
        language=language,
        themes=tuple(found[i] for i in order),
        assignments=tuple(None if a is None else (position[a[0]], a[1]) for a in raw),
    )


def overlap(first: Sequence[str], second: Sequence[str]) -> float:
    """How alike two themes' top terms are: shared over all (Jaccard), 0..1."""
    a, b = set(first), set(second)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


Key = TypeVar("Key", bound=Hashable)


def match(
    previous: Mapping[Key, Sequence[str]],
    found: Sequence[Sequence[str]],
    *,
    minimum: float = SAME_THEME_OVERLAP,
) -> dict[int, Key]:
    """Which previous theme (by key) each found theme (by index) is, when it is one: the most
    alike pairs first, each previous theme taken once, ties settled by order."""
    pairs = sorted(
        (
            (-overlap(terms, old_terms), index, position)
            for index, terms in enumerate(found)
            for position, old_terms in enumerate(previous.values())
        ),
    )
    keys = list(previous)
    taken: dict[int, Key] = {}
    used: set[int] = set()
    for negative, index, position in pairs:
        if -negative < minimum:
            break
        if index in taken or position in used:
            continue
        taken[index] = keys[position]
        used.add(position)
    return taken
