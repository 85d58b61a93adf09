"""Imports of people's own files: no external id (match by e-mail, then phone), any separator."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from customers import import_check, imports, sync, tasks
from customers.models import Customer, ImportRejection, Tier, TierChange
from tests.customers.test_imports import import_now, upload
from tests.factories import CustomerFactory

PLAIN = (
    b"First name,Last name,Email\n"
    b"Ann,Lee,ann@example.com\n"
    b"Bob,Day,Bob@Example.com\n"
    b"Cid,Roe,cid@example.com\n"
)


def rejections(job) -> dict[int, str]:
    return dict(ImportRejection.objects.filter(job=job).values_list("line", "reason"))


# A plain spreadsheet


def test_a_plain_spreadsheet_of_names_and_emails_imports_on_the_first_try(marketer):
    job = upload(marketer, PLAIN)

    assert job.mapping == {"0": "first_name", "1": "last_name", "2": "email"}
    job = import_now(job)

    assert (job.status, job.created, job.rejected) == ("done", 3, 0)
    assert sorted(Customer.objects.values_list("email", "external_id")) == [
        ("ann@example.com", None),
        ("bob@example.com", None),
        ("cid@example.com", None),
    ]


def test_importing_the_same_spreadsheet_again_finds_everyone_and_duplicates_no_one(marketer):
    import_now(upload(marketer, PLAIN))

    again = import_now(upload(marketer, PLAIN))
    changed = import_now(upload(marketer, PLAIN.replace(b"Bob,Day", b"Robert,Day")))

    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 2)
    assert Customer.objects.count() == 3
    assert Customer.objects.get(email="bob@example.com").first_name == "Robert"


# E-mail, then phone


def test_rows_match_by_email_then_phone_else_create(marketer):
    by_email = CustomerFactory(external_id="X1", email="ann@example.com", first_name="Ann")
    by_phone = CustomerFactory(email="", first_name="Bob", phone="+14155552671")
    other_person = CustomerFactory(email="cid@example.com", phone="+14155552672")
    content = (
        "First name,E-mail,Phone\n"
        "Annie,ANN@example.com,\n"  # her e-mail, spelt otherwise
        "Bobby,bob@example.com,(415) 555-2671\n"  # no one has this e-mail; his phone
        "Dee,dee@example.com,415 555 2672\n"  # Cid's phone, but Cid has another e-mail
        "Eve,,+1 415 555 2673\n"  # no one
    )

    job = import_now(upload(marketer, content.encode()))

    assert (job.created, job.updated, job.rejected) == (2, 2, 0)
    by_email.refresh_from_db()
    by_phone.refresh_from_db()
    assert (by_email.first_name, by_email.external_id) == ("Annie", "X1")
    assert (by_phone.first_name, by_phone.email) == ("Bobby", "bob@example.com")
    assert Customer.objects.get(email="dee@example.com").phone == "+14155552672"
    assert Customer.objects.get(first_name="Eve").external_id is None
    assert Customer.objects.filter(phone="+14155552672").count() == 2
    other_person.refresh_from_db()
    assert other_person.email == "cid@example.com"


def test_a_phone_number_several_customers_share_is_refused_as_ambiguous(marketer):
    CustomerFactory(phone="+14155552671")
    CustomerFactory(phone="+14155552671")

    job = import_now(upload(marketer, b"first_name,phone\nAnn,+14155552671\n"))

    assert (job.created, job.updated, job.rejected) == (0, 0, 1)
    assert rejections(job) == {
        2: "Column “phone”: Several customers have this phone number: add their e-mail address."
    }


def test_two_rows_about_one_customer_keep_the_first(marketer):
    bob = CustomerFactory(email="", phone="+14155552671")

    job = import_now(
        upload(marketer, b"first_name,phone\nBob,+14155552671\nRobert,(415) 555-2671\n")
    )

    assert (job.updated, job.rejected) == (1, 1)
    assert rejections(job) == {
        3: "Column “phone”: Another row of this batch is about the same customer."
    }
    bob.refresh_from_db()
    assert bob.first_name == "Bob"


def test_deleted_customers_are_not_matched(marketer):
    CustomerFactory(email="ann@example.com", deleted_at=timezone.now())

    job = import_now(upload(marketer, b"first_name,email\nAnn,ann@example.com\n"))

    assert job.created == 1
    assert Customer.objects.filter(email="ann@example.com").count() == 2


def test_rows_with_an_external_id_are_still_found_by_it_alone(marketer):
    CustomerFactory(external_id="X1", email="ann@example.com")

    job = import_now(upload(marketer, b"id,first_name,email\nX2,Ann,ann@example.com\n"))

    assert (job.created, job.updated, job.rejected) == (0, 0, 1)
    assert rejections(job) == {
        2: "Column “email”: Another customer already has this e-mail address."
    }


def test_an_account_manager_matches_only_what_they_may_change(manager, other_manager):
    theirs = CustomerFactory(email="ann@example.com", phone="+14155552671", owner=other_manager)
    mine = CustomerFactory(email="", phone="+14155552672", owner=manager)
    rows = [
        {"first_name": "Ann", "email": "ann@example.com"},
        {"first_name": "Bob", "phone": "+14155552671"},
        {"first_name": "Cid", "phone": "+14155552672"},
    ]

    outcome = sync.upsert_customers(
        rows=rows,
        by=manager,
        refresh_later=tasks.refresh_customers_task.delay,
        require_external_id=False,
    )

    assert outcome.errors == [
        {
            "index": 0,
            "external_id": None,
            "errors": {"email": ["Belongs to a customer you cannot change."]},
        }
    ]
    # Another manager's customer with that phone stays out of sight: a new customer is made.
    assert (outcome.created, outcome.updated) == (1, 1)
    assert Customer.objects.get(first_name="Bob").owner == manager
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.first_name, theirs.first_name) == ("Cid", "Ann")


def test_the_api_sync_still_requires_an_external_id(marketer):
    outcome = sync.upsert_customers(
        rows=[{"email": "ann@example.com"}],
        by=marketer,
        refresh_later=tasks.refresh_customers_task.delay,
    )

    assert outcome.errors[0]["errors"] == {"external_id": ["This field is required."]}
    assert not Customer.objects.exists()


# Separators


@pytest.mark.parametrize(
    ("delimiter", "name"), [("\t", "tab"), (";", "semicolon"), ("|", "pipe"), (",", "comma")]
)
def test_tab_semicolon_and_pipe_files_are_detected(marketer, delimiter, name):
    rows = [
        ["First name", "E-mail", "Company", "Consent e-mail"],
        ["Ann", "ann@example.com", "Lee, Smith & Co", "yes"],
    ]
    if delimiter == ",":
        rows[1][2] = '"Lee, Smith & Co"'
    content = "".join(delimiter.join(row) + "\n" for row in rows)

    job = upload(marketer, content.encode())

    assert job.delimiter == delimiter
    assert imports.DELIMITERS[job.delimiter] == name
    assert job.header == rows[0]
    job = import_now(job)
    ann = Customer.objects.get()
    assert (job.created, ann.account.name, ann.consent_email) == (1, "Lee, Smith & Co", True)


def test_the_upload_form_offers_tab_and_pipe(client, marketer):
    client.force_login(marketer)

    page = client.get("/imports/").content.decode()
    response = client.post(
        "/imports/",
        {"file": SimpleUploadedFile("x.txt", b"a|b\tc\nA|x\ty\n"), "delimiter": "\t"},
    )

    assert '<option value="\t">Tab</option>' in page
    assert '<option value="|">Pipe (|)</option>' in page
    assert response.status_code == 302
    assert imports.job_for(marketer, int(response["Location"].split("/")[2])).header == [
        "a|b",
        "c",
    ]


# Fields people's files carry


def test_a_tier_column_puts_customers_on_that_rung_by_hand_and_says_so(marketer):
    client_tier = Tier.objects.get(slug="client")
    moved = CustomerFactory(email="ann@example.com")
    content = "Name,Email,Tier\nAnn,ann@example.com,client\nBob,bob@example.com,Repeat customer\n"

    job = upload(marketer, content.encode())
    assert job.mapping["2"] == "tier"
    job = import_now(job)

    assert (job.created, job.updated, job.rejected) == (1, 1, 0)
    moved.refresh_from_db()
    bob = Customer.objects.get(email="bob@example.com")
    assert (moved.tier, moved.highest_tier) == (client_tier, client_tier)
    assert bob.tier.slug == "repeat"
    assert moved.manual_tier_until is not None  # the nightly rules leave it be for a while
    change = TierChange.objects.get(customer=moved)
    assert (change.rule, change.changed_by, change.direction) == ("import", marketer, "up")
    assert change.reason == f"set by CSV import {job.filename}"
    assert moved.timeline.filter(kind="tier").get().title.startswith("Moved up to Client")

    again = import_now(upload(marketer, content.encode()))
    assert (again.updated, again.unchanged) == (0, 2)
    assert TierChange.objects.count() == 2


def test_an_unknown_tier_is_refused_by_the_check_and_the_import(marketer):
    job = upload(marketer, b"Name,Email,Tier\nAnn,ann@example.com,Platinum\n")

    check = import_check.check_import(job=job)
    job = import_now(job)

    reason = (
        "Column “Tier”: “Platinum” is not a tier of the ladder: Prospect, First-time customer, "
        "Repeat customer, Client, Advocate, Raving fan."
    )
    assert [r.reason for r in check.first_refused] == [reason]
    assert rejections(job) == {2: reason}
    assert not Customer.objects.exists()


def test_consent_per_channel_and_owner_can_be_mapped(marketer, manager):
    content = (
        "Email,SMS consent,Phone consent,Letter consent,Account manager\n"
        "ann@example.com,yes,no,1,manager\n"
    )

    job = upload(marketer, content.encode())
    assert list(job.mapping.values()) == [
        "email",
        "consent_sms",
        "consent_phone",
        "consent_letter",
        "owner",
    ]
    import_now(job)

    ann = Customer.objects.get()
    assert ann.consents() == {"email": False, "sms": True, "phone": False, "letter": True}
    assert ann.owner == manager


def test_the_api_sync_does_not_take_a_tier(marketer):
    outcome = sync.upsert_customers(
        rows=[{"external_id": "A1", "email": "ann@example.com", "tier": "client"}],
        by=marketer,
        refresh_later=tasks.refresh_customers_task.delay,
    )

    assert outcome.errors[0]["errors"] == {"tier": ["Unknown field."]}
