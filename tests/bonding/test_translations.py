"""Translations: the .po files are complete, and the public pages speak the customer's language,
else the organization's."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from customers.preferences import preference_token
from events.links import new_token
from events.models import Event
from events.models import Invitation as EventInvitation
from nps import services as nps_services
from nps.models import Survey
from programs.unsubscribe import unsubscribe_token
from tests.factories import CustomerFactory, ReferralFactory

LOCALE = Path(settings.BASE_DIR) / "locale"
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: flags, msgid and every msgstr (joined across lines)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": "", "msgid": None, "msgstr": []}
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line
            elif line.startswith(("msgid ", "msgid_plural ", "msgstr")):
                key, _space, quoted = line.partition(" ")
                current = key
                if key == "msgid":
                    entry["msgid"] = quoted[1:-1]
                elif key.startswith("msgstr"):
                    entry["msgstr"].append(quoted[1:-1])
            elif line.startswith('"') and current:
                if current == "msgid":
                    entry["msgid"] += line[1:-1]
                elif current.startswith("msgstr"):
                    entry["msgstr"][-1] += line[1:-1]
        if entry["msgid"] is not None:
            entries.append(entry)
    return entries


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    entries = [e for e in po_entries(path) if e["msgid"]]  # the header has an empty msgid

    assert len(entries) > 100
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"])]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_the_reader_sees_untranslated_and_fuzzy_entries(tmp_path):
    path = tmp_path / "django.po"
    path.write_text(
        'msgid ""\nmsgstr "Language: de\\n"\n\n'
        'msgid "Send"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Sent"\nmsgstr "Gesendet"\n\n'
        'msgid "One"\nmsgid_plural "Many"\nmsgstr[0] "Eins"\nmsgstr[1] ""\n',
        encoding="utf-8",
    )
    entries = {e["msgid"]: e for e in po_entries(path)}

    assert entries["Send"]["msgstr"] == [""]
    assert "fuzzy" in entries["Sent"]["flags"]
    assert entries["One"]["msgstr"] == ["Eins", ""]


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def browser() -> Client:
    # A browser that asks for English: the customer's language must win over it.
    return Client(headers={"accept-language": "en"})


WORDS = {
    # language -> words each public page shows in it
    "survey": {"de": "Antworten senden", "es": "Enviar mis respuestas", "en": "Send my answers"},
    "unsubscribe": {"de": "Abmelden", "es": "Darse de baja", "en": "Unsubscribe"},
    "preferences": {"de": "Wie oft", "es": "Con qué frecuencia", "en": "How often"},
    "referral": {"de": "Vorname", "es": "Nombre", "en": "First name"},
    "event": {"de": "Kommen Sie?", "es": "¿Vendrá?", "en": "Will you come?"},
}


def page_url(page: str, customer) -> str:
    if page == "survey":
        invitation = nps_services.invite(survey=Survey.objects.get(), customers=[customer])
        return f"/s/{invitation.invited[0].token}/"
    if page == "unsubscribe":
        return f"/u/{unsubscribe_token(customer=customer, channel='email')}/"
    if page == "preferences":
        return f"/p/{preference_token(customer=customer)}/"
    if page == "referral":
        return f"/r/{ReferralFactory(referrer=customer, code='ABC123DEF0').code}/"
    starts = timezone.now() + timedelta(days=10)
    event = Event.objects.create(
        name="Owners' evening",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        place="The Old Mill",
        status=Event.Status.OPEN,
    )
    invitation = EventInvitation.objects.create(event=event, customer=customer, token=new_token())
    return f"/e/{invitation.token}/"


@pytest.mark.django_db
@pytest.mark.parametrize("page", sorted(WORDS))
@pytest.mark.parametrize("language", TRANSLATED)
def test_a_public_page_speaks_the_customers_language(browser, page, language):
    customer = CustomerFactory(first_name="Ana", email="ana@example.com", language=language)

    response = browser.get(page_url(page, customer))

    assert response.status_code == 200
    text = response.content.decode()
    assert WORDS[page][language] in text
    assert f'<html lang="{language}">' in text
    # The header names the page's language, not the browser's (which asked for English).
    assert response["Content-Language"] == language


@pytest.mark.django_db
def test_an_english_customers_page_says_english_to_a_german_browser():
    customer = CustomerFactory(first_name="Ana", email="ana@example.com", language="en")

    response = Client(headers={"accept-language": "de"}).get(page_url("survey", customer))

    assert WORDS["survey"]["en"] in response.content.decode()
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
@pytest.mark.parametrize("page", sorted(WORDS))
def test_without_a_language_the_page_speaks_the_organizations(browser, page, settings):
    settings.LANGUAGE_CODE = "de"
    customer = CustomerFactory(first_name="Ana", email="ana@example.com", language="")

    text = browser.get(page_url(page, customer)).content.decode()

    assert WORDS[page]["de"] in text


@pytest.mark.django_db
def test_a_survey_error_speaks_the_customers_language(browser):
    customer = CustomerFactory(first_name="Ana", email="ana@example.com", language="es")
    url = page_url("survey", customer)

    response = browser.post(url, {"score": "11"})

    assert response.status_code == 400
    assert "Elija una puntuación de 0 a 10." in response.content.decode()


@pytest.mark.django_db
def test_a_sms_stop_is_answered_in_the_customers_language(browser, settings):
    settings.SMS_INBOUND_TOKEN = "s3cret-inbound"
    CustomerFactory(phone="+14155552671", consent_sms=True, language="de")

    response = browser.post(
        "/sms/inbound/",
        {"From": "+14155552671", "Body": "STOP"},
        headers={"X-Bonding-Token": "s3cret-inbound"},
    )

    assert response.content.decode() == "Sie erhalten keine SMS mehr von uns."
    assert response["Content-Language"] == "de"


@pytest.mark.django_db
def test_choosing_a_language_on_the_preference_page_keeps_it_and_speaks_it(browser):
    customer = CustomerFactory(first_name="Ana", email="ana@example.com", consent_email=True)
    url = page_url("preferences", customer)

    response = browser.post(
        url,
        {
            "consent_email": "on",
            "preferred_channel": "email",
            "frequency": "usual",
            "language": "es",
        },
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.language == "es"
    assert "Gracias: sus preferencias están guardadas" in response.content.decode()
    assert response["Content-Language"] == "es"


@pytest.mark.django_db
def test_a_language_we_do_not_speak_is_refused_on_the_preference_page(browser):
    customer = CustomerFactory(first_name="Ana", email="ana@example.com", language="de")

    response = browser.post(
        page_url("preferences", customer),
        {"preferred_channel": "email", "frequency": "usual", "language": "fr"},
    )

    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.language == "de"
    assert "Wählen Sie eine der angebotenen Sprachen." in response.content.decode()


@pytest.mark.django_db
def test_the_survey_invitation_email_and_questions_speak_the_customers_language(
    browser, mailoutbox
):
    from nps.mail import send_invitation_email

    customer = CustomerFactory(first_name="Ana", email="ana@example.com", language="es")
    invitation = nps_services.invite(survey=Survey.objects.get(), customers=[customer]).invited[0]

    send_invitation_email(invitation, unsubscribe_url="https://example.com/u/x/")
    page = browser.get(f"/s/{invitation.token}/").content.decode()

    message = mailoutbox[0]
    assert message.subject.startswith("Ana, ¿qué probabilidad hay de que recomiende")
    assert "¿Qué probabilidad hay de que nos recomiende" in message.body
    assert "¿Por qué ha dado esa puntuación?" in page
