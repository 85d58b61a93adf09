"""The detractor alert goes to a member of staff: it is written in the language they chose for
their pages, whatever language the customer speaks."""

import pytest
from django.core import mail

from bonding.staff_language import set_language
from customers import records
from nps import mail as nps_mail
from nps import services
from nps.models import Survey

pytestmark = pytest.mark.django_db


def detractor_answer(owner, *, language: str) -> int:
    owner.email = "alex@example.com"
    owner.save()
    customer = records.create_customer(
        data={
            "first_name": "Ann",
            "email": "ann@example.com",
            "owner": owner,
            "consent_email": True,
            "language": language,
        },
        by=owner,
    )
    invitation = services.invite(survey=Survey.objects.get(), customers=[customer]).invited[0]
    response = services.record_response(
        invitation=invitation, score_value=2, why="Zu spät", improve=""
    )
    return response.pk


def test_an_owner_who_reads_german_gets_the_alert_in_german(manager, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    set_language(user=manager, language="de")
    response_id = detractor_answer(manager, language="es")

    assert nps_mail.tell_owner_about_detractor(response_id=response_id)

    (alert,) = mail.outbox
    assert "Bitte innerhalb von 48 Stunden" in alert.subject
    assert "Zu spät" in alert.body
    assert "(keine Antwort)" in alert.body


def test_an_owner_without_a_choice_reads_the_organizations_language(manager, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # A German-speaking customer does not make the alert German: it is for the owner.
    response_id = detractor_answer(manager, language="de")

    assert nps_mail.tell_owner_about_detractor(response_id=response_id)

    (alert,) = mail.outbox
    assert "please call within 48 hours" in alert.subject
