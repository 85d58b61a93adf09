"""A step has a version per language: a touch speaks the customer's language where the step has
it, else the default; the step form edits the versions; the preview picks the language; the
shipped eight-step program speaks German and Spanish."""

import pytest

from customers.models import Channel
from programs import content
from programs.models import Program, Step
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def program() -> Program:
    return Program.objects.create(name="Languages")


@pytest.fixture
def step(program) -> Step:
    return Step.objects.create(
        program=program,
        order=1,
        name="Hello",
        channel_mode="fixed",
        channel="email",
        email_subject="Hello {{ first_name }}",
        email_body="Dear {{ first_name }},",
        sms_body="Hi {{ first_name }}",
        versions={"de": {"email_subject": "Hallo {{ first_name }}", "email_body": "Liebe Ana,"}},
    )


def test_a_touch_speaks_the_customers_language_where_the_step_has_it(step):
    ana = CustomerFactory(first_name="Ana", email="ana@example.com", language="de")

    email = content.message_for(touch=None, customer=ana, channel=Channel.EMAIL, step=step)
    sms = content.message_for(touch=None, customer=ana, channel=Channel.SMS, step=step)

    assert email.subject == "Hallo Ana"
    assert email.text.startswith("Liebe Ana,")
    # The footer speaks German too: why the e-mail came, the preferences and unsubscribe links.
    assert "weil Sie Kunde von" in email.text and "Abmelden:" in email.text
    assert '<html lang="de">' in email.html
    # No German SMS: the default text, with the opt-out line in German.
    assert sms.text.startswith("Hi Ana")
    assert "STOP" in sms.text and "Reply STOP" not in sms.text


def test_a_language_the_step_lacks_is_the_default_content(step):
    pia = CustomerFactory(first_name="Pia", email="pia@example.com", language="es")

    email = content.message_for(touch=None, customer=pia, channel=Channel.EMAIL, step=step)

    assert email.subject == "Hello Pia"


def test_a_chosen_language_wins_over_the_customers(step):
    ana = CustomerFactory(first_name="Ana", email="ana@example.com", language="es")

    email = content.message_for(
        touch=None, customer=ana, channel=Channel.EMAIL, step=step, language="de"
    )

    assert email.subject == "Hallo Ana"


def step_data(**fields) -> dict:
    return {
        "kind": "custom",
        "name": "Hello",
        "anchor": "enrollment",
        "offset_days": "0",
        "channel_mode": "fixed",
        "channel": "email",
        "reward_value": "0",
        "email_subject": "Hello {{ first_name }}",
        "email_body": "Dear {{ first_name }},",
        **fields,
    }


def test_the_step_form_saves_the_versions_and_shows_them_again(signed_in, program):
    response = signed_in.post(
        f"/programs/{program.pk}/steps/new/",
        step_data(version_es_email_subject="Hola {{ first_name }}", version_de_sms_body=" "),
    )

    assert response.status_code == 302
    step = program.steps.get()
    assert step.versions == {"es": {"email_subject": "Hola {{ first_name }}"}}
    page = signed_in.get(f"/programs/{program.pk}/steps/{step.pk}/").content.decode()
    assert "Hola {{ first_name }}" in page


def test_a_broken_version_is_refused_and_nothing_is_saved(signed_in, program):
    response = signed_in.post(
        f"/programs/{program.pk}/steps/new/",
        step_data(version_de_email_body="Liebe {% if first_name %}"),
    )

    assert response.status_code == 400
    assert not program.steps.exists()


def test_the_preview_renders_in_the_chosen_language(signed_in, program):
    CustomerFactory(first_name="Ana", email="ana@example.com", language="")

    response = signed_in.post(
        f"/programs/{program.pk}/steps/preview/",
        step_data(version_de_email_subject="Hallo {{ first_name }}", preview_language="de"),
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "Hallo Ana" in response.content.decode()


def test_the_shipped_eight_steps_speak_german_and_spanish():
    steps = Step.objects.filter(program__is_prototype=True).order_by("order")
    ana = CustomerFactory(first_name="Ana", email="ana@example.com", language="es")

    assert steps.count() == 8
    for step in steps:
        assert set(step.versions) == {"de", "es"}, step.name
        assert content.content_problems(step) == {}, step.name
    welcome = content.message_for(
        touch=None, customer=ana, channel=Channel.EMAIL, step=steps.first()
    )
    assert welcome.subject == "Bienvenido, Ana"
