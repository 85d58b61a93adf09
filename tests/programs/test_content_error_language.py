"""Why a step's content cannot be sent reads in the marketer's language (the step form, the
live preview, the test send), whatever the customer's; a touch that fails at send time for its
content stores the reason in English, and the failures page says it again in the reader's."""

import pytest
from django.utils import translation

from bonding.staff_language import set_language
from customers.models import Customer
from customers.sayings import translated
from programs import sandbox
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.models import Program, Step, Touch
from tests.programs.test_content_sandbox import tampered_touch
from tests.programs.test_pages import make_letter_batch
from tests.programs.test_step_content import step_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def program() -> Program:
    return Program.objects.create(name="Content")


@pytest.fixture
def customer(marketer) -> Customer:
    # Spanish-speaking: the preview renders in Spanish, its errors must not.
    return Customer.objects.create(
        first_name="Ana",
        email="ana@example.com",
        phone="+14155550100",
        consent_email=True,
        consent_sms=True,
        language="es",
        owner=marketer,
    )


def speaking(client, user, language: str):
    set_language(user=user, language=language)
    client.force_login(user)
    return client


def page_of(response) -> str:
    return response.content.decode().replace("&quot;", '"').replace("&#x27;", "'")


@pytest.mark.parametrize(
    ("fields", "german"),
    [
        (
            {"email_body": "Hi,\n{{ nickname }}"},
            "Zeile 2: unbekannter Name „nickname“.",
        ),
        (
            {"email_body": "Hi {{ customer }}"},
            "Zeile 1: unbekannter Name „customer“ (schreiben Sie first_name, last_name oder "
            "full_name).",
        ),
        (
            {"channel": "sms", "sms_body": "{% if 0 %}Hi{% endif %}"},
            "Schreiben Sie den SMS-Text: Dieser Schritt kann per SMS verschickt werden, und das "
            "Feld ist nach dem Ausfüllen leer.",
        ),
        (
            {"email_body": "x" * (sandbox.MAX_SOURCE + 1)},
            "Der Inhalt ist auf 20.000 Zeichen begrenzt.",
        ),
        (
            {"email_subject": "Hi {{ first_name|default:'you' }}"},
            "Zeile 1: expected token 'end of print statement', got ':' (Filter nehmen ihr "
            'Argument in Klammern: default("x"), join(", "))',
        ),
        (
            {"email_body": "{{ first_name|upper(1) }}"},
            "Zeile 1: „upper“ nimmt höchstens 0 Argumente.",
        ),
    ],
)
def test_a_german_marketer_reads_why_the_step_cannot_be_saved_in_german(
    client, marketer, program, fields, german
):
    response = speaking(client, marketer, "de").post(
        f"/programs/{program.pk}/steps/new/", step_data(**fields)
    )

    assert response.status_code == 400
    assert german in page_of(response)
    assert not program.steps.exists()


def test_a_spanish_marketer_reads_which_step_gives_a_name_in_spanish(client, marketer, program):
    response = speaking(client, marketer, "es").post(
        f"/programs/{program.pk}/steps/new/",
        step_data(email_body="{{ survey_url }} {{ event_name }}"),
    )

    page = page_of(response)
    assert response.status_code == 400
    assert "{{ survey_url }} solo está disponible en un paso «Encuesta de satisfacción»." in page
    assert (
        "{{ event_name }} solo está disponible en los pasos de un evento (invitación, "
        "recordatorio, plaza liberada, cancelación)." in page
    )


def test_an_english_marketer_reads_the_english_as_before(client, marketer, program):
    response = speaking(client, marketer, "en").post(
        f"/programs/{program.pk}/steps/new/", step_data(email_body="{{ referral_code }}")
    )

    assert "{{ referral_code }} is only available in a “Refer a friend” step." in page_of(response)


def test_the_preview_says_why_in_the_marketers_language_not_the_customers(
    client, marketer, program, customer, django_assert_num_queries
):
    german = speaking(client, marketer, "de")
    data = step_data(
        channel_mode="preferred",
        email_body="Hola {{ first_name }}",
        sms_body="{{ first_name['x'] }}",
        preview_customer=str(customer.pk),
    )

    # Session, user, groups, program, customer, the categories, the owner, and what the customer
    # bought once per channel (four): saying why in German reads nothing more.
    with django_assert_num_queries(11):
        response = german.post(
            f"/programs/{program.pk}/steps/preview/", data, headers={"HX-Request": "true"}
        )

    page = page_of(response)
    assert response.status_code == 200
    assert "Zeile 1: Elemente lassen sich nicht lesen." in page
    assert "Hola Ana" in page  # the content itself, in the customer's own words
    assert "los elementos" not in page


def test_the_test_send_says_why_in_the_marketers_language(
    client, marketer, program, customer, mailoutbox
):
    marketer.email = "maria@example.com"
    marketer.save()
    data = step_data(email_body="{% for c in tier %}{{ c }}{% endfor %}")
    data["preview_customer"] = str(customer.pk)

    response = speaking(client, marketer, "de").post(
        f"/programs/{program.pk}/steps/test-send/", data, headers={"HX-Request": "true"}
    )

    assert (
        "Die E-Mail lässt sich nicht darstellen: Zeile 1: eine Schleife läuft über eine Liste: "
        "categories_not_bought." in page_of(response)
    )
    assert mailoutbox == []


