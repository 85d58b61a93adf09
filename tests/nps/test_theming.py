"""nps/theming.py: refitting themes over the stored answers, and a marketer's rename, merge and
split, kept across refits."""

import time
from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from bonding.celery import app
from nps import theming
from nps.models import Response, Theme, ThemeMention
from tests.factories import labelled_answers, nps_answers, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def answers(manager):
    return labelled_answers(person(manager))


def topic_of(answers) -> dict[int, str]:
    return {response.pk: response.topic for response in answers}


def current(language: str | None = None) -> list[Theme]:
    themes = Theme.objects.filter(survey=None, is_current=True)
    if language:
        themes = themes.filter(language=language)
    return list(themes.order_by("id"))


def mentions() -> dict[int, int]:
    """Answer id -> its theme id."""
    return dict(ThemeMention.objects.values_list("response_id", "theme_id"))


def theme_of_topic(answers, topic: str, language: str = "en") -> Theme:
    """The theme most of a topic's answers in a language landed in."""
    topics = topic_of(answers)
    of = mentions()
    most = Counter(
        of[pk]
        for pk, t in topics.items()
        if t == topic and pk in of and Theme.objects.get(pk=of[pk]).language == language
    ).most_common(1)
    return Theme.objects.get(pk=most[0][0])


def purity() -> float:
    per_theme: dict[int, Counter] = {}
    for theme_id, topic in [(t, topics[pk]) for pk, t in mentions().items()]:
        per_theme.setdefault(theme_id, Counter())[topic] += 1
    agreeing = sum(c.most_common(1)[0][1] for c in per_theme.values())
    return agreeing / sum(sum(c.values()) for c in per_theme.values())


topics: dict[int, str] = {}


@pytest.fixture(autouse=True)
def labelled(answers):
    topics.clear()
    topics.update(topic_of(answers))


def test_a_refit_finds_the_labelled_themes_in_each_language(answers):
    outcome = theming.refit_themes()

    assert outcome.themes == {"de": 5, "en": 5}
    assert outcome.answers == len(answers)
    assert outcome.assigned >= 0.9 * len(answers)
    assert len(current("en")) == len(current("de")) == 5
    assert purity() >= 0.8
    assert ThemeMention.objects.count() == outcome.assigned


def test_refitting_the_same_answers_keeps_the_same_themes_names_and_answers(answers):
    theming.refit_themes()
    first = [(t.pk, t.name, t.terms) for t in current()]
    first_mentions = mentions()

    theming.refit_themes()

    assert [(t.pk, t.name, t.terms) for t in current()] == first
    assert mentions() == first_mentions


def test_spanish_answers_find_spanish_themes_and_a_refit_keeps_them(manager, answers):
    spanish = labelled_answers(person(manager, 1, language="es"), languages=("es",))
    topics.update(topic_of(spanish))

    outcome = theming.refit_themes()
    first = [(t.pk, t.name, t.terms) for t in current("es")]
    first_mentions = mentions()
    theming.refit_themes()

    assert outcome.themes == {"de": 5, "en": 5, "es": 5}
    assert purity() >= 0.8
    delivery = theme_of_topic(spanish, "delivery", "es")
    assert {"entrega", "tarde"} & set(delivery.name.split(", "))
    # No Spanish answer was fitted with the English or German ones, nor the other way round.
    spoken = dict(ThemeMention.objects.values_list("response_id", "theme__language"))
    assert {spoken[r.pk] for r in spanish if r.pk in spoken} == {"es"}
    assert "es" not in {spoken[r.pk] for r in answers if r.pk in spoken}
    assert [(t.pk, t.name, t.terms) for t in current("es")] == first
    assert mentions() == first_mentions


def test_the_words_say_an_answer_s_language_the_customer_s_only_when_they_cannot(
    manager, django_assert_num_queries
):
    # Pages set to German, answers in English: they belong with the English answers.
    in_english = nps_answers(
        person(manager, 1, language="de"),
        [{"score": 3, "why": "The delivery was late again."}, {"score": 9, "why": "Perfect"}],
    )
    in_spanish = nps_answers(
        person(manager, 2, language="es"),
        [{"score": 10, "why": "Perfecto"}, {"score": 2, "improve": "No."}],
    )
    unknown = nps_answers(person(manager, 3), [{"score": 10, "why": "Perfecto"}])

    with django_assert_num_queries(1):
        by_language = theming._read_answers(None)

    ids = {language: set(found.ids) for language, found in by_language.items()}
    assert in_english[0].pk in ids["en"]
    assert in_english[1].pk in ids["de"]  # one word of no language: the customer's
    assert {r.pk for r in in_spanish} <= ids["es"]
    assert unknown[0].pk in ids["en"]  # no language chosen: the organization's


def test_a_marketer_s_name_survives_a_refit(answers):
    theming.refit_themes()
    delivery = theme_of_topic(answers, "delivery")

    theming.rename_theme(theme=delivery, name="  Late   deliveries ")
    theming.refit_themes()

    delivery.refresh_from_db()
    assert delivery.name == "Late deliveries"
    assert delivery.renamed_by_user and delivery.is_current
    assert theme_of_topic(answers, "delivery") == delivery


