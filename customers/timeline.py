"""The customer's timeline: any app tells here what it did to or with a customer."""

from datetime import datetime

from django.contrib.auth.models import User
from django.utils import timezone

from customers.models import Customer, TimelineEntry


def note_on_timeline(
    *,
    customer: Customer,
    kind: str,
    title: str,
    title_key: str = "",
    title_args: dict | None = None,
    detail: str = "",
    actor: User | None = None,
    occurred_at: datetime | None = None,
    source_id: int | None = None,
) -> TimelineEntry:
    """Add one entry to the customer's timeline (any app may tell of what it did).

    A line the code writes passes `**said(gettext_noop(...), ...)` (customers/sayings.py) so
    that it reads in the reader's language; free text passes `title` alone.
    """
    return TimelineEntry.objects.create(
        customer=customer,
        kind=kind,
        title=title[:300],
        title_key=title_key,
        title_args=title_args or {},
        detail=detail,
        actor=actor,
        occurred_at=occurred_at or timezone.now(),
        source_id=source_id,
    )


def note_many_on_timeline(*, entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """Add many unsaved timeline entries at once (a delivery batch tells of its touches)."""
    for entry in entries:
        entry.title = entry.title[:300]
    return TimelineEntry.objects.bulk_create(entries)
