"""Bonding's own click tracking (a program's track_clicks): links in e-mail bodies go through
/c/<token>/, which records a response of the touch and redirects only to the message's URL."""

import re

import pytest
from django.core import mail
from django.test import Client

from customers.models import Channel
from programs import clicks, content
from programs.delivery import deliver
from programs.models import Program, Touch
from programs.queries import funnel
from tests.factories import CustomerFactory
from tests.programs.test_email_events import email_touch

OFFER = "https://shop.example.com/offer?code=SPRING&utm_source=mail"
BODY = f"Hello {{{{ first_name }}}}, see {OFFER}. Or write to us."


@pytest.fixture
def touch(db, manager):
    ann = CustomerFactory(owner=manager, consent_email=True)
    touch = email_touch(ann)
    touch.step.email_body = BODY
    touch.step.save()
    Program.objects.filter(pk=touch.step.program_id).update(track_clicks=True)
    touch.step.program.refresh_from_db()
    return touch


def links_in(text: str) -> list[str]:
    return re.findall(r"http://testserver/c/[^/\s\"]+/", text)


def test_links_are_rewritten_in_text_and_html_and_lead_to_the_url(touch, settings):
    settings.SITE_URL = "http://testserver"

    message = content.message_for(touch=touch, customer=touch.customer, channel=Channel.EMAIL)

    [in_text] = links_in(message.text)
    [in_html] = links_in(message.html)
    assert OFFER not in message.text.split("Unsubscribe")[0]
    assert f">{OFFER}</a>." in message.html  # shown as it was
    assert clicks.target_of(in_text.split("/c/")[1].rstrip("/")) == (touch.pk, OFFER)
    assert clicks.target_of(in_html.split("/c/")[1].rstrip("/")) == (touch.pk, OFFER)
    # The unsubscribe link stays direct.
    assert "http://testserver/u/" in message.text
    assert 'href="http://testserver/u/' in message.html


def test_programs_without_tracking_and_previews_keep_their_links(touch):
    preview = content.message_for(
        touch=None, customer=touch.customer, channel=Channel.EMAIL, step=touch.step
    )
    Program.objects.filter(pk=touch.step.program_id).update(track_clicks=False)
    touch.step.program.refresh_from_db()
    plain = content.message_for(touch=touch, customer=touch.customer, channel=Channel.EMAIL)

    assert OFFER in preview.text and "/c/" not in preview.text
    assert OFFER in plain.text and "/c/" not in plain.text


def test_a_click_records_a_response_and_redirects_to_the_url(touch, django_assert_num_queries):
    token = clicks.token_for(touch.pk, OFFER)

    with django_assert_num_queries(1):
        answer = Client().get(f"/c/{token}/")

    assert (answer.status_code, answer["Location"]) == (302, OFFER)
    assert answer["Cache-Control"] == "no-store"
    touch.refresh_from_db()
    assert touch.responded_at is not None
    first = touch.responded_at
    Client().get(f"/c/{token}/")
    touch.refresh_from_db()
    assert touch.responded_at == first  # the first click counts


def test_the_click_counts_in_the_program_funnel(touch):
    Client().get(f"/c/{clicks.token_for(touch.pk, OFFER)}/")

    rows = funnel(touch.step.program)
    assert rows[0].responded == 1


def test_head_redirects_and_records_nothing(touch):
    answer = Client().head(f"/c/{clicks.token_for(touch.pk, OFFER)}/")

    assert (answer.status_code, answer["Location"]) == (302, OFFER)
    touch.refresh_from_db()
    assert touch.responded_at is None


@pytest.mark.parametrize(
    "token",
    [
        "nothing-we-made",
        "eyJ0IjoxLCJ1IjoiaHR0cHM6Ly9ldmlsLmV4YW1wbGUifQ:forged",
        # A real token with its URL swapped for another one.
        "SWAP",
    ],
)
def test_an_unknown_or_altered_token_is_a_friendly_404_and_goes_nowhere(touch, token):
    if token == "SWAP":
        real = clicks.token_for(touch.pk, OFFER)
        other = clicks.token_for(touch.pk, "https://evil.example/")
        token = other.split(":")[0] + ":" + real.split(":")[1]

    answer = Client().get(f"/c/{token}/")

    assert answer.status_code == 404
    assert "This link does not work" in answer.content.decode()
    assert "Location" not in answer
    touch.refresh_from_db()
    assert touch.responded_at is None


def test_a_post_is_refused(touch):
    assert Client().post(f"/c/{clicks.token_for(touch.pk, OFFER)}/").status_code == 405


def test_a_delivered_email_carries_the_tracked_link(touch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Touch.objects.filter(pk=touch.pk).update(
        status=Touch.Status.CLAIMED, sent_at=None, provider_message_id=""
    )

    assert deliver(touch_ids=[touch.pk]) == {"sent": 1}

    [sent] = mail.outbox
    [link] = re.findall(r"/c/([^/\s]+)/", sent.body)
    assert clicks.target_of(link) == (touch.pk, OFFER)


def test_a_link_rendered_from_a_value_is_followed_unescaped():
    body = "Answer here: https://s.example/x?a=1&amp;b=2, thanks"

    rewritten = clicks.rewrite_html(body, 7)

    [href] = re.findall(r'href="([^"]+)"', rewritten)
    assert clicks.target_of(href.split("/c/")[1].rstrip("/")) == (7, "https://s.example/x?a=1&b=2")
    assert rewritten.endswith(">https://s.example/x?a=1&amp;b=2</a>, thanks")


def test_marketers_turn_tracking_on_in_the_program_form(touch, marketer, client):
    client.force_login(marketer)

    page = client.get(f"/programs/{touch.step.program_id}/").content.decode()

    assert 'name="track_clicks"' in page
    assert "no provider reports clicks" in page
