"""CSV import: nasty files refused or read right, the mapping, the run, pages and access."""

import csv
import io
import re
import time
import tracemalloc

import pytest
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from customers import imports, sync, tasks
from customers.models import Customer, ImportChunk, ImportJob, ImportRejection

GOOD_AND_BAD = (
    b"External ID,First name,Last name,E-mail,Consent e-mail\n"
    b"A1,Ann,Lee,ann@example.com,yes\n"
    b'A2,"=HYPERLINK(""http://evil.example"",""click"")",Bad,not-an-email,no\n'
    b"A3,Bob,Day,bob@example.com,0\n"
    b"A4,Cid,Roe,cid@example.com,maybe\n"
)


def upload(by, content: bytes, name: str = "customers.csv", delimiter: str = "") -> ImportJob:
    return imports.store_upload(
        upload=SimpleUploadedFile(name, content, "text/csv"), by=by, delimiter=delimiter
    )


def import_now(job: ImportJob, mapping: dict[str, str] | None = None) -> ImportJob:
    """Map (as suggested unless told) and run the import in this process."""
    imports.set_mapping(job=job, mapping=mapping or job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    return imports.run_import(job_id=job.pk, refresh_later=tasks.refresh_customers_task.delay)


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


# Nasty files


def test_a_bom_and_semicolons_are_read(marketer):
    content = "\ufeffExternal ID;First name;E-mail;Consent e-mail\nS1;Zoë;zoe@example.com;yes\n"

    job = upload(marketer, content.encode())

    assert job.delimiter == ";"
    assert job.encoding == "UTF-8 with BOM"
    assert job.header == ["External ID", "First name", "E-mail", "Consent e-mail"]
    assert job.total_rows == 1
    job = import_now(job)
    zoe = Customer.objects.get(external_id="S1")
    assert (job.status, job.created) == ("done", 1)
    assert (zoe.first_name, zoe.email, zoe.consent_email) == ("Zoë", "zoe@example.com", True)


def test_a_semicolon_file_with_decimal_commas_keeps_its_amounts(marketer):
    content = "id;email;wallet\nW1;w@example.com;1234,50\n"

    job = import_now(upload(marketer, content.encode()))

    assert job.created == 1
    assert str(Customer.objects.get(external_id="W1").estimated_wallet) == "1234.50"


def test_the_delimiter_can_be_told_when_detection_would_guess_wrong(marketer):
    content = b"Ref;Name, first;Name, last;E-mail, work\nT1;Ann;Lee;t@example.com\n"

    guessed = upload(marketer, content)
    told = upload(marketer, content, delimiter=";")

    assert guessed.delimiter == ","
    assert (told.delimiter, told.header) == (
        ";",
        ["Ref", "Name, first", "Name, last", "E-mail, work"],
    )


def test_a_latin1_file_is_refused_at_upload_with_a_clear_message(client, marketer):
    content = "external_id,first_name\nL1,Ann\nL2,Ren\xe9e\n".encode("latin-1")
    client.force_login(marketer)

    response = client.post(
        "/imports/", {"file": SimpleUploadedFile("latin1.csv", content, "text/csv")}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "This file is not UTF-8 text: line 3 has a byte (0xE9)" in page
    assert "CSV UTF-8" in page
    assert not ImportJob.objects.exists()
    assert not ImportChunk.objects.exists()


def test_a_utf16_file_is_refused_too(marketer):
    with pytest.raises(ValidationError, match="not UTF-8"):
        upload(marketer, "external_id,email\nU1,u@example.com\n".encode("utf-16"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"\n\nexternal_id\n", "The file is empty"),
        (b"external_id,email\n", "no rows under it"),
        (b"external_id,email\n\n  \n", "no rows under it"),
        (b'external_id,notes\nQ1,"an open quote' + b"x" * 140_000 + b"\n", "Is a quote left open"),
    ],
)
def test_files_with_nothing_to_import_are_refused(marketer, content, message):
    with pytest.raises(ValidationError, match=message):
        upload(marketer, content)
    assert not ImportJob.objects.exists()


def test_quoted_newlines_stay_in_their_cell_and_rows_keep_their_numbers(marketer):
    content = (
        "external_id,first_name,postal_address,email\r\n"
        'N1,Ann,"12 Main Street\r\nSpringfield",ann@example.com\r\n'
        '"N2","Bob ""the builder""","1 High St\nLevel 2\nFlat 3",bob@example.com\r\n'
        "\r\n"
        "N3,Cid,,broken\r\n"
    )

    job = import_now(upload(marketer, content.encode()))

    assert (job.total_rows, job.created, job.rejected) == (3, 2, 1)
    assert Customer.objects.get(external_id="N1").postal_address == "12 Main Street\r\nSpringfield"
    bob = Customer.objects.get(external_id="N2")
    assert (bob.first_name, bob.postal_address) == (
        'Bob "the builder"',
        "1 High St\nLevel 2\nFlat 3",
    )
    # The header is row 1 and the blank row counts, as a spreadsheet numbers them.
    assert ImportRejection.objects.get(job=job).line == 5


def test_chunk_boundaries_split_nothing(marketer, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_BYTES", 3)
    content = (
        '\ufeffexternal_id;first_name;postal_address;email\r\nB1;Élodie;"Rue de l’Été\r\n'
        '2e étage";elodie@example.com\r\nB2;Søren;;soren@example.com\r\n'
    )

    job = import_now(upload(marketer, content.encode()))

    assert ImportChunk.objects.filter(job=job).count() == 0  # a done import drops its file
    assert (job.created, job.rejected) == (2, 0)
    elodie = Customer.objects.get(external_id="B1")
    assert (elodie.first_name, elodie.postal_address) == ("Élodie", "Rue de l’Été\r\n2e étage")


def test_the_upload_is_kept_in_chunks_in_the_database(marketer, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_BYTES", 10)
    content = b"external_id,email\n" + b"".join(b"C%d,c%d@example.com\n" % (n, n) for n in range(5))

    job = upload(marketer, content)

    chunks = list(
        ImportChunk.objects.filter(job=job).order_by("seq").values_list("data", flat=True)
    )
    assert len(chunks) == len(content) // 10 + 1
    assert b"".join(bytes(chunk) for chunk in chunks) == content
    assert (job.size, job.total_rows) == (len(content), 5)


# The mapping


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["E-mail"], ["email"]),
        (["email address"], ["email"]),
        (["Email Address", "E-Mail"], ["ignore", "email"]),
        (["First Name", "Surname", "Company"], ["first_name", "last_name", "account"]),
        (["Customer ID", "Mobile", "Time zone"], ["external_id", "phone", "timezone"]),
        (["id", "external_id"], ["ignore", "external_id"]),
        (["consent_sms", "Letter consent"], ["consent_sms", "consent_letter"]),
        (["Notes", ""], ["ignore", "ignore"]),
    ],
)
def test_the_mapping_is_suggested_from_the_header(header, expected):
    mapping = imports.suggest_mapping(header=header)

    assert [mapping[str(i)] for i in range(len(header))] == expected


