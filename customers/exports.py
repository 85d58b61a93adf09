"""CSV out: customers and refused rows as spreadsheets open them, streamed, every cell that a
spreadsheet would run as a formula escaped."""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet

from customers.models import Customer, Topic

# OWASP CSV injection: a spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_COLUMNS = (
    "bonding_id",
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "account",
    "audience",
    "relationship",
    "partner_kind",
    "owner",
    "timezone",
    "preferred_channel",
    "language",
    "frequency",
    "topics",
    "consent_email",
    "consent_sms",
    "consent_phone",
    "consent_letter",
    "estimated_wallet",
    "postal_address",
    "tier",
    "bond_stage",
    "lifetime_value",
    "share_of_wallet",
    "churn_risk",
    "nps_latest",
    "created_at",
    "updated_at",
)


def escape_cell(value: str) -> str:
    """A cell a spreadsheet will show as text, never run as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_stream(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV text, about 64 KB at a time, every cell escaped; a BOM first so Excel reads UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    for row in rows:
        writer.writerow([escape_cell(_text(value)) for value in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def export_rows(*, customers: QuerySet[Customer]) -> Iterator[list[Any]]:
    """A header, then one row per customer, read 2,000 at a time in one query."""
    yield list(EXPORT_COLUMNS)
    # Topics by name, ;-separated, as the import reads them back (one query per chunk).
    topics = Prefetch("topics", queryset=Topic.objects.only("name").order_by("name"))
    rows = (
        customers.select_related("tier", "owner", "account")
        .prefetch_related(topics)
        .only(
            "id",
            "external_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "account__name",
            "audience",
            "relationship",
            "partner_kind",
            "owner__username",
            "timezone",
            "preferred_channel",
            "language",
            "frequency",
            "consent_email",
            "consent_sms",
            "consent_phone",
            "consent_letter",
            "estimated_wallet",
            "postal_address",
            "tier__slug",
            "bond_stage",
            "lifetime_value",
            "share_of_wallet",
            "churn_risk",
            "nps_latest",
            "created_at",
            "updated_at",
        )
    )
    for c in rows.iterator(chunk_size=2000):
        yield [
            c.pk,
            c.external_id,
            c.first_name,
            c.last_name,
            c.email,
            c.phone,
            c.account.name if c.account else "",
            c.audience,
            c.relationship,
            c.partner_kind,
            c.owner.username if c.owner else "",
            c.timezone,
            c.preferred_channel,
            c.language,
            c.frequency,
            "; ".join(topic.name for topic in c.topics.all()),
            c.consent_email,
            c.consent_sms,
            c.consent_phone,
            c.consent_letter,
            c.estimated_wallet,
            c.postal_address,
            c.tier.slug if c.tier else "",
            c.bond_stage,
            c.lifetime_value,
            c.share_of_wallet,
            c.churn_risk,
            c.nps_latest,
            c.created_at,
            c.updated_at,
        ]


def export_csv(*, customers: QuerySet[Customer]) -> Iterator[str]:
    """The customers as CSV text, streamed."""
    return csv_stream(export_rows(customers=customers))
