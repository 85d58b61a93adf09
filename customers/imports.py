"""CSV in: uploads kept in the database, column mapping and the import run (exports.py: out).

An upload is stored as ~1 MB chunks in the database (web processes and workers share no disk)
and is only ever read back as a stream: chunks -> incrementally decoded UTF-8 lines -> csv rows
-> batches of 1,000 through `sync.upsert_customers`, the API's own upsert. A file of any
length never sits in memory as rows.
"""

import codecs
import csv
import io
import itertools
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from customers import exports, queries, sync
from customers.import_rows import IGNORE, _reason, row_of, topics_by_name
from customers.languages import speaking_to_staff
from customers.models import ImportChunk, ImportJob, ImportRejection

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
BATCH_ROWS = 1000
# SQLite has one writer at a time and its waiting writers poll rather than queue: an import that
# began its next batch at once would starve sign-ins and beat. Pausing this long after each
# commit lets them in (the busy handler polls at most every 100 ms).
SQLITE_PAUSE_SECONDS = 0.25
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_COLUMNS = 200
# A running job whose progress has not moved for this long may be resumed by hand.
STALLED_AFTER = timedelta(minutes=10)
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
FIELD_LABELS = {
    "external_id": "External ID",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "E-mail",
    "phone": "Phone",
    "account": "Account (company name)",
    "audience": "Audience",
    "relationship": "Relationship",
    "partner_kind": "Partner kind",
    "owner": "Owner (username)",
    "timezone": "Time zone",
    "preferred_channel": "Preferred channel",
    "language": "Language (en, de, es)",
    "estimated_wallet": "Estimated wallet",
    "tier": "Tier (name or slug)",
    "postal_address": "Postal address",
    "referral_code": "Referral code (a new customer's)",
    "topics": "Topics (names, ;-separated)",
    "frequency": "Frequency (as usual / less often)",
    "consent_email": "Consent: e-mail",
    "consent_sms": "Consent: SMS",
    "consent_phone": "Consent: phone",
    "consent_letter": "Consent: letter",
}
FIELDS = tuple(FIELD_LABELS)
NAME_FIELDS = ("first_name", "last_name", "email")
# Header names people use for each field, besides the field's own name.
SYNONYMS = {
    "external_id": [
        "id",
        "external id",
        "customer id",
        "customer number",
        "client id",
        "contact id",
        "crm id",
        "reference",
        "ref",
    ],
    "first_name": ["first", "firstname", "given name", "forename", "prenom", "vorname"],
    "last_name": ["last", "lastname", "surname", "family name", "nom", "nachname"],
    "email": ["e-mail", "mail", "email address", "e-mail address", "mail address"],
    "phone": ["telephone", "phone number", "tel", "mobile", "mobile phone", "cell", "cell phone"],
    "account": [
        "company",
        "company name",
        "account name",
        "organisation",
        "organization",
        "employer",
    ],
    "audience": ["segment", "customer type"],
    "relationship": ["relation", "relationship type"],
    "partner_kind": ["partner type"],
    "owner": ["account manager", "owner username", "manager"],
    "timezone": ["time zone", "tz"],
    "preferred_channel": ["channel", "preferred contact method", "contact method"],
    "language": ["lang", "locale", "preferred language", "sprache", "idioma"],
    "estimated_wallet": ["wallet", "wallet size"],
    "tier": ["level", "loyalty tier", "loyalty level", "rung"],
    "postal_address": ["address", "mailing address", "postal", "street address"],
    "referral_code": ["referral", "referral id"],
    "topics": ["topic", "interests", "subscriptions", "news topics"],
    "frequency": ["how often", "contact frequency"],
    "consent_email": ["email consent", "email opt in", "e-mail consent", "newsletter"],
    "consent_sms": ["sms consent", "sms opt in", "text consent"],
    "consent_phone": ["phone consent", "call consent"],
    "consent_letter": ["letter consent", "mail consent", "post consent"],
}


class Upload(Protocol):
    """What store_upload needs of a file: Django's UploadedFile and File both have it."""

    name: str | None
    size: int | None

    def seek(self, offset: int) -> int: ...

    def read(self, size: int = -1) -> bytes: ...


class NotUtf8Error(ValueError):
    """The bytes are not UTF-8 text; `line` is the physical line of the first bad byte."""

    def __init__(self, *, line: int, byte: int):
        super().__init__(
            gettext(
                "This file is not UTF-8 text: line %(line)s has a byte (%(byte)s) that UTF-8 "
                "does not allow. In Excel save it as “CSV UTF-8”; in LibreOffice pick the "
                "“Unicode (UTF-8)” character set; then upload it again."
            )
            % {"line": line, "byte": f"0x{byte:02X}"}
        )


class _SupersededError(Exception):
    """Another run of the same job has moved it on; this run stops."""