def test_a_mapping_without_external_id_starts_the_import(client, marketer):
    # Issue #16: rows without an external id are matched by e-mail, then phone (see
    # test_import_matching.py); the mapping no longer asks for one.
    job = upload(marketer, b"Name,E-mail\nAnn,ann@example.com\n")
    client.force_login(marketer)

    response = client.post(
        f"/imports/{job.pk}/start/", {"column-0": "first_name", "column-1": "email"}
    )

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "running"


def test_a_mapping_without_a_name_or_email_is_refused(client, marketer):
    job = upload(marketer, b"ref,phone\nR1,+14155552671\n")
    client.force_login(marketer)

    response = client.post(f"/imports/{job.pk}/", {"column-0": "external_id", "column-1": "phone"})

    assert response.status_code == 400
    assert "First name, Last name or E-mail" in response.content.decode()


def test_a_field_chosen_twice_is_refused():
    errors = imports.mapping_errors(
        header=["id", "mail", "mail2"], mapping={"0": "external_id", "1": "email", "2": "email"}
    )

    assert errors == ["E-mail is chosen for both column “mail” and “mail2”."]


def test_the_mapping_page_previews_the_first_rows_checked(client, marketer):
    rows = "".join(f"P{n},Name{n},p{n}@example.com\n" for n in range(7))
    job = upload(marketer, f"ID,First name,Email\nP9,X,not-an-email\n{rows}".encode())
    client.force_login(marketer)

    response = client.get(f"/imports/{job.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<option value="email" selected>' in page
    assert page.count('<td class="num">') == 5
    assert "Column “Email”: Enter a valid email address." in page
    assert page.count("Looks good") == 4
    assert "P5" not in page


def test_checking_a_mapping_saves_it(client, marketer):
    job = upload(marketer, b"ID,Who,Email\nP1,Ann,ann@example.com\n")
    client.force_login(marketer)

    response = client.post(
        f"/imports/{job.pk}/", {"column-0": "external_id", "column-1": "last_name"}
    )

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.mapping == {"0": "external_id", "1": "last_name", "2": "ignore"}
    assert job.status == "mapped"


# The run


def test_bad_rows_are_rejected_with_why_and_good_ones_land(marketer):
    job = import_now(upload(marketer, GOOD_AND_BAD))

    assert (job.status, job.processed_rows, job.total_rows) == ("done", 4, 4)
    assert (job.created, job.updated, job.unchanged, job.rejected) == (2, 0, 0, 2)
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"A1", "A3"}
    assert Customer.objects.get(external_id="A1").consent_email is True
    reasons = dict(ImportRejection.objects.filter(job=job).values_list("line", "reason"))
    assert reasons == {
        3: "Column “E-mail”: Enter a valid email address.",
        5: "Column “Consent e-mail”: “maybe” is not yes, no, true, false, 1 or 0.",
    }


