"""Content that cannot be sent cannot be saved: a step saves only when its content renders,
non-empty, on every channel it may use, with names its kind can give."""

import pytest
from django.core.exceptions import ValidationError

from customers.models import Channel, Customer
from programs import content, review
from programs.models import Program, Step

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def program() -> Program:
    return Program.objects.create(name="Content")


def step_data(**fields) -> dict:
    data = {
        "kind": "custom",
        "name": "Hello",
        "anchor": "enrollment",
        "offset_days": "0",
        "channel_mode": "fixed",
        "channel": "email",
        "reward_value": "0",
        "email_subject": "Hello {{ first_name }}",
        "email_body": "Dear {{ first_name }},",
    }
    data.update(fields)
    return data


def save(client, program: Program, **fields):
    return client.post(f"/programs/{program.pk}/steps/new/", step_data(**fields))


def test_valid_content_saves(signed_in, program):
    response = save(signed_in, program)

    assert response.status_code == 302
    step = program.steps.get()
    assert (step.email_subject, step.email_body) == (
        "Hello {{ first_name }}",
        "Dear {{ first_name }},",
    )


def test_an_unclosed_tag_is_refused_on_save_with_the_message(signed_in, program):
    response = save(signed_in, program, email_body="Dear {% if first_name %}{{ first_name }}")

    assert response.status_code == 400
    page = response.content.decode().replace("&#x27;", "'")
    assert "Line 1: Unexpected end of template" in page
    assert "'endif'" in page
    assert not program.steps.exists()


def test_django_filter_syntax_is_refused_with_how_to_write_it(signed_in, program):
    response = save(signed_in, program, email_subject="Hi {{ first_name|default:'you' }}")

    assert response.status_code == 400
    assert "filters take their argument in parentheses" in response.content.decode()
    assert not program.steps.exists()


def test_a_blank_sms_body_is_refused_when_sms_is_a_fallback(signed_in, program):
    response = save(signed_in, program, fallbacks=["sms"], sms_body="  ")

    assert response.status_code == 400
    assert "Write the SMS body: this step may go out by SMS" in response.content.decode()
    assert not program.steps.exists()


def test_a_blank_sms_body_is_refused_for_the_preferred_channel(signed_in, program):
    response = save(signed_in, program, channel_mode="preferred")

    assert response.status_code == 400
    assert "this step may go out by SMS" in response.content.decode()


def test_an_sms_body_that_renders_empty_is_refused(signed_in, program):
    response = save(signed_in, program, channel="sms", sms_body="{% if 0 %}Hi{% endif %}")

    assert response.status_code == 400
    assert "this step may go out by SMS, and this renders empty" in response.content.decode()


def test_a_blank_sms_body_is_fine_when_sms_is_never_used(signed_in, program):
    response = save(signed_in, program, fallbacks=["letter"], sms_body="")

    assert response.status_code == 302
    assert program.steps.get().sms_body == ""


def test_letters_and_calls_say_the_email_body_when_they_have_none(signed_in, program):
    response = save(signed_in, program, channel_mode="preferred", sms_body="Hi {{ first_name }}")

    assert response.status_code == 302


def test_an_empty_email_subject_is_refused_when_email_is_used(signed_in, program):
    response = save(signed_in, program, email_subject="")

    assert response.status_code == 400
    assert "Write the e-mail subject: this step may go out by E-mail" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "kind_label"),
    [
        ("survey_url", "Satisfaction survey"),
        ("premium", "Satisfaction survey"),
        ("referral_code", "Refer a friend"),
    ],
)
def test_a_name_the_step_kind_cannot_give_is_refused_with_the_reason(
    signed_in, program, name, kind_label
):
    response = save(signed_in, program, email_body=f"Dear {{{{ first_name }}}}: {{{{ {name} }}}}")

    assert response.status_code == 400
    page = response.content.decode().replace("&quot;", '"')
    assert f"{{{{ {name} }}}} is only available in a “{kind_label}” step" in page
    assert not program.steps.exists()


@pytest.mark.parametrize(
    ("kind", "name"),
    [("satisfaction_survey", "survey_url"), ("refer_friend", "referral_code")],
)
def test_the_step_kind_that_gives_a_name_saves_with_it(signed_in, program, kind, name):
    response = save(signed_in, program, kind=kind, email_body=f"Here: {{{{ {name} }}}}")

    assert response.status_code == 302
    assert program.steps.get().kind == kind


def test_the_service_refuses_what_the_page_refuses(program):
    step = Step(program=program)
    data = {
        "kind": "custom",
        "name": "Hi",
        "channel_mode": "fixed",
        "channel": "sms",
        "sms_body": "{{ survey_url }}",
    }

    with pytest.raises(ValidationError) as refused:
        review.save_step(step=step, data=data)

    assert refused.value.message_dict == {
        "sms_body": ["{{ survey_url }} is only available in a “Satisfaction survey” step."]
    }
    assert not program.steps.exists()


def test_editing_a_saved_step_into_broken_content_keeps_the_old_content(signed_in, program):
    save(signed_in, program)
    step = program.steps.get()

    response = signed_in.post(
        f"/programs/{program.pk}/steps/{step.pk}/", step_data(email_body="{% for %}")
    )

    assert response.status_code == 400
    step.refresh_from_db()
    assert step.email_body == "Dear {{ first_name }},"


def test_the_step_page_runs_a_fixed_number_of_queries(
    signed_in, program, django_assert_num_queries
):
    save(signed_in, program, channel_mode="preferred", sms_body="Hi {{ first_name }}")
    step = program.steps.get()
    Customer.objects.bulk_create(
        Customer(first_name=f"C{n}", email=f"c{n}@example.com") for n in range(30)
    )

    content.known_categories()  # cached across requests, for an hour
    # Session and user, the step, the preview's customers, and per channel the customer's
    # categories bought (owner and tier are read once): as before the sandbox; the topics a
    # step may be limited to.
    with django_assert_num_queries(11):
        response = signed_in.get(f"/programs/{program.pk}/steps/{step.pk}/")

    assert response.status_code == 200


def test_a_stored_blank_sms_body_fails_the_touch_instead_of_sending_only_the_opt_out(program):
    customer = Customer.objects.create(first_name="Ann", phone="+14155550100")
    step = Step(program=program, name="Hi", kind="custom", sms_body="{% if 0 %}x{% endif %}")

    with pytest.raises(content.ContentError, match="The SMS body renders empty"):
        content.message_for(touch=None, customer=customer, channel=Channel.SMS, step=step)