def _compact(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.casefold())


_BY_OWN_NAME = {_compact(field): field for field in FIELDS}
_BY_SYNONYM = {_compact(name): field for field, names in SYNONYMS.items() for name in names}


def suggest_mapping(*, header: list[str]) -> dict[str, str]:
    """Guess each column's field from its name ("E-mail", "email address" -> email)."""
    mapping = {str(index): IGNORE for index in range(len(header))}
    taken: set[str] = set()
    # A column named exactly like a field wins over one that only resembles it.
    for names in (_BY_OWN_NAME, _BY_SYNONYM):
        for index, name in enumerate(header):
            field = names.get(_compact(name))
            if field and field not in taken and mapping[str(index)] == IGNORE:
                mapping[str(index)] = field
                taken.add(field)
    return mapping


def mapping_errors(*, header: list[str], mapping: dict[str, str]) -> list[str]:
    """What is wrong with a mapping: unknown fields, a field twice, required fields missing."""
    errors = []
    seen: dict[str, str] = {}
    for index, name in enumerate(header):
        field = mapping.get(str(index), IGNORE)
        if field == IGNORE:
            continue
        if field not in FIELD_LABELS:
            errors.append(f"Column “{name}”: “{field}” is not a field customers have.")
        elif field in seen:
            errors.append(
                f"{FIELD_LABELS[field]} is chosen for both column “{seen[field]}” and “{name}”."
            )
        else:
            seen[field] = name
    if not set(NAME_FIELDS) & set(seen):
        errors.append(
            "Map a column to First name, Last name or E-mail: a customer needs one of them."
        )
    return errors


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text (with or without a BOM) split into lines as csv wants them (newline="")."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    newlines = 0
    rest = ""
    for chunk in chunks:
        try:
            decoded = decoder.decode(chunk)
        except UnicodeDecodeError as error:
            line = newlines + error.object[: error.start].count(b"\n") + 1
            raise NotUtf8Error(line=line, byte=error.object[error.start]) from error
        newlines += decoded.count("\n")
        last = None
        for line in io.StringIO(rest + decoded, newline=""):
            if last is not None:
                yield last
            last = line
        # The last line may go on in the next chunk (even a "\r" may be half of "\r\n").
        rest = ""
        if last is not None:
            if last.endswith("\n"):
                yield last
            else:
                rest = last
    try:
        rest += decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise NotUtf8Error(line=newlines + 1, byte=error.object[error.start]) from error
    if rest:
        yield from io.StringIO(rest, newline="")


def _guess_delimiter(first_line: str) -> str:
    """The separator the header row uses most; a tie goes to the one listed first (comma)."""
    return max(DELIMITERS, key=first_line.count)


def _parse(lines: Iterator[str], *, delimiter: str) -> tuple[list[str], Iterator]:
    """The header and an iterator of (row number, cells) of the non-blank rows after it.

    Rows are numbered as a spreadsheet shows them: the header is 1, blank rows count, and a
    row whose quoted cells hold line breaks is still one row.
    """
    reader = csv.reader(lines, delimiter=delimiter)
    header = [cell.strip() for cell in next(reader, [])]
    records = (
        (number, cells)
        for number, cells in enumerate(reader, start=2)
        if any(cell.strip() for cell in cells)
    )
    return header, records


def _stored_chunks(job: ImportJob) -> Iterator[bytes]:
    """The uploaded file's bytes, one stored chunk (one query) at a time."""
    for seq in itertools.count():
        data = (
            ImportChunk.objects.filter(job_id=job.pk, seq=seq)
            .values_list("data", flat=True)
            .first()
        )
        if data is None:
            return
        yield bytes(data)


def job_rows(job: ImportJob) -> tuple[list[str], Iterator]:
    """The stored file's header and its (row number, cells), read as the job's delimiter says."""
    return _parse(_lines(_stored_chunks(job)), delimiter=job.delimiter)