def test_a_touch_failing_for_its_content_stores_english_and_reads_german(
    client, marketer, customer, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    tampered_touch(customer, "Hi,\n{{ first_name.upper }}")

    (batch,) = dispatch_due(batch_size=10)
    deliver(touch_ids=batch)

    touch = Touch.objects.get()
    assert touch.status == Touch.Status.FAILED
    # Rendered in the customer's Spanish, stored in English.
    assert touch.last_error == (
        "Line 2: attributes cannot be read (write the name alone, e.g. {{ first_name }})."
    )
    german = speaking(client, marketer, "de")
    page = page_of(german.get("/programs/failures/"))
    assert (
        "Zeile 2: Attribute lassen sich nicht lesen (schreiben Sie den Namen allein, "
        "z. B. {{ first_name }})." in page
    )
    assert "attributes cannot be read" not in page
    (row,) = german.get(f"/api/v1/touches/?customer={customer.pk}").json()["results"]
    assert row["last_error"].startswith("Zeile 2: Attribute lassen sich nicht lesen")


def test_a_letter_that_does_not_render_says_why_in_the_readers_language(
    client, marketer, django_assert_num_queries
):
    batch = make_letter_batch(2)
    Step.objects.filter(touches__letter_batches=batch).update(letter_body="Hi {{ 1 + 1 }}")
    german = speaking(client, marketer, "de")
    url = f"/programs/letters/{batch.pk}/"
    german.get(url)  # the letters' links are made on the first print

    # As many as for letters that render (test_pages.py): the reason reads nothing.
    with django_assert_num_queries(9):
        page = page_of(german.get(url))

    assert page.count("Zeile 1: Rechnen ist nicht möglich.") == 2
    assert "arithmetic" not in page


@pytest.mark.parametrize(
    ("stored", "german", "spanish"),
    [
        (
            "Line 3: unknown name “nickname”.",
            "Zeile 3: unbekannter Name „nickname“.",
            "Línea 3: nombre desconocido «nickname».",
        ),
        (
            "Line 1: “default” takes at most 1 argument.",
            "Zeile 1: „default“ nimmt höchstens 1 Argument.",
            "Línea 1: «default» lleva como máximo 1 argumento.",
        ),
        (
            "{{ premium }} is only available in a “Satisfaction survey” step.",
            "{{ premium }} gibt es nur in einem Schritt „Zufriedenheitsumfrage“.",
            "{{ premium }} solo está disponible en un paso «Encuesta de satisfacción».",
        ),
        (
            "These names are not available in this kind of step: {{ premium }}, {{ tier2 }}.",
            "Diese Namen gibt es in dieser Art von Schritt nicht: {{ premium }}, {{ tier2 }}.",
            "Estos nombres no están disponibles en este tipo de paso: {{ premium }}, {{ tier2 }}.",
        ),
        (
            "Nothing to say in this step (Event invitation).",
            "Nichts zu sagen in diesem Schritt (Veranstaltungseinladung).",
            "Nada que decir en este paso (Invitación a evento).",
        ),
        (
            "The SMS body renders empty.",
            "Der SMS-Text ist nach dem Ausfüllen leer.",
            "El texto del SMS queda vacío al completarse.",
        ),
        (
            "The content does not render: 'str object' has no attribute 'x'",
            "Der Inhalt lässt sich nicht darstellen: 'str object' has no attribute 'x'",
            "El contenido no se puede mostrar: 'str object' has no attribute 'x'",
        ),
        # Jinja2's own words after the line are the library's: kept as they came.
        (
            "Line 1: Unexpected end of template.",
            "Zeile 1: Unexpected end of template.",
            "Línea 1: Unexpected end of template.",
        ),
    ],
)
def test_a_stored_content_error_is_said_again_in_the_readers_language(stored, german, spanish):
    with translation.override("de"):
        assert translated(stored) == german
    with translation.override("es"):
        assert translated(stored) == spanish
    with translation.override("en"):
        assert translated(stored) == stored


def test_a_refusal_is_english_whatever_language_renders_it():
    with translation.override("de"), pytest.raises(sandbox.ContentError) as refused:
        sandbox.render("{{ 1 + 1 }}", {}, autoescape=False)

    assert str(refused.value) == "Line 1: arithmetic is not available."
    with translation.override("es"):
        assert refused.value.said() == ["Línea 1: la aritmética no está disponible."]


def test_names_the_kind_cannot_give_are_said_one_each_and_stored_as_one_sentence():
    with pytest.raises(sandbox.ContentError) as refused:
        sandbox.render(
            "{{ survey_url }} {{ referral_code }}",
            sandbox.sample_context("custom"),
            autoescape=False,
        )

    # Stored as one sentence, so a touch's error reads back whole, not half translated.
    stored = str(refused.value)
    assert stored == (
        "These names are not available in this kind of step: {{ referral_code }}, {{ survey_url }}."
    )
    with translation.override("de"):
        assert refused.value.said() == [
            "{{ referral_code }} gibt es nur in einem Schritt „Freunde werben“.",
            "{{ survey_url }} gibt es nur in einem Schritt „Zufriedenheitsumfrage“.",
        ]
        assert translated(stored) == (
            "Diese Namen gibt es in dieser Art von Schritt nicht: {{ referral_code }}, "
            "{{ survey_url }}."
        )


def test_the_step_editor_explains_each_name_in_the_marketers_language(client, marketer, program):
    page = page_of(speaking(client, marketer, "de").get(f"/programs/{program.pk}/steps/new/"))

    assert "Der Vorname des Kunden" in page
    assert (
        "Der Code des Kunden zum Weitergeben an Freunde (nur in einem Schritt „Freunde werben“)"
        in page
    )
    assert "the customer's first name" not in page.lower()
