"""The survey invitation e-mail carries the same one-click unsubscribe and postal footer as
program e-mails, and its List-Unsubscribe URL really unsubscribes."""

import pytest
from django.test import Client

from customers.preferences import preference_token
from nps import mail, services
from nps.models import Survey
from programs.content import unsubscribe_url
from tests.factories import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(manager, mailoutbox):
    """One invitation e-mailed to Ann; the message as it left."""
    ann = person(manager, 1, first_name="Ann", phone="+14155552671", consent_sms=True)
    invitation = services.invite(survey=Survey.objects.get(), customers=[ann]).invited[0]

    outcome = mail.send_invitations(invitation_ids=[invitation.pk])

    assert outcome.sent == 1
    return ann, mailoutbox[0]


def test_the_invitation_has_the_one_click_unsubscribe_headers(sent):
    ann, message = sent

    link = unsubscribe_url(ann, "email")  # the same link program e-mails give Ann
    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Unsubscribe: <" in message.message().as_string()


def test_the_invitation_has_the_postal_address_and_unsubscribe_footer(sent, settings):
    ann, message = sent
    html = message.alternatives[0][0]
    link = unsubscribe_url(ann, "email")

    assert f"{settings.ORGANIZATION_NAME} · {settings.ORGANIZATION_ADDRESS}" in message.body
    assert f"Unsubscribe: {link}" in message.body
    assert settings.ORGANIZATION_ADDRESS in html
    assert f'<a href="{link}"' in html


def test_the_one_click_post_to_the_list_unsubscribe_url_unsubscribes(sent, settings):
    ann, message = sent
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert url.startswith(f"{settings.SITE_URL}/u/")

    # What a mail client does for RFC 8058: a cookieless POST of this exact body.
    response = Client(enforce_csrf_checks=True).post(
        url.removeprefix(settings.SITE_URL),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    ann.refresh_from_db()
    assert response.status_code == 200
    assert (ann.consent_email, ann.consent_sms) == (False, True)


def test_a_batch_makes_each_customer_their_own_link(manager, mailoutbox):
    people = [person(manager, n) for n in range(3)]
    invited = services.invite(survey=Survey.objects.get(), customers=people).invited

    mail.send_invitations(invitation_ids=[i.pk for i in invited])

    links = {message.to[0]: message.extra_headers["List-Unsubscribe"] for message in mailoutbox}
    assert links == {p.email: f"<{unsubscribe_url(p, 'email')}>" for p in people}


def test_the_invitation_links_the_customers_preference_center(sent, settings):
    ann, message = sent
    link = f"{settings.SITE_URL}/p/{preference_token(customer=ann)}/"

    assert f"Your preferences (channels, how often, topics): {link}" in message.body
    assert f'<a href="{link}"' in message.alternatives[0][0]
    assert Client().get(link.removeprefix(settings.SITE_URL)).status_code == 200
