"""Errors made in Python reach people in their language: a sync client's rejected rows follow
its Accept-Language, a staff member's form errors follow the language they chose."""

import pytest
from django.test import Client

from bonding import services
from bonding.staff_language import set_language
from customers.models import Customer
from events.models import Event
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def api_client(user, language: str) -> Client:
    _, key = services.issue_token(user=user, name="tests")
    return Client(headers={"authorization": f"Token {key}", "accept-language": language})


def sync(client: Client, rows: list) -> dict:
    response = client.post(
        "/api/v1/customers/sync/", {"customers": rows}, content_type="application/json"
    )
    assert response.status_code == 200
    return {error["index"]: error["errors"] for error in response.json()["errors"]}


ROWS = [
    {"external_id": "shop-0", "first_name": "Ann", "email": "ann@example.com"},
    {"external_id": "shop-1", "first_name": "Bob", "email": "not-an-email", "timezone": "Mars"},
    {"external_id": "shop-2", "first_name": "Cid", "owner": "nobody"},
    {"external_id": "shop-0", "first_name": "Ann again"},
    {
        "external_id": "shop-4",
        "first_name": "Dee",
        "purchases": [{"external_id": "p-1", "amount": "lots", "purchased_on": "2026-01-02"}],
    },
    "not a row",
]


def test_a_german_sync_client_reads_its_refused_rows_in_german_by_index(marketer):
    errors = sync(api_client(marketer, "de"), ROWS)

    assert errors == {
        1: {
            "email": ["Geben Sie eine gültige E-Mail-Adresse ein."],
            "timezone": ["„Mars“ ist keine bekannte Zeitzone (z. B. Europe/Paris)."],
        },
        2: {"owner": ["Kein Benutzer „nobody“."]},
        3: {"external_id": ["Kommt in diesem Stapel mehr als einmal vor."]},
        4: {"purchases": ["[0] amount: Eine Zahl ist erforderlich, z. B. 19.90."]},
        5: {"non_field_errors": ["Jeder Kunde muss ein JSON-Objekt sein."]},
    }
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"shop-0"}


def test_a_spanish_sync_client_reads_them_in_spanish_and_an_english_one_in_english(marketer):
    CustomerFactory(external_id="kept", email="taken@example.com")
    rows = [{"external_id": "new", "first_name": "Eve", "email": "taken@example.com"}]

    spanish = sync(api_client(marketer, "es"), rows)
    english = sync(api_client(marketer, "en"), rows)

    assert spanish == {
        0: {"email": ["Otro cliente ya tiene esta dirección de correo electrónico."]}
    }
    assert english == {0: {"email": ["Another customer already has this e-mail address."]}}


def test_an_account_manager_is_refused_accounts_in_their_language(manager):
    response = api_client(manager, "de").post(
        "/api/v1/accounts/", {"name": "Acme"}, content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json()["detail"] == "Nur Marketer und Admins ändern Konten."


def test_a_german_marketer_reads_a_form_error_in_german(client, marketer):
    ann = CustomerFactory()
    set_language(user=marketer, language="de")
    client.force_login(marketer)  # sign-in copies the choice into the session

    response = client.post(
        f"/customers/{ann.pk}/contracts/",
        {"title": "Plan", "starts_on": "2026-05-01", "ends_on": "2026-01-01", "value": "1"},
    )

    assert response.status_code == 400
    assert "Ein Vertrag kann nicht enden, bevor er beginnt." in response.content.decode()
    assert not ann.contracts.exists()


def test_a_spanish_marketer_reads_the_event_forms_errors_in_spanish(client, marketer):
    set_language(user=marketer, language="es")
    client.force_login(marketer)

    response = client.post(
        "/events/new/",
        {
            "name": "Backwards",
            "starts_at": "2031-03-12T18:30",
            "ends_at": "2031-03-12T17:30",
            "timezone": "Europe/Berlin",
            "status": "open",
        },
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "El evento debe terminar después de empezar." in page
    assert "Indique dónde es el evento o dé su enlace en línea." in page
    assert not Event.objects.exists()
