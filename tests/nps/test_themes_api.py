"""GET /api/v1/nps/themes/: the themes in what customers say, as the NPS page shows them."""

import pytest
from rest_framework.test import APIClient

from nps import score, theming
from nps.models import Survey, Theme, ThemeMention
from tests.factories import labelled_answers, person

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def fitted(manager, other_manager):
    mine = labelled_answers(person(manager), per_topic=6)
    theirs = labelled_answers(person(other_manager, 1), per_topic=24, first=6)
    theming.refit_themes()
    return mine, theirs


def test_themes_come_most_mentioned_first_with_their_figures(marketer, fitted):
    body = api(marketer).get("/api/v1/nps/themes/").json()

    themes = body["results"]
    assert body["next"] is None and body["previous"] is None
    assert len(themes) == Theme.objects.filter(is_current=True).count() >= 10
    assert [t["responses"] for t in themes] == sorted(
        (t["responses"] for t in themes), reverse=True
    )
    first = themes[0]
    scores = list(
        ThemeMention.objects.filter(theme_id=first["id"]).values_list("response__score", flat=True)
    )
    expected = score.from_scores(scores)
    assert first["responses"] == expected.responses
    assert first["nps"] == round(expected.nps, 1)
    assert first["margin_of_error"] == round(expected.margin_of_error, 1)
    assert first["detractor_share"] == round(expected.detractors / expected.responses, 3)
    assert first["promoter_share"] == round(expected.promoters / expected.responses, 3)
    assert first["name"] == ", ".join(first["terms"][:3])
    assert len(first["months"]) == 12
    assert sum(m["responses"] for m in first["months"]) == expected.responses
    assert len(first["examples"]) == 2
    example_fields = {"id", "customer", "score", "category", "why", "improve", "answered_at"}
    assert set(first["examples"][0]) == example_fields


def test_an_account_manager_s_themes_count_only_their_customers_answers(manager, fitted):
    mine, _ = fitted

    themes = api(manager).get("/api/v1/nps/themes/").json()["results"]

    assert sum(t["responses"] for t in themes) <= len(mine)
    mine_ids = {r.pk for r in mine}
    for theme in themes:
        assert {e["id"] for e in theme["examples"]} <= mine_ids


def test_themes_filter_by_language_and_survey(marketer, fitted):
    client = api(marketer)

    german = client.get("/api/v1/nps/themes/", {"language": "de"}).json()["results"]
    other_survey = Survey.objects.create(name="Another")
    none = client.get("/api/v1/nps/themes/", {"survey": other_survey.pk}).json()["results"]

    assert {t["language"] for t in german} == {"de"}
    assert len(german) == Theme.objects.filter(is_current=True, language="de").count() >= 5
    assert none == []


def test_spanish_themes_are_listed_and_filtered(marketer, manager, fitted):
    labelled_answers(person(manager, 2, language="es"), languages=("es",), per_topic=20)
    theming.refit_themes()
    client = api(marketer)

    everything = client.get("/api/v1/nps/themes/").json()["results"]
    spanish = client.get("/api/v1/nps/themes/", {"language": "es"}).json()["results"]

    assert {t["language"] for t in everything} == {"en", "de", "es"}
    assert {t["language"] for t in spanish} == {"es"}
    assert len(spanish) == Theme.objects.filter(is_current=True, language="es").count() == 5
    assert [t["id"] for t in spanish] == [t["id"] for t in everything if t["language"] == "es"]


def test_a_language_themes_are_not_found_in_is_a_400_naming_the_ones_they_are(marketer):
    response = api(marketer).get("/api/v1/nps/themes/", {"language": "fr"})

    assert response.status_code == 400
    assert response.json()["errors"]["language"] == ["One of: en, de, es."]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"language": "fr"}, "language"),
        ({"survey": "one"}, "survey"),
        ({"survey": "١"}, "survey"),
        ({"sort": "name"}, "sort"),
    ],
)
def test_bad_parameters_are_field_errors(marketer, params, field):
    response = api(marketer).get("/api/v1/nps/themes/", params)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_renamed_theme_is_named_so(marketer, fitted):
    theme = Theme.objects.filter(is_current=True).first()
    theming.rename_theme(theme=theme, name="Our coffee")

    themes = api(marketer).get("/api/v1/nps/themes/").json()["results"]

    named = next(t for t in themes if t["id"] == theme.pk)
    assert named["name"] == "Our coffee" and named["renamed_by_user"] is True


def test_the_themes_are_read_in_a_fixed_number_of_queries(
    marketer, manager, fitted, django_assert_num_queries
):
    client = api(marketer)
    client.get("/api/v1/nps/themes/")  # what is read once per process, read
    with django_assert_num_queries(3) as counted:
        client.get("/api/v1/nps/themes/")
    theming.split_theme(theme=Theme.objects.filter(is_current=True, language="en").first())
    labelled_answers(person(manager, 2), per_topic=10)

    with django_assert_num_queries(len(counted)):
        assert client.get("/api/v1/nps/themes/").status_code == 200


def test_an_account_manager_s_themes_are_read_in_a_fixed_number_of_queries(
    manager, fitted, django_assert_num_queries
):
    client = api(manager)
    client.get("/api/v1/nps/themes/")
    with django_assert_num_queries(4) as counted:
        client.get("/api/v1/nps/themes/")
    # A third language's themes are read in the same queries.
    labelled_answers(person(manager, 2), languages=("en", "de", "es"), per_topic=10)
    theming.refit_themes()
    assert Theme.objects.filter(is_current=True, language="es").exists()

    with django_assert_num_queries(len(counted)):
        assert client.get("/api/v1/nps/themes/").status_code == 200


def test_merging_counts_the_merged_answers_in_at_once(marketer, fitted):
    client = api(marketer)
    before = {t["id"]: t for t in client.get("/api/v1/nps/themes/").json()["results"]}
    first, second = [t for t in before.values() if t["language"] == "en"][:2]

    theming.merge_themes(
        theme=Theme.objects.get(pk=second["id"]), into=Theme.objects.get(pk=first["id"])
    )

    after = {t["id"]: t for t in client.get("/api/v1/nps/themes/").json()["results"]}
    assert second["id"] not in after
    merged = after[first["id"]]
    assert merged["responses"] == first["responses"] + second["responses"]
    assert merged["detractors"] == first["detractors"] + second["detractors"]
