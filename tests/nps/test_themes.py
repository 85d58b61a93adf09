"""nps/themes.py: themes found in a labelled set of verbatims, in English, German and Spanish."""

import json
from collections import Counter
from pathlib import Path

import pytest

from nps import themes

LABELLED = json.loads(
    Path(__file__).with_name("labelled_verbatims.json").read_text(encoding="utf-8")
)
TOPICS = ("delivery", "price", "staff", "quality", "app")
LANGUAGES = ("en", "de", "es")


def labelled(language: str) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for topic, lines in LABELLED[language].items():
        texts += lines
        labels += [topic] * len(lines)
    return texts, labels


def purity(fit: themes.Fit, labels: list[str]) -> float:
    """Share of assigned answers whose theme's most common label is their own."""
    per_theme: dict[int, Counter] = {}
    for assignment, label in zip(fit.assignments, labels, strict=True):
        if assignment is not None:
            per_theme.setdefault(assignment[0], Counter())[label] += 1
    agreeing = sum(counts.most_common(1)[0][1] for counts in per_theme.values())
    return agreeing / sum(sum(counts.values()) for counts in per_theme.values())


def test_the_labelled_set_has_a_few_hundred_verbatims_in_each_language_we_ship():
    assert set(LABELLED) == set(LANGUAGES) == set(themes.LANGUAGES)
    for language in LANGUAGES:
        assert set(LABELLED[language]) == set(TOPICS)
        assert {len(lines) for lines in LABELLED[language].values()} == {30}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_themes_found_match_the_labels(language):
    texts, labels = labelled(language)

    fit = themes.fit(texts, language=language)

    assert len(fit.themes) == len(TOPICS)
    assert purity(fit, labels) >= 0.8
    assigned = sum(a is not None for a in fit.assignments)
    assert assigned >= 0.9 * len(texts)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_topic_has_a_theme_named_for_it(language):
    texts, labels = labelled(language)
    fit = themes.fit(texts, language=language)
    words = {
        "en": {"delivery": "delivery late", "price": "prices price expensive"},
        "de": {"delivery": "lieferung spät paket", "price": "preise preis teuer"},
        "es": {
            "delivery": "entrega tarde paquete",
            "price": "precio caro precios",
            "staff": "personal amable servicial",
            "quality": "calidad producto",
            "app": "app sesión cierra",
        },
    }[language]

    for topic, expected in words.items():
        theme = Counter(
            a[0] for a, label in zip(fit.assignments, labels, strict=True) if a and label == topic
        ).most_common(1)[0][0]
        assert set(fit.themes[theme].terms[:3]) & set(expected.split())


@pytest.mark.parametrize("language", ["en", "es"])
def test_refitting_the_same_answers_finds_the_same_themes_with_the_same_names(language):
    texts, _ = labelled(language)

    first = themes.fit(texts, language=language)
    second = themes.fit(texts, language=language)

    assert first == second
    assert [t.name for t in first.themes] == [t.name for t in second.themes]


def test_themes_come_biggest_first_with_names_from_their_top_terms():
    texts, _ = labelled("de")

    fit = themes.fit(texts, language="de")

    sizes = fit.sizes()
    assert sizes == sorted(sizes, reverse=True)
    for theme in fit.themes:
        assert theme.name == ", ".join(theme.terms[:3])
        assert len(theme.terms) <= themes.TOP_TERMS


def test_a_fixed_number_of_themes_is_kept():
    texts, _ = labelled("en")

    assert len(themes.fit(texts, language="en", themes=2).themes) == 2


def test_too_few_answers_find_no_theme():
    fit = themes.fit(["Late delivery.", "Too expensive."], language="en")

    assert fit.themes == ()
    assert fit.assignments == (None, None)


def test_answers_of_stop_words_only_find_no_theme():
    fit = themes.fit(["it was the"] * 40, language="en")

    assert fit.themes == ()
    assert set(fit.assignments) == {None}


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The delivery was late again.", "en"),
        ("Die Lieferung kam wieder zu spät.", "de"),
        ("Zu teuer.", "de"),
        ("Too expensive.", "en"),
        ("", "en"),
        ("La entrega llegó tarde otra vez.", "es"),
        ("Muy caro.", "es"),
        ("Demasiado caro", "es"),
        ("¡Genial!", "es"),
        ("Envío rápido", "es"),
        ("La app no funciona", "es"),
        ("The app is no good", "en"),
        ("Die App ist gut", "de"),
        ("Schön", "de"),
    ],
)
def test_the_language_of_an_answer(text, language):
    assert themes.language_of(text) == language


@pytest.mark.parametrize(
    ("text", "otherwise", "language"),
    [
        # The words tell: the language chosen elsewhere does not matter.
        ("The delivery was late again.", "de", "en"),
        ("Die Lieferung kam wieder zu spät.", "es", "de"),
        ("El pedido llegó tarde.", "en", "es"),
        # They do not: no stop word, no letter of one language, or as many of two.
        ("Perfect", "es", "es"),
        ("Perfecto", "de", "de"),
        ("", "es", "es"),
        ("No.", "es", "es"),
        ("No.", "en", "en"),
        ("No.", "de", "en"),
    ],
)
def test_the_language_chosen_elsewhere_settles_only_what_the_words_do_not(
    text, otherwise, language
):
    assert themes.language_of(text, otherwise=otherwise) == language


def test_every_labelled_answer_is_read_in_its_own_language():
    for language in LANGUAGES:
        texts, _ = labelled(language)
        assert {themes.language_of(text) for text in texts} == {language}


def test_the_spanish_stop_words_are_function_words_with_and_without_accents():
    spanish = themes.stop_words("es")

    assert 200 <= len(spanish) <= 320
    assert {"que", "qué", "esta", "está", "el", "los", "de", "muy", "más", "mas"} <= spanish
    assert {"hay", "han", "tengo", "estoy", "somos", "fue"} <= spanish
    # Words a theme is made of never are.
    assert not {"entrega", "tarde", "precio", "caro", "calidad", "app", "amable"} & spanish
    assert all(word == word.lower() and word.strip() == word for word in spanish)


def test_an_unknown_language_has_no_stop_words():
    with pytest.raises(ValueError, match="not 'fr'"):
        themes.stop_words("fr")


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (("late", "delivery"), ("late", "delivery"), 1.0),
        (("late", "delivery"), ("late", "parcel"), 1 / 3),
        (("late",), ("price",), 0.0),
        ((), ("price",), 0.0),
    ],
)
def test_overlap_is_shared_over_all_terms(first, second, expected):
    assert themes.overlap(first, second) == pytest.approx(expected)


def test_match_pairs_the_most_alike_themes_once_each():
    previous = {
        "delivery": ("delivery", "late", "parcel", "courier"),
        "price": ("price", "expensive", "high"),
    }
    found = [
        ("price", "expensive", "cost"),
        ("delivery", "late", "parcel", "slow"),
        ("delivery", "late", "courier", "day"),
        ("app", "crashes"),
    ]

    assert themes.match(previous, found) == {0: "price", 1: "delivery"}
