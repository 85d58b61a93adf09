"""Staff pages in the browser's language: German and Spanish pages, locale formats, catalogs kept.

English stays the default (no Accept-Language): every other test reads English texts.
"""

import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import CustomerFactory

ROOT = Path(settings.BASE_DIR)
LANGS = ("de", "es")
DOMAINS = ("django", "djangojs")


def msgids(po_file: Path) -> set[str]:
    """The msgids (and plural msgids) of a .po file, joined from their continuation lines."""
    ids, current, key = set(), None, None
    for line in po_file.read_text(encoding="utf-8").splitlines() + [""]:
        match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line)
        if match:
            if key in ("msgid", "msgid_plural") and current:
                ids.add(current)
            key, current = match.group(1), match.group(2)
        elif line.startswith('"') and key:
            current += line[1:-1]
        else:
            if key in ("msgid", "msgid_plural") and current:
                ids.add(current)
            key, current = None, None
    return ids


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """A copy of the sources with makemessages run on it as `make messages` does, once per run."""
    copy = tmp_path_factory.mktemp("messages") / "src"
    skip = shutil.ignore_patterns(
        ".venv", "var", "tests", "bench", ".git", "node_modules", "__pycache__", "*.mo", "docs"
    )
    shutil.copytree(ROOT, copy, ignore=skip)
    base = [sys.executable, "manage.py", "makemessages", "--no-obsolete", "--ignore=var"]
    base += [f"--locale={lang}" for lang in LANGS]
    # The project's own settings: the tests' settings module is not in the copy.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bonding.settings"}
    for extra in ([], ["-d", "djangojs", "--ignore=static/vendor"]):
        done = subprocess.run([*base, *extra], cwd=copy, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return copy


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("domain", DOMAINS)
def test_makemessages_finds_nothing_new(regenerated, lang, domain):
    path = Path("locale") / lang / "LC_MESSAGES" / f"{domain}.po"
    fresh, committed = msgids(regenerated / path), msgids(ROOT / path)
    assert fresh - committed == set(), "marked in the sources but not in the .po: make messages"
    assert committed - fresh == set(), "in the .po but no longer in the sources: make messages"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("domain", DOMAINS)
def test_catalogs_are_complete(lang, domain):
    po_file = ROOT / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"
    for flag in ("--untranslated", "--only-fuzzy"):
        out = subprocess.run(
            ["msgattrib", flag, "--no-wrap", str(po_file)], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert "msgid" not in out.stdout, f"{po_file} has {flag[2:]} entries:\n{out.stdout}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "accept, lang, words",
    [
        ("", "en", ["Customers", "Filter customers", "Sign out"]),
        ("de-DE,de;q=0.9,en;q=0.5", "de", ["Kunden", "Kunden filtern", "Abmelden"]),
        ("es-ES,es;q=0.9", "es", ["Clientes", "Filtrar clientes", "Cerrar sesión"]),
    ],
)
def test_customer_list_speaks_the_browser_language(client, manager, accept, lang, words):
    CustomerFactory(owner=manager)
    client.force_login(manager)
    headers = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    response = client.get("/customers/", **headers)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}">' in html
    for word in words:
        assert word in html


@pytest.mark.django_db
def test_plural_forms_follow_the_count(client, manager):
    CustomerFactory(owner=manager)
    client.force_login(manager)
    one = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "cliente" in one and "match these filters" not in one
    CustomerFactory(owner=manager)
    two = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert re.search(r"</strong>\s*clientes", two)
    assert re.search(r"</strong>\s*cliente\b(?!s)", one)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "lang, value",
    [("en", "1234.50"), ("de", "1234,50"), ("es", "1234,50")],
)
def test_numbers_are_formatted_for_the_locale(client, manager, lang, value):
    customer = CustomerFactory(owner=manager, lifetime_value=Decimal("1234.50"))
    client.force_login(manager)
    html = client.get(f"/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert f"<dd>{value}</dd>" in html


@pytest.mark.django_db
def test_dates_are_formatted_for_the_locale(settings):
    from datetime import date

    from django.template import Context, Template
    from django.utils import translation

    template = Template("{{ day|date }} · {{ n|floatformat:1 }}")
    context = Context({"day": date(2026, 3, 5), "n": 2.5})
    with translation.override("de"):
        assert template.render(context) == "5. März 2026 · 2,5"
    with translation.override("es"):
        assert template.render(context) == "5 de marzo de 2026 · 2,5"
    with translation.override("en"):
        assert template.render(context) == "March 5, 2026 · 2.5"


@pytest.mark.django_db
def test_javascript_catalog_answers_signed_out(client):
    response = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    assert "Antworten" in response.content.decode()
