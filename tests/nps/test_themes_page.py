"""The themes section of /surveys/, the verbatims filtered by theme, and the marketers' theme
changes: /surveys/themes/refit/, /surveys/themes/<id>/rename/, .../merge/ and .../split/."""

import re

import pytest

from nps import theming
from nps.models import Theme, ThemeMention
from tests.factories import labelled_answers, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def fitted(manager):
    answers = labelled_answers(person(manager))
    theming.refit_themes()
    return answers


def theme_of(answers, topic: str) -> Theme:
    pks = [r.pk for r in answers if r.topic == topic and "ä" not in r.why + r.improve]
    mention = ThemeMention.objects.filter(response_id__in=pks, theme__language="en").first()
    return mention.theme


def test_the_page_shows_themes_by_frequency_with_their_nps_shares_trend_and_quotes(
    client, marketer, fitted
):
    client.force_login(marketer)

    html = client.get("/surveys/").content.decode()

    assert "Themes in what customers say" in html
    section = html[html.index('id="themes-h"') : html.index('id="verbatims-h"')]
    rows = re.findall(r'<tr id="theme-(\d+)">', section)
    assert len(rows) == 10
    counts = [ThemeMention.objects.filter(theme_id=pk).count() for pk in map(int, rows)]
    assert counts == sorted(counts, reverse=True)
    staff = theme_of(fitted, "staff")
    assert staff.name in section
    assert "too small to trust" in section
    assert section.count("<blockquote") == 20
    assert "this month" in section and "Refit themes now" in section
    assert f'href="?theme={staff.pk}#verbatims-h"' in section


def test_the_nps_of_a_theme_is_that_of_the_customers_who_mention_it(client, marketer, fitted):
    client.force_login(marketer)
    delivery = theme_of(fitted, "delivery")
    scores = list(
        ThemeMention.objects.filter(theme=delivery).values_list("response__score", flat=True)
    )
    from nps import score

    expected = score.from_scores(scores)

    html = client.get("/surveys/").content.decode()

    row = html[html.index(f'<tr id="theme-{delivery.pk}">') :]
    row = row[: row.index("</tr>")]
    assert f"{expected.nps:.0f} <span" in row
    assert f"± {expected.margin_of_error:.0f}" in row


def test_the_verbatims_filter_by_theme(client, marketer, fitted):
    client.force_login(marketer)
    app = theme_of(fitted, "app")
    said = {
        r.why or r.improve
        for r in fitted
        if r.pk in set(app.mentions.values_list("response_id", flat=True))
    }

    html = client.get(f"/surveys/?theme={app.pk}", HTTP_HX_REQUEST="true").content.decode()

    quoted = re.findall(r"</span> ([^<]+)</blockquote>", html)
    assert quoted and set(quoted) <= {s.replace("'", "&#x27;") for s in said}


def test_the_page_with_themes_runs_a_fixed_number_of_queries(
    client, marketer, manager, fitted, django_assert_num_queries
):
    client.force_login(marketer)
    client.get("/surveys/")  # the session and caches warmed
    with django_assert_num_queries(16) as counted:
        client.get("/surveys/")
    theming.split_theme(theme=theme_of(fitted, "price"))
    # More answers, and a third language's themes: the same queries read them.
    labelled_answers(person(manager, 2), languages=("en", "de", "es"), per_topic=10)
    theming.refit_themes()
    assert Theme.objects.filter(is_current=True, language="es").exists()

    with django_assert_num_queries(len(counted)):
        response = client.get("/surveys/")

    assert response.status_code == 200


def test_a_marketer_renames_a_theme(client, marketer, fitted):
    client.force_login(marketer)
    theme = theme_of(fitted, "delivery")

    response = client.post(f"/surveys/themes/{theme.pk}/rename/", {"name": "Late parcels"})

    assert response.status_code == 302
    assert response["Location"] == "/surveys/#themes-h"
    theme.refresh_from_db()
    assert theme.name == "Late parcels" and theme.renamed_by_user