def store_upload(*, upload: Upload, by: AbstractBaseUser, delimiter: str = "") -> ImportJob:
    """Keep an uploaded CSV file in the database in chunks, after reading it through once.

    The one pass checks that it is UTF-8 text, finds the delimiter (unless given), reads the
    header and counts the rows, so a bad file is refused now, not halfway through an import.
    """
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            gettext("The file is over %(size)s MB: split it in parts.")
            % {"size": MAX_UPLOAD_BYTES // 1024 // 1024}
        )
    if delimiter and delimiter not in DELIMITERS:
        raise ValidationError(
            gettext("The delimiter must be a comma, a semicolon, a tab or a pipe.")
        )
    with transaction.atomic():
        job = ImportJob.objects.create(created_by=by, filename=(upload.name or "upload.csv")[:255])
        size = 0
        has_bom = False

        def stored() -> Iterator[bytes]:
            nonlocal size, has_bom
            upload.seek(0)
            # read() rather than chunks(): an in-memory upload would come as one piece.
            for seq, data in enumerate(iter(lambda: upload.read(CHUNK_BYTES), b"")):
                if seq == 0:
                    has_bom = data.startswith(codecs.BOM_UTF8)
                ImportChunk.objects.create(job=job, seq=seq, data=data)
                size += len(data)
                yield data

        lines = _lines(stored())
        try:
            first = next(lines, None)
            if first is None or not first.strip():
                raise ValidationError(
                    gettext("The file is empty: its first row must name the columns.")
                )
            job.delimiter = delimiter or _guess_delimiter(first)
            header, records = _parse(itertools.chain([first], lines), delimiter=job.delimiter)
            if len(header) > MAX_COLUMNS:
                raise ValidationError(
                    ngettext(
                        "The file has %(count)s column; at most %(limit)s.",
                        "The file has %(count)s columns; at most %(limit)s.",
                        len(header),
                    )
                    % {"count": len(header), "limit": MAX_COLUMNS}
                )
            total = sum(1 for _ in records)
        except NotUtf8Error as error:
            raise ValidationError(str(error), code="encoding") from error
        except csv.Error as error:
            raise ValidationError(
                gettext("This file cannot be read as CSV (%(error)s). Is a quote left open?")
                % {"error": error}
            ) from error
        if not total:
            raise ValidationError(gettext("The file has a header row but no rows under it."))
        job.size = size
        job.encoding = "UTF-8 with BOM" if has_bom else "UTF-8"
        job.header = header
        job.mapping = suggest_mapping(header=header)
        job.total_rows = total
        job.save()
    return job


def visible_jobs(user: AbstractBaseUser) -> QuerySet[ImportJob]:
    """Imports the user may see: their own, or everyone's for marketers and admins."""
    jobs = ImportJob.objects.select_related("created_by")
    return jobs if queries.sees_everyone(user) else jobs.filter(created_by_id=user.pk)


def job_for(user: AbstractBaseUser, pk: int) -> ImportJob:
    """One import the user may see, or 404."""
    return get_object_or_404(visible_jobs(user), pk=pk)


def set_mapping(*, job: ImportJob, mapping: dict[str, str]) -> ImportJob:
    """Save which field each column fills; refused when a required field has no column."""
    wanted = {str(index): mapping.get(str(index)) or IGNORE for index in range(len(job.header))}
    errors = mapping_errors(header=job.header, mapping=wanted)
    if errors:
        raise ValidationError(errors)
    changed = ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportJob.Status.UPLOADED, ImportJob.Status.MAPPED]
    ).update(mapping=wanted, status=ImportJob.Status.MAPPED)
    if not changed:
        raise ValidationError(gettext("This import has started; its mapping can no longer change."))
    job.mapping, job.status = wanted, ImportJob.Status.MAPPED
    return job


def start_import(*, job: ImportJob, run_later: Callable[[int], object]) -> ImportJob:
    """Queue a mapped import, or resume a failed or stalled one from where it stopped; after
    commit, `run_later(job id)` queues the run (import_customers_task.delay, handed in)."""
    now = timezone.now()
    startable = Q(status__in=[ImportJob.Status.MAPPED, ImportJob.Status.FAILED]) | Q(
        status=ImportJob.Status.RUNNING, progressed_at__lt=now - STALLED_AFTER
    )
    with transaction.atomic():
        # 1 row: this request starts it; 0: it is running or done already (a double click).
        started = ImportJob.objects.filter(startable, pk=job.pk).update(
            status=ImportJob.Status.RUNNING, error="", progressed_at=now, finished_at=None
        )
        if not started:
            raise ValidationError(gettext("This import is already running or done."))
        transaction.on_commit(lambda: run_later(job.pk))
    job.refresh_from_db()
    return job


def run_import(*, job_id: int, refresh_later: sync.RefreshLater) -> ImportJob | None:
    """Import a running job's rows from where it stands; a job in any other state is left alone.

    Each batch of 1,000 rows commits together with the job's progress, so a run that dies
    loses nothing and the next one goes on from the first row not yet counted.
    """
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.RUNNING:
        return job
    # A worker has no request: the rows' errors are written in the language of the marketer
    # who started the import (as the check step showed them), else the organization's.
    with (
        speaking_to_staff(job.created_by)
        if job.created_by
        else translation.override(settings.LANGUAGE_CODE)
    ):
        _run_import(job, refresh_later=refresh_later)
    job.refresh_from_db()
    return job


def _run_import(job: ImportJob, *, refresh_later: sync.RefreshLater) -> None:
    try:
        _import_rows(job, refresh_later=refresh_later)
    except Exception as error:  # any failure is the job's, reported on its page
        logger.exception("CSV import %s failed", job.pk)
        message = (
            str(error)
            if isinstance(error, NotUtf8Error | csv.Error)
            else gettext("The import stopped unexpectedly (the worker's log has the details).")
        )
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
            status=ImportJob.Status.FAILED, error=message, finished_at=timezone.now()
        )


