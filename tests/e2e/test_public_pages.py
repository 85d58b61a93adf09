"""A customer on the public pages in a real browser that blocks cookies: unsubscribing from
the e-mail's link, answering the survey and a friend signing up with a referral code work."""

import pytest

from customers import records
from customers.activity import hand_out_referral_codes
from customers.models import Customer, Referral
from nps import services as nps_services
from nps.models import Response, Survey
from programs.unsubscribe import unsubscribe_token
from tests.e2e.conftest import assert_accessible

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ann(people) -> Customer:
    return records.create_customer(
        data={
            "first_name": "Ann",
            "email": "ann@example.com",
            "phone": "+14155552671",
            "owner": people["manager"],
            "consent_email": True,
            "consent_sms": True,
        },
        by=people["manager"],
    )


def test_the_browser_really_blocks_cookies(cookieless_page, live_server):
    # The sign-in page sets a CSRF cookie; this browser must keep none, from headers or scripts.
    cookieless_page.goto(f"{live_server.url}/accounts/login/")
    cookieless_page.evaluate("document.cookie = 'probe=1; path=/'")

    assert cookieless_page.context.cookies() == []
    assert cookieless_page.evaluate("document.cookie") == ""


@pytest.mark.parametrize("tab", ["page", "cookieless_page"])
def test_ticking_a_channel_and_submitting_unsubscribes(tab, request, live_server, ann):
    page = request.getfixturevalue(tab)
    token = unsubscribe_token(customer=ann, channel="email")

    page.goto(f"{live_server.url}/u/{token}/")
    page.get_by_label("SMS").check()
    page.get_by_role("button", name="Unsubscribe").click()

    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    assert "no longer contact you by E-mail, SMS" in page.content()
    ann.refresh_from_db()
    assert (ann.consent_email, ann.consent_sms) == (False, False)


def test_answering_the_survey_works_with_cookies_blocked(cookieless_page, live_server, ann):
    page = cookieless_page
    invitation = nps_services.invite(survey=Survey.objects.get(), customers=[ann]).invited[0]

    page.goto(f"{live_server.url}/s/{invitation.token}/")
    page.locator("label[for=score-8]").click()
    page.get_by_label("Why did you give that score?").fill("Friendly people.")
    page.get_by_role("button", name="Send my answers").click()

    page.get_by_role("heading", name="Thank you!").wait_for()
    answer = Response.objects.get(invitation=invitation)
    assert (answer.score, answer.why) == (8, "Friendly people.")


def test_a_friend_signs_up_on_a_phone_with_cookies_blocked(cookieless_page, live_server, ann):
    page = cookieless_page
    page.set_viewport_size({"width": 390, "height": 844})
    code = hand_out_referral_codes(customers=[ann])[ann.pk]

    page.goto(f"{live_server.url}/r/{code}/")
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label("First name").fill("Bob")
    page.get_by_label("E-mail address").fill("not an address")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("alert").first.wait_for()
    assert_accessible(page)
    page.get_by_label("E-mail address").fill("bob@example.com")
    page.get_by_label("SMS").check()
    page.get_by_role("button", name="Send").click()

    page.get_by_role("heading", name="Thank you").wait_for()
    bob = Customer.objects.get(email="bob@example.com")
    assert (bob.relationship, bob.consent_sms, bob.consent_email) == ("prospect", True, False)
    assert Referral.objects.get(code=code).referred_customer == bob
