"""The check on the mapping page: the import's own rules, run dry, before anything is written."""

import re

from django.test import Client

from customers import import_check, imports
from customers.models import Account, ConsentChange, Customer, ImportRejection
from tests.customers.test_imports import import_now, upload
from tests.factories import CustomerFactory, lowest_tier

# Row 2 updates Ann, row 3 leaves Bob as he is, row 4 is new; rows 5 to 9 are refused.
GOOD_AND_BAD = (
    "First name,E-mail,Phone,Company,Owner,Consent e-mail,Notes\n"
    "Annie,ann@example.com,,,,yes,\n"
    "Bob,bob@example.com,,,,,\n"
    "Cid,cid@example.com,,New Co,,yes,\n"
    "Dee,not-an-email,,,,,\n"
    "Eve,eve@example.com,,,nobody,,\n"
    ",,,,,,only a note\n"
    "Fay,fay@example.com,,,,maybe,\n"
    "Cidney,CID@example.com,,,,,\n"
)
REASONS = {
    5: "Column “E-mail”: Enter a valid email address.",
    6: "Column “Owner”: No user “nobody”.",
    7: "A customer needs a name or an e-mail address.",
    8: "Column “Consent e-mail”: “maybe” is not yes, no, true, false, 1 or 0.",
    9: "Column “E-mail”: Appears more than once in this batch.",
}


def existing_customers():
    CustomerFactory(first_name="Ann", email="ann@example.com")
    CustomerFactory(first_name="Bob", email="bob@example.com")


def test_the_check_counts_what_the_import_then_does_and_writes_nothing(marketer):
    existing_customers()
    job = upload(marketer, GOOD_AND_BAD.encode())

    check = import_check.check_import(job=job)

    assert (check.checked, check.total, check.complete) == (8, 8, True)
    assert (check.created, check.updated, check.unchanged, check.refused) == (1, 1, 1, 5)
    assert {r.line: r.reason for r in check.first_refused} == REASONS
    assert Customer.objects.count() == 2
    assert not Account.objects.exists()
    assert not ConsentChange.objects.exists()
    assert not ImportRejection.objects.exists()

    job = import_now(job)

    assert (job.created, job.updated, job.unchanged, job.rejected) == (1, 1, 1, 5)
    assert dict(ImportRejection.objects.filter(job=job).values_list("line", "reason")) == REASONS


def test_the_mapping_page_says_what_will_happen_and_lists_the_refused_rows(client, marketer):
    existing_customers()
    job = upload(marketer, GOOD_AND_BAD.encode())
    client.force_login(marketer)

    page = client.get(f"/imports/{job.pk}/").content.decode()

    assert "All 8 rows checked, nothing written yet" in page
    counts = re.findall(r"<li><strong>(\d+)</strong> ([^<]+)</li>", page)
    assert counts == [
        ("1", "new customer"),
        ("1", "customer updated"),
        ("1", "already up to date"),
        ("5", "rows refused"),
    ]
    refused = re.findall(r'<tr><th scope="row">(\d+)</th><td>([^<]+)</td></tr>', page)
    assert [int(line) for line, _ in refused] == [5, 6, 7, 8, 9]
    assert "Looks good: updates a customer" in page
    assert "Looks good: already up to date" in page
    assert "Looks good: a new customer" in page
    # Issue #16: a bad e-mail and an empty row were "Looks good" in the preview before.
    assert page.count("Looks good") == 3
    assert "Enter a valid email address." in page
    assert "A customer needs a name or an e-mail address." in page


def test_a_customer_an_earlier_batch_creates_is_counted_as_an_update(marketer, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)
    job = upload(
        marketer,
        b"first_name,email\nAnn,ann@example.com\nBob,bob@example.com\nAnnie,ann@example.com\n",
    )

    check = import_check.check_import(job=job)
    done = import_now(job)

    assert (check.created, check.updated, check.refused) == (2, 1, 0)
    assert (done.created, done.updated, done.rejected) == (2, 1, 0)


def test_a_long_file_is_checked_up_to_the_limit_and_says_so(client, marketer, monkeypatch):
    monkeypatch.setattr(import_check, "CHECK_ROWS", 3)
    rows = "".join(f"N{n},n{n}@example.com\n" for n in range(5))
    job = upload(marketer, f"first_name,email\n{rows}".encode())
    client.force_login(marketer)

    page = client.get(f"/imports/{job.pk}/").content.decode()

    assert "The first 3 of 5 rows checked" in page


def test_an_unusable_mapping_shows_the_rows_unchecked(client, marketer):
    job = upload(marketer, b"ref,phone\nR1,+14155552671\n")
    client.force_login(marketer)

    page = client.get(f"/imports/{job.pk}/").content.decode()

    assert import_check.check_import(job=job) is None
    assert "What the import will do" not in page
    assert "+14155552671" in page


def thousand_rows(marketer):
    """1,000 rows: 400 update customers found by e-mail, 300 by phone, 200 new, 100 refused."""
    tier = lowest_tier()
    Customer.objects.bulk_create(
        [Customer(first_name="Old", email=f"old{n}@example.com", tier=tier) for n in range(400)]
        + [Customer(first_name="Old", phone=f"+1415555{2000 + n}", tier=tier) for n in range(300)]
    )
    emails = list(Customer.objects.exclude(email="").values_list("email", flat=True))
    lines = [f"New,{email},,marketer" for email in emails]
    lines += [f"New,,+1415555{2000 + n},marketer" for n in range(300)]
    lines += [f"Brand,brand{n}@example.com,,marketer" for n in range(200)]
    lines += [f"Bad,bad{n},,marketer" for n in range(100)]
    content = "First name,E-mail,Phone,Owner\n" + "\n".join(lines) + "\n"
    return upload(marketer, content.encode())


def test_the_check_of_a_1000_row_file_runs_a_fixed_number_of_queries(
    marketer, django_assert_num_queries
):
    job = thousand_rows(marketer)

    # 2 to read the stored file (its one chunk, then none), 2 for the savepoint, 1 by e-mail,
    # 1 by phone, 1 for owners, 1 for the owner's roles, 1 for e-mails taken, 1 for the
    # lowest tier.
    with django_assert_num_queries(10):
        check = import_check.check_import(job=job)

    assert (check.created, check.updated, check.refused) == (200, 700, 100)


def test_the_mapping_page_of_a_1000_row_file_runs_a_fixed_number_of_queries(
    client, marketer, django_assert_num_queries
):
    job = thousand_rows(marketer)
    client.force_login(marketer)

    # The check's 10, the session, the user, their roles and the job.
    with django_assert_num_queries(14):
        response = client.get(f"/imports/{job.pk}/")

    assert response.status_code == 200


def test_a_german_marketer_reads_the_refused_rows_in_german(marketer):
    existing_customers()
    job = upload(marketer, GOOD_AND_BAD.encode())
    german = Client(headers={"accept-language": "de"})
    german.force_login(marketer)

    page = german.get(f"/imports/{job.pk}/").content.decode()

    assert "Spalte „Consent e-mail“: „maybe“ ist nicht yes, no, true, false, 1 oder 0." in page
    assert "Spalte „E-mail“: Geben Sie eine gültige E-Mail-Adresse ein." in page
    assert "Spalte „Owner“: Kein Benutzer „nobody“." in page
    assert "Ein Kunde braucht einen Namen oder eine E-Mail-Adresse." in page
    assert "Spalte „E-mail“: Kommt in diesem Stapel mehr als einmal vor." in page
    assert "is not yes, no" not in page
    assert "No user" not in page