def test_rows_of_the_wrong_width_and_unknown_owners_are_rejected(marketer):
    content = (
        "external_id,email,owner,notes\n"
        "W1,w1@example.com,nobody,x\n"
        "W2,w2@example.com\n"
        "W3,w3@example.com,,x,,\n"
        "W4,w4@example.com,,x,oops\n"
    )

    job = import_now(upload(marketer, content.encode()))

    reasons = dict(ImportRejection.objects.filter(job=job).values_list("line", "reason"))
    assert reasons == {
        2: "Column “owner”: No user “nobody”.",
        3: "This row has 2 cells where the header has 4 (a separator or a quote out of place?).",
        5: "This row has 5 cells where the header has 4 (a separator or a quote out of place?).",
    }
    assert job.created == 1  # trailing empty cells are harmless


def test_a_second_import_updates_and_leaves_unchanged_and_empty_cells_keep_values(marketer):
    import_now(
        upload(
            marketer,
            b"id,first_name,email,phone\nU1,Ann,ann@example.com,+14155552671\n"
            b"U2,Bob,bob@example.com,\n",
        )
    )

    job = import_now(
        upload(marketer, b"id,first_name,email,phone\nU1,Ann,ann@example.com,\nU2,Robert,,\n")
    )

    assert (job.created, job.updated, job.unchanged, job.rejected) == (0, 1, 1, 0)
    ann, bob = Customer.objects.order_by("external_id")
    assert ann.phone == "+14155552671"
    assert (bob.first_name, bob.email) == ("Robert", "bob@example.com")


def test_the_rejected_rows_download_escapes_formulas_and_says_why(client, marketer):
    job = import_now(upload(marketer, GOOD_AND_BAD))
    client.force_login(marketer)

    response = client.get(f"/imports/{job.pk}/rejected.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == [
        "row",
        "why",
        "External ID",
        "First name",
        "Last name",
        "E-mail",
        "Consent e-mail",
    ]
    assert rows[1] == [
        "3",
        "Column “E-mail”: Enter a valid email address.",
        "A2",
        '\'=HYPERLINK("http://evil.example","click")',
        "Bad",
        "not-an-email",
        "no",
    ]
    assert rows[2][0] == "5"
    assert len(rows) == 3


