"""The check before an import: what each row of the file will do, with nothing written.

It runs the import's own path (`imports.upsert_batch`) as a dry run, batch by batch, so the
rows it calls good are the rows the import takes, and the reasons it gives are the import's.
"""

import contextlib
import itertools
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError

from customers import imports
from customers.contact import normalize_email, normalize_phone
from customers.models import ImportJob, ImportRejection

# Checked on every view of the mapping page: under a second on PostgreSQL (10,000 rows took
# 1.6 s on a shared two-core machine). A longer file's remaining rows are checked by the
# import itself, which lists any it refuses.
CHECK_ROWS = 5_000
REFUSED_SHOWN = 20
PREVIEW_ROWS = 5
VERDICTS = {
    "create": "Looks good: a new customer",
    "update": "Looks good: updates a customer",
    "unchanged": "Looks good: already up to date",
}


@dataclass(frozen=True)
class PreviewRow:
    """One of the first rows of the file as the mapping reads it, and what the import will do."""

    number: int
    cells: list[str]
    verdict: str
    refused: bool


@dataclass
class ImportCheck:
    """What importing the file will do: counts of the rows checked, and the first refusals."""

    total: int
    checked: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    first_refused: list[ImportRejection] = field(default_factory=list)
    preview: list[PreviewRow] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.checked == self.total


def check_import(*, job: ImportJob, limit: int | None = None) -> ImportCheck | None:
    """Run the import of the file's first rows (CHECK_ROWS unless told) as a dry run; None if
    the mapping is not usable yet (the page says why)."""
    if imports.mapping_errors(header=job.header, mapping=job.mapping):
        return None
    limit = CHECK_ROWS if limit is None else limit
    check = ImportCheck(total=job.total_rows)
    header, records = imports.job_rows(job)
    # A row whose customer an earlier batch creates is found again by the import's next
    # batch: the dry run writes nothing, so it counts those rows as updates itself.
    created_keys: set[str] = set()
    for batch in imports.batched(itertools.islice(records, limit), imports.BATCH_ROWS):
        outcome, rejections = imports.upsert_batch(
            job=job, batch=batch, refresh_later=_refresh_nothing, dry_run=True
        )
        for number, cells in batch:
            plan = outcome.planned.get(number)
            if plan is None:
                continue  # refused
            keys = _keys(cells, job=job)
            if plan == "create" and keys & created_keys:
                plan = "update"
            elif plan == "create":
                created_keys |= keys
            _count(check, plan)
            if len(check.preview) < PREVIEW_ROWS:
                check.preview.append(_preview_row(number, cells, header, VERDICTS[plan], False))
        for rejection in rejections:
            check.refused += 1
            if len(check.first_refused) < REFUSED_SHOWN:
                check.first_refused.append(rejection)
        check.checked += len(batch)
        check.preview = _with_refused(check.preview, rejections, header)
    return check


def preview_rows(*, job: ImportJob) -> list[PreviewRow]:
    """The file's first rows as they are, for a mapping that cannot be checked yet."""
    header, records = imports.job_rows(job)
    return [
        _preview_row(number, cells, header, "", False)
        for number, cells in itertools.islice(records, PREVIEW_ROWS)
    ]


def _refresh_nothing(customer_ids: list[int]) -> None:
    """A dry run changes no customer, so none needs its figures refreshed."""


def _count(check: ImportCheck, plan: str) -> None:
    if plan == "create":
        check.created += 1
    elif plan == "update":
        check.updated += 1
    else:
        check.unchanged += 1


def _keys(cells: list[str], *, job: ImportJob) -> set[str]:
    """What the import finds a customer again by, from one row: its external id, e-mail, phone."""
    row, _ = imports.row_of(cells, job=job, topics={})  # topics do not find anyone
    keys = set()
    if row.get("external_id"):
        keys.add("external_id:" + row["external_id"].strip())
    if row.get("email"):
        keys.add("email:" + normalize_email(row["email"]))
    if row.get("phone") and not row.get("external_id"):
        # A phone that does not normalise refused its row already; this row's does.
        with contextlib.suppress(ValidationError):
            keys.add("phone:" + normalize_phone(row["phone"], region=settings.PHONE_REGION))
    return keys


def _preview_row(
    number: int, cells: list[str], header: list[str], verdict: str, refused: bool
) -> PreviewRow:
    padded = (cells + [""] * len(header))[: max(len(header), len(cells))]
    return PreviewRow(number=number, cells=padded, verdict=verdict, refused=refused)


def _with_refused(
    preview: list[PreviewRow], rejections: list[ImportRejection], header: list[str]
) -> list[PreviewRow]:
    """The preview's good rows and the refused ones among the first rows, in file order."""
    refused = [
        _preview_row(rejection.line, rejection.raw, header, rejection.reason, True)
        for rejection in rejections
    ]
    return sorted([*preview, *refused], key=lambda row: row.number)[:PREVIEW_ROWS]