def test_a_blank_name_is_a_400_and_changes_nothing(client, marketer, fitted):
    client.force_login(marketer)
    theme = theme_of(fitted, "delivery")

    response = client.post(f"/surveys/themes/{theme.pk}/rename/", {"name": "   "})

    assert response.status_code == 400
    assert "Theme not changed" in response.content.decode()
    assert Theme.objects.get(pk=theme.pk).name == theme.name


def test_a_marketer_merges_two_themes(client, marketer, fitted):
    client.force_login(marketer)
    price, delivery = theme_of(fitted, "price"), theme_of(fitted, "delivery")

    response = client.post(f"/surveys/themes/{price.pk}/merge/", {"into": delivery.pk})

    assert response.status_code == 302
    price.refresh_from_db()
    assert price.merged_into_id == delivery.pk
    assert not ThemeMention.objects.filter(theme=price).exists()


@pytest.mark.parametrize("into", ["", "nope", "999999", "german"])
def test_merging_into_nothing_or_another_language_is_a_400(client, marketer, fitted, into):
    client.force_login(marketer)
    price = theme_of(fitted, "price")
    if into == "german":
        into = str(Theme.objects.filter(language="de").first().pk)

    response = client.post(f"/surveys/themes/{price.pk}/merge/", {"into": into})

    assert response.status_code == 400
    assert not Theme.objects.filter(merged_into__isnull=False).exists()


def test_a_marketer_splits_a_theme(client, marketer, fitted):
    client.force_login(marketer)
    price = theme_of(fitted, "price")

    response = client.post(f"/surveys/themes/{price.pk}/split/")

    assert response.status_code == 302
    assert Theme.objects.filter(split_from=price, is_current=True).count() == 2


def test_a_theme_no_longer_current_is_a_404(client, marketer, fitted):
    client.force_login(marketer)
    price = theme_of(fitted, "price")
    theming.split_theme(theme=price)

    assert client.post(f"/surveys/themes/{price.pk}/split/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_refit_now_fits_the_themes_after_the_request(client, marketer, manager, eager_tasks):
    labelled_answers(person(manager))
    client.force_login(marketer)

    response = client.post("/surveys/themes/refit/")

    assert response.status_code == 302
    assert Theme.objects.filter(is_current=True).count() == 10


@pytest.fixture
def eager_tasks():
    """Celery tasks run in the test process when queued (after the transaction commits)."""
    from bonding.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_a_themes_language_is_named_in_the_readers_language(client, marketer, fitted):
    client.force_login(marketer)

    english = client.get("/surveys/").content.decode()
    german = client.get("/surveys/", HTTP_ACCEPT_LANGUAGE="de").content.decode()

    section = english[english.index('id="themes-h"') : english.index('id="verbatims-h"')]
    assert '<span class="badge">English</span>' in section
    assert '<span class="badge">German</span>' in section
    assert '<span class="badge">Deutsch</span>' in german
    assert '<span class="badge">Englisch</span>' in german
    # The verbatims filter names the language the same way, and its choices are translated.
    assert "(German)</option>" in english
    assert "Jedes Thema" in german


def test_spanish_themes_are_named_spanish_in_the_readers_language(client, marketer, manager):
    labelled_answers(person(manager, 1, language="es"), languages=("es",))
    theming.refit_themes()
    client.force_login(marketer)

    pages = {
        language: client.get("/surveys/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        for language in ("en", "de", "es")
    }

    for language, name in {"en": "Spanish", "de": "Spanisch", "es": "Español"}.items():
        page = pages[language]
        section = page[page.index('id="themes-h"') : page.index('id="verbatims-h"')]
        assert section.count(f'<span class="badge">{name}</span>') == 5
        assert page.count(f"({name})</option>") == 5
    assert "Todos los temas" in pages["es"]
