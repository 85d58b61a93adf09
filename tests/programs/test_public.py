"""The public pages: the unsubscribe link (RFC 8058 one-click and choosing channels) and the
SMS provider's inbound webhook (STOP)."""

import re

import pytest
from django.test import Client

from customers.models import ConsentChange, Customer
from customers.preferences import preference_token
from programs.unsubscribe import unsubscribe_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann() -> Customer:
    return Customer.objects.create(
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        phone="+14155552671",
        consent_email=True,
        consent_sms=True,
        consent_letter=True,
    )


@pytest.fixture
def token(ann) -> str:
    return unsubscribe_token(customer=ann, channel="email")


@pytest.fixture
def browser() -> Client:
    """An anonymous visitor whose posts are CSRF-checked, as a real browser's are."""
    return Client(enforce_csrf_checks=True)


def consents(customer: Customer) -> dict[str, bool]:
    customer.refresh_from_db()
    return customer.consents()


def test_the_unsubscribe_page_offers_channels_in_the_organizations_name(browser, token, settings):
    response = browser.get(f"/u/{token}/")

    text = response.content.decode()
    assert response.status_code == 200
    assert settings.ORGANIZATION_NAME in text
    assert f'action="/u/{token}/choose/"' in text
    assert re.search(r'value="email"[^>]*checked', text)
    assert not re.search(r'value="sms"[^>]*checked', text)
    assert response["Cache-Control"] == "no-store"


def test_opening_the_page_unsubscribes_nobody(browser, token, ann):
    browser.get(f"/u/{token}/")
    assert consents(ann)["email"] is True


def test_one_click_post_withdraws_consent_without_csrf_token_or_login(browser, token, ann):
    response = browser.post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert consents(ann) == {"email": False, "sms": True, "phone": False, "letter": True}
    change = ConsentChange.objects.get(customer=ann, channel="email")
    assert (change.granted, change.source) == (False, "unsubscribe link")


def test_one_click_twice_is_harmless(browser, token, ann):
    browser.post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})
    response = browser.post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert consents(ann)["email"] is False
    assert ConsentChange.objects.filter(customer=ann, channel="email").count() == 1


def test_one_click_with_an_empty_body_works_too(browser, token, ann):
    response = browser.post(f"/u/{token}/")
    assert response.status_code == 200
    assert consents(ann)["email"] is False


def test_one_click_stops_only_the_links_channel(browser, token, ann):
    browser.post(f"/u/{token}/", {"channels": ["sms", "letter"]})
    assert consents(ann) == {"email": False, "sms": True, "phone": False, "letter": True}


def test_choosing_channels_works_without_cookies_origin_or_referer(browser, token, ann):
    # Chromium sends `Origin: null` from this no-referrer page, and cookies may be blocked:
    # the token in the URL is the credential.
    response = browser.post(f"/u/{token}/choose/", {"channels": ["sms"]}, HTTP_ORIGIN="null")

    assert response.status_code == 200
    assert consents(ann) == {"email": True, "sms": False, "phone": False, "letter": True}


def test_a_cross_site_choose_post_without_a_valid_token_changes_nothing(browser, token, ann):
    forged = token[:-1] + ("y" if token.endswith("x") else "x")
    response = browser.post(
        f"/u/{forged}/choose/",
        {"channels": ["email", "sms"]},
        HTTP_ORIGIN="https://evil.example",
    )

    assert response.status_code == 404
    assert consents(ann) == {"email": True, "sms": True, "phone": False, "letter": True}


def test_choosing_channels_withdraws_each_one(browser, token, ann):
    response = browser.post(f"/u/{token}/choose/", {"channels": ["sms", "letter"]})

    assert response.status_code == 200
    assert b"no longer contact you by SMS, Letter" in response.content
    assert consents(ann) == {"email": True, "sms": False, "phone": False, "letter": False}


def test_choosing_no_channel_asks_for_one(browser, token, ann):
    response = browser.post(f"/u/{token}/choose/")

    assert response.status_code == 400
    assert b"Tick at least one" in response.content
    assert consents(ann)["email"] is True


def test_an_unknown_token_is_a_404_that_reveals_nothing(browser, token, ann):
    for response in [
        browser.get("/u/not-a-real-token/"),
        browser.post("/u/not-a-real-token/"),
    ]:
        text = response.content.decode()
        assert response.status_code == 404
        assert "This link does not work" in text
        assert "Ann" not in text and "ann@example.com" not in text
        assert "not-a-real-token" not in text
    assert consents(ann)["email"] is True


def test_the_unsubscribe_page_does_not_show_who_the_link_belongs_to(browser, token):
    text = browser.get(f"/u/{token}/").content.decode()
    assert "Ann" not in text and "ann@example.com" not in text and "+1415" not in text


def stop(client: Client, *, body: str = " Stop ", sender: str = "(415) 555-2671", **extra):
    return client.post("/sms/inbound/", {"From": sender, "Body": body}, **extra)


def test_sms_stop_with_the_right_token_withdraws_sms_consent(browser, ann, settings):
    settings.SMS_INBOUND_TOKEN = "s3cret-inbound"

    response = stop(browser, headers={"X-Bonding-Token": "s3cret-inbound"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert consents(ann)["sms"] is False
    assert consents(ann)["email"] is True


@pytest.mark.parametrize("word", ["STOP", "stopall", "Unsubscribe", "cancel", "END", " quit\n"])
def test_every_stop_word_stops(browser, ann, settings, word):
    settings.SMS_INBOUND_TOKEN = "s3cret-inbound"
    stop(browser, body=word, headers={"X-Bonding-Token": "s3cret-inbound"})
    assert consents(ann)["sms"] is False


def test_sms_stop_accepts_the_token_in_the_query(browser, ann, settings):
    settings.SMS_INBOUND_TOKEN = "s3cret-inbound"

    response = browser.post(
        "/sms/inbound/?token=s3cret-inbound", {"From": "+14155552671", "Body": "STOP"}
    )

    assert response.status_code == 200
    assert consents(ann)["sms"] is False


def test_sms_stop_with_a_wrong_or_missing_token_is_forbidden(browser, ann, settings):
    settings.SMS_INBOUND_TOKEN = "s3cret-inbound"

    assert stop(browser, headers={"X-Bonding-Token": "guess"}).status_code == 403
    assert stop(browser).status_code == 403
    assert consents(ann)["sms"] is True


def test_sms_inbound_is_closed_while_no_token_is_configured(browser, ann, settings):
    settings.SMS_INBOUND_TOKEN = ""

    assert stop(browser, headers={"X-Bonding-Token": ""}).status_code == 403
    assert consents(ann)["sms"] is True


def test_other_replies_change_nothing(browser, ann, settings):
    settings.SMS_INBOUND_TOKEN = "s3cret-inbound"

    response = stop(
        browser,
        body="Stop sending me the wrong size",
        headers={"X-Bonding-Token": "s3cret-inbound"},
    )

    assert response.status_code == 200
    assert consents(ann)["sms"] is True


def test_a_stop_from_a_nonsense_number_is_answered_and_ignored(browser, ann, settings):
    settings.SMS_INBOUND_TOKEN = "s3cret-inbound"

    response = stop(browser, sender="not a number", headers={"X-Bonding-Token": "s3cret-inbound"})

    assert response.status_code == 200
    assert consents(ann)["sms"] is True


def test_the_unsubscribe_pages_offer_the_preference_center_instead(browser, token, ann):
    choose = f'href="/p/{preference_token(customer=ann)}/"'

    assert choose in browser.get(f"/u/{token}/").content.decode()
    assert choose in browser.post(f"/u/{token}/").content.decode()
