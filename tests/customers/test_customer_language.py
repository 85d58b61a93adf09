"""A customer's language: API field, sync row, CSV import and export column."""

import pytest

from customers.exports import export_rows
from customers.models import Customer
from customers.rows import clean_row
from tests.api.conftest import token_client
from tests.factories import CustomerFactory


@pytest.mark.parametrize(
    ("given", "stored"),
    [("de", "de"), ("ES", "es"), ("es-MX", "es"), ("de_AT", "de"), ("", ""), (None, "")],
)
def test_a_row_brings_a_language_to_its_code(given, stored):
    row = clean_row({"external_id": "1", "language": given}, phone_region="US")

    assert row.errors == {}
    assert row.values["language"] == stored


@pytest.mark.parametrize("given", ["fr", "klingon", 3, ["de"]])
def test_a_language_we_do_not_speak_fails_the_row(given):
    row = clean_row({"external_id": "1", "language": given}, phone_region="US")

    assert "language" in row.errors


@pytest.mark.django_db
def test_the_api_reads_and_writes_the_language(marketer):
    api_client = token_client(marketer)
    json = "application/json"
    created = api_client.post(
        "/api/v1/customers/", {"first_name": "Ana", "language": "es"}, content_type=json
    )
    assert created.status_code == 201, created.content
    assert created.json()["language"] == "es"

    pk = created.json()["id"]
    changed = api_client.patch(f"/api/v1/customers/{pk}/", {"language": ""}, content_type=json)
    assert changed.status_code == 200
    assert Customer.objects.get(pk=pk).language == ""

    refused = api_client.patch(f"/api/v1/customers/{pk}/", {"language": "fr"}, content_type=json)
    assert refused.status_code == 400
    assert Customer.objects.get(pk=pk).language == ""


@pytest.mark.django_db
def test_the_export_has_a_language_column():
    CustomerFactory(first_name="Ana", language="de")

    header, row = list(export_rows(customers=Customer.objects.all()))

    assert row[header.index("language")] == "de"