def batched(items: Iterator, size: int) -> Iterator[list]:
    """Lists of `size` items, the last one shorter (itertools.batched from Python 3.12)."""
    while batch := list(itertools.islice(items, size)):
        yield batch


def _import_rows(job: ImportJob, *, refresh_later: sync.RefreshLater) -> None:
    done = job.processed_rows
    _, records = job_rows(job)
    for batch in batched(itertools.islice(records, done, None), BATCH_ROWS):
        try:
            with transaction.atomic():
                _import_batch(job, batch, done=done, refresh_later=refresh_later)
        except _SupersededError:
            return
        done += len(batch)
        if connection.vendor == "sqlite":
            time.sleep(SQLITE_PAUSE_SECONDS)
    with transaction.atomic():
        # 0 rows: another run finished it (or moved it on) meanwhile.
        now = timezone.now()
        if ImportJob.objects.filter(
            pk=job.pk, status=ImportJob.Status.RUNNING, processed_rows=done
        ).update(status=ImportJob.Status.DONE, finished_at=now, progressed_at=now):
            ImportChunk.objects.filter(job_id=job.pk).delete()  # the file has served


def _import_batch(
    job: ImportJob,
    batch: list[tuple[int, list[str]]],
    *,
    done: int,
    refresh_later: sync.RefreshLater,
) -> None:
    # Claim the batch by moving the progress on from where this run read it. 0 rows means
    # another run of the job got there first: raising rolls back and leaves the job to it.
    claimed = ImportJob.objects.filter(
        pk=job.pk, status=ImportJob.Status.RUNNING, processed_rows=done
    ).update(processed_rows=done + len(batch), progressed_at=timezone.now())
    if not claimed:
        raise _SupersededError
    outcome, rejections = upsert_batch(job=job, batch=batch, refresh_later=refresh_later)
    ImportRejection.objects.bulk_create(rejections)
    ImportJob.objects.filter(pk=job.pk).update(
        created=F("created") + outcome.created,
        updated=F("updated") + outcome.updated,
        unchanged=F("unchanged") + outcome.unchanged,
        rejected=F("rejected") + len(rejections),
    )


def upsert_batch(
    *,
    job: ImportJob,
    batch: list[tuple[int, list[str]]],
    refresh_later: sync.RefreshLater,
    dry_run: bool = False,
) -> tuple[sync.UpsertOutcome, list[ImportRejection]]:
    """Upsert a batch of the file's rows (or, in a dry run, only count what would happen):
    the outcome (a dry run's plan by row number), and the refused rows (unsaved) with why,
    named by the file's columns."""
    rows, kept, rejections = [], [], []
    topics = topics_by_name() if "topics" in job.mapping.values() else {}
    for number, cells in batch:
        row, problems = row_of(cells, job=job, topics=topics)
        if problems:
            rejections.append(ImportRejection(job=job, line=number, raw=cells, reason=problems))
        else:
            rows.append(row)
            kept.append((number, cells))
    outcome = sync.UpsertOutcome()
    if rows:
        outcome = sync.upsert_customers(
            rows=rows,
            by=job.created_by,
            refresh_later=refresh_later,
            source=f"CSV import {job.filename}"[:100],
            require_external_id=False,
            allow_tier=True,
            dry_run=dry_run,
        )
    for error in outcome.errors:
        number, cells = kept[error["index"]]
        rejections.append(
            ImportRejection(
                job=job, line=number, raw=cells, reason=_reason(error["errors"], job=job)
            )
        )
    rejections.sort(key=lambda rejection: rejection.line)
    # A dry run's plan by the file's row numbers, as the rejections are.
    outcome.planned = {kept[index][0]: plan for index, plan in outcome.planned.items()}
    return outcome, rejections


def rejected_rows_csv(*, job: ImportJob) -> Iterator[str]:
    """The rows an import refused, as the file had them, after their row number and why."""
    rejections = (
        ImportRejection.objects.filter(job_id=job.pk)
        .order_by("line")
        .values_list("line", "reason", "raw")
        .iterator(chunk_size=2000)
    )
    rows = ([line, reason, *raw] for line, reason, raw in rejections)
    return exports.csv_stream(itertools.chain([["row", "why", *job.header]], rows))


def forget_stale_uploads(*, older_than_days: int = 7) -> int:
    """Uploads never started free their stored chunks after a week (the job row stays)."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    stale = ImportJob.objects.filter(status=ImportJob.Status.UPLOADED, created_at__lt=cutoff)
    deleted, _ = ImportChunk.objects.filter(job__in=stale).delete()
    return deleted
