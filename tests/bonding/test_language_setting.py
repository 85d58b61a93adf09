"""A staff user's language: chosen at /settings/language/, it overrides the browser's."""

import pytest
from django.test import Client

from bonding.models import StaffLanguage

pytestmark = pytest.mark.django_db


def signed_in(user, *, browser: str = "es") -> Client:
    client = Client(headers={"accept-language": browser})
    client.force_login(user)
    return client


def test_without_a_choice_the_pages_follow_the_browser(marketer):
    response = signed_in(marketer, browser="es").get("/settings/language/")

    assert response.status_code == 200
    assert response["Content-Language"] == "es"


def test_the_chosen_language_overrides_the_browser_and_is_kept(marketer):
    client = signed_in(marketer, browser="es")

    response = client.post("/settings/language/", {"language": "de"})

    assert response.status_code == 302
    assert StaffLanguage.objects.get(user=marketer).language == "de"
    assert client.get("/settings/language/")["Content-Language"] == "de"
    # A new sign-in (another browser) finds the choice again.
    assert signed_in(marketer, browser="en").get("/")["Content-Language"] == "de"


def test_choosing_the_browser_again_clears_the_choice(marketer):
    client = signed_in(marketer, browser="es")
    client.post("/settings/language/", {"language": "de"})

    client.post("/settings/language/", {"language": ""})

    assert StaffLanguage.objects.get(user=marketer).language == ""
    assert client.get("/settings/language/")["Content-Language"] == "es"


def test_a_language_we_do_not_speak_is_a_400_that_changes_nothing(marketer):
    client = signed_in(marketer)

    response = client.post("/settings/language/", {"language": "fr"})

    assert response.status_code == 400
    assert not StaffLanguage.objects.exists()


def test_the_page_needs_a_sign_in():
    response = Client().get("/settings/language/")

    assert response.status_code == 302
    assert "/login/" in response["Location"] or "login" in response["Location"]


def test_the_page_needs_the_csrf_token(marketer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)

    response = client.post("/settings/language/", {"language": "de"})

    assert response.status_code == 403
    assert not StaffLanguage.objects.exists()