def test_running_a_done_import_again_does_nothing(marketer):
    job = import_now(upload(marketer, GOOD_AND_BAD))

    again = imports.run_import(job_id=job.pk, refresh_later=tasks.refresh_customers_task.delay)

    assert (again.status, again.created, again.rejected) == ("done", 2, 2)
    assert ImportRejection.objects.filter(job=job).count() == 2


def test_an_import_left_running_by_a_dead_worker_goes_on_where_it_stood(marketer, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)
    job = upload(marketer, GOOD_AND_BAD)
    imports.set_mapping(job=job, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    real_upsert = sync.upsert_customers
    calls = []

    def dies_on_the_second_batch(**kwargs):
        calls.append(kwargs["rows"])
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker process is killed mid-batch
        return real_upsert(**kwargs)

    monkeypatch.setattr(sync, "upsert_customers", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        imports.run_import(job_id=job.pk, refresh_later=tasks.refresh_customers_task.delay)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created, job.rejected) == ("running", 2, 1, 1)

    monkeypatch.setattr(sync, "upsert_customers", real_upsert)
    job = imports.run_import(job_id=job.pk, refresh_later=tasks.refresh_customers_task.delay)

    assert (job.status, job.processed_rows) == ("done", 4)
    assert (job.created, job.updated, job.unchanged, job.rejected) == (2, 0, 0, 2)
    assert ImportRejection.objects.filter(job=job).count() == 2


def test_a_batch_another_run_already_took_is_left_to_it(marketer):
    job = upload(marketer, GOOD_AND_BAD)
    imports.set_mapping(job=job, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, processed_rows=2)
    job.refresh_from_db()

    with pytest.raises(imports._SupersededError):
        imports._import_batch(
            job,
            [(2, ["A1", "Ann", "Lee", "ann@example.com", "yes"])],
            done=0,
            refresh_later=tasks.refresh_customers_task.delay,
        )

    assert not Customer.objects.exists()


def test_a_failure_is_shown_on_the_job_and_resume_goes_on(
    client, marketer, monkeypatch, django_capture_on_commit_callbacks
):
    job = upload(marketer, GOOD_AND_BAD)
    imports.set_mapping(job=job, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    monkeypatch.setattr(sync, "upsert_customers", lambda **kwargs: 1 / 0)
    job = imports.run_import(job_id=job.pk, refresh_later=tasks.refresh_customers_task.delay)
    assert (job.status, job.processed_rows) == ("failed", 0)
    client.force_login(marketer)
    assert "the worker&#x27;s log has the details" in client.get(f"/imports/{job.pk}/result/").text
    monkeypatch.undo()

    queued = []
    monkeypatch.setattr(
        "customers.tasks.import_customers_task.delay", lambda job_id: queued.append(job_id)
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{job.pk}/start/")

    assert response.status_code == 302
    assert queued == [job.pk]
    job = imports.run_import(job_id=job.pk, refresh_later=tasks.refresh_customers_task.delay)
    assert (job.status, job.created, job.rejected) == ("done", 2, 2)


# Pages and who may use them


def test_the_imports_page_says_what_to_do_when_there_are_none(client, marketer):
    client.force_login(marketer)

    response = client.get("/imports/")

    assert response.status_code == 200
    assert "No imports yet. Upload a CSV file above" in response.content.decode()


def test_the_imports_page_lists_recent_imports(client, marketer, admin_user):
    upload(admin_user, GOOD_AND_BAD, name="spring-fair.csv")
    client.force_login(marketer)

    response = client.get("/imports/")

    assert "spring-fair.csv" in response.content.decode()


def test_uploading_leads_to_the_mapping_page(client, marketer):
    client.force_login(marketer)

    response = client.post(
        "/imports/", {"file": SimpleUploadedFile("list.csv", GOOD_AND_BAD), "delimiter": ""}
    )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{job.pk}/"
    assert (job.filename, job.created_by, job.total_rows) == ("list.csv", marketer, 4)


def test_the_progress_fragment_has_a_progress_bar_and_polls_while_running(client, marketer):
    running = upload(marketer, GOOD_AND_BAD)
    ImportJob.objects.filter(pk=running.pk).update(status="running", processed_rows=1)
    done = import_now(upload(marketer, GOOD_AND_BAD))
    client.force_login(marketer)

    while_running = client.get(f"/imports/{running.pk}/progress/").text
    once_done = client.get(f"/imports/{done.pk}/progress/").text

    assert '<progress id="import-bar" max="4" value="1">' in while_running
    assert "1 of 4 rows (25 %)" in while_running
    assert 'hx-trigger="every 1s"' in while_running
    assert "hx-trigger" not in once_done
    assert "<dt>Created</dt><dd>2</dd>" in once_done
    assert f'href="/imports/{done.pk}/rejected.csv"' in once_done


def test_a_double_click_on_start_queues_the_import_once(
    client, marketer, monkeypatch, django_capture_on_commit_callbacks
):
    job = upload(marketer, GOOD_AND_BAD)
    mapping = {f"column-{index}": field for index, field in job.mapping.items()}
    queued = []
    monkeypatch.setattr(
        "customers.tasks.import_customers_task.delay", lambda job_id: queued.append(job_id)
    )
    client.force_login(marketer)

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/imports/{job.pk}/start/", mapping)
        second = client.post(f"/imports/{job.pk}/start/", mapping, follow=True)

    assert first["Location"] == f"/imports/{job.pk}/result/"
    assert second.redirect_chain == [(f"/imports/{job.pk}/result/", 302)]
    assert "already running or done" in second.text
    assert queued == [job.pk]


def test_imports_are_for_marketers_and_admins(client, manager, marketer):
    job = upload(marketer, GOOD_AND_BAD)
    client.force_login(manager)

    for url in (
        "/imports/",
        f"/imports/{job.pk}/",
        f"/imports/{job.pk}/progress/",
        f"/imports/{job.pk}/result/",
        f"/imports/{job.pk}/rejected.csv",
    ):
        assert client.get(url).status_code == 403, url
    upload_file = SimpleUploadedFile("x.csv", GOOD_AND_BAD)
    assert client.post("/imports/", {"file": upload_file}).status_code == 403
    assert client.post(f"/imports/{job.pk}/start/").status_code == 403
    assert ImportJob.objects.count() == 1


def test_a_job_is_visible_to_its_creator_and_marketers_only(marketer, manager, admin_user):
    job = ImportJob.objects.create(created_by=manager, filename="old.csv")

    assert list(imports.visible_jobs(manager)) == [job]
    assert list(imports.visible_jobs(admin_user)) == [job]
    assert list(imports.visible_jobs(marketer)) == [job]
    stranger = type(manager).objects.create_user("stranger")
    assert list(imports.visible_jobs(stranger)) == []


def test_uploading_needs_the_csrf_token(marketer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)

    response = client.post("/imports/", {"file": SimpleUploadedFile("x.csv", GOOD_AND_BAD)})

    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/imports/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# Through a real worker, and at size


@pytest.mark.slow
def test_an_import_runs_in_a_worker_with_progress_and_a_result(
    transactional_db, marketer, celery_worker_process
):
    client = Client()
    client.force_login(marketer)
    response = client.post("/imports/", {"file": SimpleUploadedFile("fair.csv", GOOD_AND_BAD)})
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/"

    mapping = {f"column-{index}": field for index, field in job.mapping.items()}
    response = client.post(f"/imports/{job.pk}/start/", mapping)
    assert response["Location"] == f"/imports/{job.pk}/result/"
    deadline = time.monotonic() + 60
    while "<h2>Done</h2>" not in (fragment := client.get(f"/imports/{job.pk}/progress/").text):
        assert time.monotonic() < deadline, "".join(celery_worker_process.log)
        time.sleep(0.2)

    job.refresh_from_db()
    assert (job.status, job.created, job.updated, job.unchanged, job.rejected) == (
        "done",
        2,
        0,
        0,
        2,
    )
    assert "<dt>Created</dt><dd>2</dd>" in fragment
    assert "<dt>Rejected</dt><dd>2</dd>" in fragment
    result = client.get(f"/imports/{job.pk}/result/").text
    assert "Download the 2 rejected rows" in result
    rows = read_csv(client.get(f"/imports/{job.pk}/rejected.csv"))
    assert [row[:3] for row in rows[1:]] == [
        ["3", "Column “E-mail”: Enter a valid email address.", "A2"],
        ["5", "Column “Consent e-mail”: “maybe” is not yes, no, true, false, 1 or 0.", "A4"],
    ]
    assert rows[1][3].startswith("'=HYPERLINK(")
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"A1", "A3"}
    # Twice queued is still once imported.
    from customers.tasks import import_customers_task

    import_customers_task.apply(args=[job.pk])
    job.refresh_from_db()
    assert (job.created, job.rejected) == (2, 2)


# Bounded memory, shown at a fifth of the size it was shown at (100,000 rows, batches of 1,000
# rows, 1 MiB chunks, 50 MB): a fifth of the rows, read in chunks and written in batches a fifth
# of the product's, against a fifth of the ceiling. What the import holds at once scales with
# the batch and chunk, so the ceiling does too; holding every row (far more than 500 bytes each
# as objects) would pass it many times over, at either size.
SCALE = 5
ROWS = 100_000 // SCALE
BATCH_ROWS = imports.BATCH_ROWS // SCALE
CHUNK_BYTES = imports.CHUNK_BYTES // SCALE
CEILING = 50e6 / SCALE


def resident_kib(field: str) -> int | None:
    """VmRSS or VmHWM (the peak since the last reset) of this process, on Linux."""
    try:
        with open("/proc/self/status") as status:
            return int(re.search(rf"{field}:\s+(\d+)", status.read()).group(1))
    except (OSError, AttributeError):
        return None


def reset_peak_resident() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # Linux: VmHWM starts again from the current size
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_a_big_file_imports_without_holding_it_in_memory(marketer, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", BATCH_ROWS)
    monkeypatch.setattr(imports, "CHUNK_BYTES", CHUNK_BYTES)
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Customer ID", "First name", "Last name", "E-mail", "Audience", "City"])
        for n in range(ROWS):
            email = f"person{n}@example.com" if n % 1000 else "broken"
            writer.writerow([f"X{n}", f"First{n}", f"Last{n}", email, "retail", "Lyon\nFrance"])
    size = path.stat().st_size

    # The upload reads every byte once: traced, it shows nothing of the file is kept.
    tracemalloc.start()
    with path.open("rb") as handle:
        job = imports.store_upload(upload=File(handle, name="big.csv"), by=marketer)
    _, upload_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The import is timed untraced (tracing makes it several times slower); its memory is
    # the process's resident high-water mark, which counts the database driver's too.
    measured = reset_peak_resident()
    resident_before = resident_kib("VmRSS")
    started = time.perf_counter()
    job = import_now(job)
    elapsed = time.perf_counter() - started
    import_peak = (resident_kib("VmHWM") - resident_before) * 1024 if measured else None

    print(
        f"\n{ROWS:,} rows ({size / 1e6:.1f} MB): upload peak {upload_peak / 1e6:.1f} MB traced; "
        f"import {elapsed:.1f} s, {ROWS / elapsed:,.0f} rows/s, resident growth "
        f"{import_peak / 1e6 if import_peak is not None else float('nan'):.1f} MB"
    )
    assert (job.status, job.total_rows, job.processed_rows) == ("done", ROWS, ROWS)
    assert (job.created, job.rejected) == (ROWS - ROWS // 1000, ROWS // 1000)
    assert Customer.objects.count() == ROWS - ROWS // 1000
    assert upload_peak < CEILING
    if import_peak is not None:
        assert import_peak < CEILING