def test_a_theme_s_name_cannot_be_blank_or_too_long(answers):
    theming.refit_themes()
    theme = current()[0]

    for bad in ("   ", "x" * 121):
        with pytest.raises(ValidationError) as error:
            theming.rename_theme(theme=theme, name=bad)
        assert "name" in error.value.message_dict

    theme.refresh_from_db()
    assert not theme.renamed_by_user


def test_merging_moves_the_answers_and_a_refit_keeps_them_together(answers):
    theming.refit_themes()
    price = theme_of_topic(answers, "price")
    delivery = theme_of_topic(answers, "delivery")
    together = {pk for pk, t in mentions().items() if t in (price.pk, delivery.pk)}

    theming.merge_themes(theme=price, into=delivery)

    price.refresh_from_db()
    assert price.merged_into == delivery and not price.is_current
    assert {pk for pk, t in mentions().items() if t == delivery.pk} == together

    theming.refit_themes()

    assert {pk for pk, t in mentions().items() if t == delivery.pk} == together
    assert len(current("en")) == 4
    assert not Theme.objects.get(pk=price.pk).is_current


def test_themes_merge_only_within_one_language_and_never_into_themselves(answers):
    theming.refit_themes()
    english, german = current("en")[0], current("de")[0]
    before = mentions()

    for theme, into in ((english, german), (english, english)):
        with pytest.raises(ValidationError) as error:
            theming.merge_themes(theme=theme, into=into)
        assert "into" in error.value.message_dict

    assert mentions() == before
    assert Theme.objects.filter(merged_into__isnull=False).count() == 0


def test_splitting_undoes_a_merge(answers):
    theming.refit_themes()
    price = theme_of_topic(answers, "price")
    theming.merge_themes(theme=theme_of_topic(answers, "app"), into=price)
    held = {pk for pk, t in mentions().items() if t == price.pk}

    halves = theming.split_theme(theme=price)

    assert len(halves) == 2
    price.refresh_from_db()
    assert not price.is_current
    of = mentions()
    assert {pk for pk in held if of[pk] in {h.pk for h in halves}} == held
    for half in halves:
        said = Counter(topics[pk] for pk, t in of.items() if t == half.pk)
        assert said.most_common(1)[0][1] >= 0.8 * sum(said.values())
    assert {t.split_from_id for t in halves} == {price.pk}


def test_a_refit_splits_a_split_theme_again_and_its_halves_keep_their_names(answers):
    theming.refit_themes()
    staff = theme_of_topic(answers, "staff")
    halves = theming.split_theme(theme=staff)
    theming.rename_theme(theme=halves[0], name="The first half")
    held = {pk: t for pk, t in mentions().items() if t in {h.pk for h in halves}}
    assert set(held.values()) == {h.pk for h in halves}

    theming.refit_themes()

    names = {t.name for t in current("en")}
    assert {"The first half", halves[1].name} <= names
    assert staff.name not in names
    assert {pk: t for pk, t in mentions().items() if pk in held} == held


def test_a_theme_with_too_few_answers_is_not_split(manager):
    nps_answers(person(manager, 1), [{"score": 3, "why": "Late delivery."}])
    theme = Theme.objects.create(language="en", name="late, delivery", terms=["late"])

    with pytest.raises(ValidationError) as error:
        theming.split_theme(theme=theme)

    assert "theme" in error.value.message_dict
    assert Theme.objects.filter(split_from=theme).count() == 0


def test_themes_no_longer_found_are_dropped_unless_a_marketer_named_them(answers):
    theming.refit_themes()
    kept = current("de")[0]
    theming.rename_theme(theme=kept, name="Named")
    gone = current("de")[1]

    # No German answer is left: the German themes are not found again.
    Response.objects.filter(theme_mentions__theme__language="de").delete()
    theming.refit_themes()

    kept.refresh_from_db()
    assert not kept.is_current and kept.name == "Named"
    assert not Theme.objects.filter(pk=gone.pk).exists()
    assert current("de") == []


def test_a_named_theme_found_again_comes_back_with_its_name(manager, answers):
    theming.refit_themes()
    named = current("de")[0]
    theming.rename_theme(theme=named, name="Named")
    german = Response.objects.filter(theme_mentions__theme__language="de")
    kept = list(german.values("score", "why", "improve"))
    german.delete()
    theming.refit_themes()
    assert not Theme.objects.get(pk=named.pk).is_current

    nps_answers(person(manager, 3), kept)
    theming.refit_themes()

    named.refresh_from_db()
    assert named.is_current and named.name == "Named"
    assert named.mentions.exists()


def test_the_refit_is_on_beats_nightly_schedule():
    assert app.conf.beat_schedule["refit-themes"]["task"] == "nps.tasks.refit_themes_task"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_refit_task_runs_in_a_worker(answers, celery_worker_process):
    from nps.tasks import refit_themes_task

    refit_themes_task.delay()

    # Watched in the database: the embedded lane keeps no task results.
    deadline = time.monotonic() + 120
    while len(current()) < 10:
        assert time.monotonic() < deadline, "".join(celery_worker_process.log)
        time.sleep(0.2)
    assert len(current("en")) == len(current("de")) == 5
