# ruff: noqa: E501  (the shipped content below is quoted as it was, one line per text)
"""Marketers' step content runs in a sandbox: only documented plain values, a short list of
tags and filters, bounded work; hostile content is refused in the preview, on save and at send
time, and never shows a password hash, the settings or Python's internals."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.template import Context, Engine
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as settings_for_hypothesis
from hypothesis import strategies as st

from customers.models import Channel, Customer, Purchase, Tier
from nps.models import Survey
from programs import content, sandbox
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.models import Enrollment, Program, Step, Touch
from tests.programs.test_step_content import step_data

pytestmark = pytest.mark.django_db

CONVERSION = importlib.import_module("programs.migrations.0008_content_in_sandbox")

HOSTILE = [
    ("{{ customer.owner.password }}", "attributes cannot be read"),
    ("{{ customer.__class__ }}", "attributes cannot be read"),
    ("{% debug %}", "unknown tag 'debug'"),
    ("{{ settings.SECRET_KEY }}", "attributes cannot be read"),
    ("{{ settings }}", "unknown name “settings”"),
    ("{{ customer }}", "unknown name “customer”"),
    ("{{ first_name.__class__.__mro__ }}", "attributes cannot be read"),
    ("{{ ''.__class__ }}", "attributes cannot be read"),
    ("{{ cycler.__init__.__globals__ }}", "attributes cannot be read"),
    ("{{ first_name['__class__'] }}", "items cannot be read"),
    ("{{ first_name|attr('__class__') }}", "unknown filter “attr”"),
    ("{{ first_name.upper() }}", "nothing can be called"),
    ("{% set owner = first_name %}", "“set” is not available"),
    ("{% macro leak() %}{% endmacro %}", "“macro” is not available"),
    ('{% include "base.html" %}', "“include” is not available"),
    ('{% extends "base.html" %}', "“extends” is not available"),
    ('{% import "base.html" as b %}', "“import” is not available"),
    ("{% for i in range(1000000) %}x{% endfor %}", "a loop goes over a list"),
    ("{{ first_name * 1000000 }}", "arithmetic is not available"),
    ("{% autoescape false %}{{ first_name }}{% endautoescape %}", "“autoescape” is not available"),
    ("{{ first_name is defined }}", "tests (“is …”) are not available"),
    (
        "{% for a in categories_not_bought %}{% for b in categories_not_bought %}"
        "{% for c in categories_not_bought %}x{% endfor %}{% endfor %}{% endfor %}",
        "a loop cannot be put inside another loop",
    ),
]


@pytest.fixture
def owner(marketer):
    marketer.first_name, marketer.last_name = "Maria", "Rossi"
    marketer.email = "maria@example.com"
    marketer.set_password("owner-secret")
    marketer.save()
    return marketer


@pytest.fixture
def customer(owner) -> Customer:
    return Customer.objects.create(
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        phone="+14155550100",
        consent_email=True,
        consent_sms=True,
        owner=owner,
        postal_address="1 High Street",
        tier=Tier.objects.order_by("rank").last(),
    )


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def program() -> Program:
    return Program.objects.create(name="Sandbox")


@pytest.mark.parametrize(("text", "reason"), HOSTILE)
def test_hostile_content_is_refused_with_the_line_and_the_reason(customer, text, reason):
    step = Step(program=Program(name="x"), name="x", kind=Step.Kind.CUSTOM)
    context = content.context_for(step=step, customer=customer, touch=None, channel=Channel.EMAIL)

    with pytest.raises(content.ContentError) as refused:
        content.render("Hi,\n" + text, context, autoescape=True)

    assert reason in str(refused.value)


def test_a_refusal_names_the_line():
    with pytest.raises(content.ContentError, match=r"^Line 3: attributes cannot be read"):
        content.render("Hi,\n\n{{ customer.owner.password }}", {}, autoescape=False)


def test_a_number_too_long_to_read_is_refused_not_crashed():
    with pytest.raises(content.ContentError, match="cannot be read"):
        content.render("{{ 1" + "0" * 5000 + " }}", {}, autoescape=False)


def test_deeply_nested_content_is_refused_not_crashed():
    with pytest.raises(content.ContentError, match="nested too deeply"):
        content.render("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", {}, autoescape=False)


def test_the_values_given_to_content_are_plain_strings_and_lists(customer):
    step = Step(program=Program(name="x"), name="x", kind=Step.Kind.SATISFACTION_SURVEY)

    context = content.context_for(step=step, customer=customer, touch=None, channel=Channel.EMAIL)

    assert set(context) == {
        v.name for v in sandbox.VARIABLES if not v.kinds or Step.Kind.SATISFACTION_SURVEY in v.kinds
    }
    for value in context.values():
        assert type(value) is str or (type(value) is list and all(type(v) is str for v in value))
    assert (context["full_name"], context["owner_name"], context["owner_email"]) == (
        "Ann Lee",
        "Maria Rossi",
        "maria@example.com",
    )


def test_rendered_output_is_bounded():
    context = {"categories_not_bought": [f"category {n}" for n in range(100_000)]}

    with pytest.raises(content.ContentError, match="longer than 50,000 characters"):
        sandbox.render(
            "{% for c in categories_not_bought %}{{ c }}{% endfor %}", context, autoescape=False
        )


def test_the_html_part_is_escaped_and_the_text_part_is_not(customer):
    customer.first_name = "<b>Ann</b>"
    step = Step(
        program=Program(name="x"), name="x", email_subject="Hi", email_body="Dear {{ first_name }}"
    )

    message = content.message_for(touch=None, customer=customer, channel=Channel.EMAIL, step=step)

    assert "Dear &lt;b&gt;Ann&lt;/b&gt;" in message.html
    assert message.text.startswith("Dear <b>Ann</b>")


@pytest.mark.parametrize(("text", "reason"), HOSTILE[:10])
def test_the_preview_shows_why_hostile_content_is_refused_and_leaks_nothing(
    signed_in, program, customer, owner, text, reason
):
    data = step_data(email_body=text, preview_customer=str(customer.pk))

    response = signed_in.post(
        f"/programs/{program.pk}/steps/preview/", data, headers={"HX-Request": "true"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "This template does not render" in page
    assert owner.password not in page
    assert settings.SECRET_KEY not in page
    assert "&lt;class" not in page and "__globals__" not in page.replace(text, "")


@pytest.mark.parametrize(("text", "reason"), HOSTILE)
def test_hostile_content_cannot_be_saved(signed_in, program, text, reason):
    response = signed_in.post(f"/programs/{program.pk}/steps/new/", step_data(email_body=text))

    assert response.status_code == 400
    assert reason in response.content.decode().replace("&#x27;", "'")
    assert not program.steps.exists()


def test_programs_api_is_read_only_so_steps_are_written_through_the_editor_alone(signed_in):
    response = signed_in.post("/api/v1/programs/", {"name": "x"}, content_type="application/json")

    assert response.status_code == 405


def tampered_touch(customer, email_body: str) -> Touch:
    """A touch due now of an e-mail step whose body was written behind the editor's back,
    straight into the table (so never checked on save)."""
    program = Program.objects.create(name="Tampered")
    step = Step.objects.create(
        program=program,
        order=1,
        name="Hello",
        channel_mode=Step.ChannelMode.FIXED,
        channel=Channel.EMAIL,
        email_subject="Hello",
        email_body="Dear {{ first_name }}",
    )
    Step.objects.filter(pk=step.pk).update(email_body=email_body)
    enrollment = Enrollment.objects.create(program=program, customer=customer)
    return Touch.objects.create(
        enrollment=enrollment,
        step=step,
        customer=customer,
        channel=Channel.EMAIL,
        due_at=timezone.now() - timedelta(seconds=1),
    )


def test_a_touch_whose_stored_content_is_hostile_fails_with_the_reason(customer, owner, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    touch = tampered_touch(customer, "Hash: {{ customer.owner.password }}")

    (batch,) = dispatch_due(batch_size=10)
    deliver(touch_ids=batch)

    touch.refresh_from_db()
    assert touch.status == Touch.Status.FAILED
    assert "Line 1: attributes cannot be read" in touch.last_error
    assert mail.outbox == []


# The eight-step program as it shipped in Django's template language, before the sandbox.
SHIPPED_IN_DJANGO_SYNTAX = {
    "welcome_kit": (
        "Welcome, {{ customer.first_name|default:'and thank you' }}",
        "Dear {{ customer.first_name|default:'customer' }},\n\nthank you for choosing us. Your welcome kit is on its way: everything you need to get the most from your first weeks.\n\nIf anything is unclear, {{ owner_name }} is your contact and happy to help.\n",
        "Welcome {{ customer.first_name }}! Your welcome kit is on its way. {{ owner_name }} is your contact.",
    ),
    "satisfaction_survey": (
        "How are we doing, {{ customer.first_name|default:'dear customer' }}?",
        "Dear {{ customer.first_name|default:'customer' }},\n\ntwo weeks in: how likely are you to recommend us to a friend or colleague? Three short questions, one minute.\n\n{{ survey_url }}\n{% if premium %}\nAs a thank-you for answering: {{ premium }}.\n{% endif %}",
        "How likely are you to recommend us? Tell us in one minute: {{ survey_url }}",
    ),
    "check_in": (
        "Checking in",
        "Dear {{ customer.first_name|default:'customer' }},\n\njust checking in: is everything working as you hoped? Reply to this e-mail and {{ owner_name }} will get back to you.\n",
        "Hi {{ customer.first_name }}, all good with us? Reply and {{ owner_name }} will call you back.",
    ),
    "cross_sell": (
        "Something more for you",
        "Dear {{ customer.first_name|default:'customer' }},\n\ncustomers like you also enjoy {{ categories_not_bought|join:', '|default:'our other ranges' }}. Ask {{ owner_name }} for a recommendation.\n",
        "{{ customer.first_name }}, have you seen our {{ categories_not_bought|join:', '|default:'other ranges' }}?",
    ),
    "gift": (
        "A gift for you",
        "Dear {{ customer.first_name|default:'customer' }},\n\nthank you for being with us: a small gift is on its way to you.\n",
        "{{ customer.first_name }}, a small gift is on its way to you. Thank you!",
    ),
    "refer_friend": (
        "Know someone who would like us?",
        "Dear {{ customer.first_name|default:'customer' }},\n\nif you know someone who would like what we do, give them your code {{ referral_code }}: you will both be thanked.\n",
        "Know someone who would like us? Give them your code {{ referral_code }}.",
    ),
    "renewal": (
        "Your contract renews soon",
        "Dear {{ customer.first_name|default:'customer' }},\n\nyour contract ends in a month. {{ owner_name }} will be glad to talk about what comes next.\n",
        "{{ customer.first_name }}, your contract ends in a month. {{ owner_name }} will be in touch.",
    ),
    "anniversary": (
        "Happy anniversary!",
        "Dear {{ customer.first_name|default:'customer' }},\n\nanother year together: thank you.\n",
        "Another year together, {{ customer.first_name }}: thank you!",
    ),
}


def old_fields(step: Step) -> dict[str, str]:
    subject, body, sms = SHIPPED_IN_DJANGO_SYNTAX[step.kind]
    return {
        "email_subject": subject,
        "email_body": body,
        "sms_body": sms,
        "letter_body": body,
        "call_script": f"Call about: {step.name.lower()}.\n\n{body}",
    }


def test_the_shipped_program_is_stored_in_the_sandboxs_syntax_as_converted():
    steps = list(Program.objects.get(is_prototype=True).steps.order_by("order"))

    assert [step.kind for step in steps] == list(SHIPPED_IN_DJANGO_SYNTAX)
    for step in steps:
        for field, old in old_fields(step).items():
            assert CONVERSION.convert(old) == getattr(step, field), (step.kind, field)


@pytest.mark.parametrize("first_name", ["Ann", ""])
def test_every_shipped_step_renders_as_it_did_in_djangos_syntax(customer, first_name):
    Survey.objects.create(name="Satisfaction", is_active=True)
    customer.first_name = first_name
    other = Customer.objects.create(first_name="Bo", email="bo@example.com")
    for category in ("garden", "kitchen & bath"):
        Purchase.objects.create(customer=other, product_category=category, amount=10)
        if not first_name:  # bought every category: the lists are empty, the defaults show
            Purchase.objects.create(customer=customer, product_category=category, amount=10)
    cache.delete("programs:categories")
    django_engine = Engine(
        builtins=["django.template.defaulttags", "django.template.defaultfilters"]
    )
    for step in Program.objects.get(is_prototype=True).steps.order_by("order"):
        values = content.context_for(
            step=step, customer=customer, touch=None, channel=Channel.EMAIL
        )
        old_context = {
            "customer": customer,
            "owner_name": values["owner_name"],
            "tier": values["tier"],
            "organization": settings.ORGANIZATION_NAME,
            "premium": step.premium,
            "survey_url": values.get("survey_url", ""),
            "referral_code": values.get("referral_code", ""),
            "categories_not_bought": values["categories_not_bought"],
            "unsubscribe_url": values["unsubscribe_url"],
        }
        for field, old in old_fields(step).items():
            for autoescape in (False, True):
                before = django_engine.from_string(old).render(
                    Context(old_context, autoescape=autoescape)
                )
                after = content.render(getattr(step, field), values, autoescape=autoescape)
                assert after == before, (step.kind, field, autoescape)


def test_stored_django_syntax_is_converted_by_the_migration(program):
    step = Step.objects.create(
        program=program,
        order=1,
        name="Old",
        email_subject="Hi {{ customer.first_name|upper }}",
        email_body="{% comment %}note{% endcomment %}Dear {{ customer.get_full_name }} of "
        '{{ customer.tier.name|default:"no tier" }}, from {{ organization }}: '
        "{{ owner_name|default:'the organization' }}",
        sms_body="{% if customer.first_name %}Hi {{ customer.first_name }}{% endif %}",
    )

    CONVERSION.forwards(apps, None)

    step.refresh_from_db()
    assert step.email_subject == "Hi {{ first_name|upper }}"
    assert step.email_body == (
        '{#note#}Dear {{ full_name }} of {{ tier|default("no tier") }}, from '
        "{{ organization_name }}: {{ owner_name|default('the organization') }}"
    )
    assert step.sms_body == "{% if first_name %}Hi {{ first_name }}{% endif %}"
    assert content.content_problems(step) == {}


def test_the_editor_lists_every_name_with_an_example(signed_in, program):
    response = signed_in.get(f"/programs/{program.pk}/steps/new/")

    page = response.content.decode()
    for variable in sandbox.VARIABLES:
        assert f"<code>{{{{ {variable.name} }}}}</code>" in page
    assert "<td>Ann Lee</td>" in page and "<td>garden, kitchen</td>" in page
    assert "(only in a “Refer a friend” step)" in page
    assert "{{ customer" not in page  # the Django-syntax names are gone from the help


PIECES = ["{{", "}}", "{%", "%}", "{#", "#}", " if ", " for ", " in ", " endif ", " endfor ",
          " else ", "first_name", "categories_not_bought", "c", "|", "default", "join", "upper",
          "(", ")", "'x'", "1" * 5000, ".", "__class__", "[", "]", ",", "~", " not ", "\n",
          " raw ", " endraw ", "-", "*", "=", " set ", "\\", '"']  # fmt: skip


@settings_for_hypothesis(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_any_content_renders_or_is_refused_never_crashes(pieces):
    text = "".join(pieces)
    context = sandbox.sample_context("custom")
    for autoescape in (False, True):
        try:
            output = sandbox.render(text, context, autoescape=autoescape)
        except sandbox.ContentError as error:
            assert str(error)
        else:
            # No piece holds "<": one in the output would be the repr of some object.
            assert "<" not in output and "&lt;" not in output
