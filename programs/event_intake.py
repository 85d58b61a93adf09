"""Taking in what providers post: every event of one webhook request stored in one statement
before the 2xx, and one drain task (not a task per event) asked to work them.

anymail may hand several events in one request (SendGrid, Mailgun batches): the receivers add
them to the request's batch (`collecting`), stored together when anymail's view has parsed
them all. Outside a request's batch an event is stored at once.

The drain is asked at most once a second per web process, with a one-second countdown: an
event stored while an ask is pending is stored before that drain starts, so it is worked by it.
With the broker away nothing is asked and the sweeper (every minute) works what was stored.
"""

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from celery import current_app
from django.db import connection
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

# How long a drain waits after being asked: events of the next second ride along.
DRAIN_DELAY_S = 1.0


@dataclass(frozen=True)
class Incoming:
    provider: str
    kind: str
    key: str
    payload: dict
    touch_ref: int | None = None
    # A reply's body as posted, parsed later by the worker (programs.inbound_mail).
    raw: bytes | None = None


_batch: ContextVar[list[Incoming] | None] = ContextVar("provider_event_batch", default=None)
_asked_until = 0.0  # monotonic time until which this process's last ask is pending
_ask_lock = threading.Lock()


def store(events: list[Incoming]) -> list[int]:
    """Store events once (a repeat is skipped, also within the list) in one statement; returns
    the ids of those new."""
    if not events:
        return []
    received = timezone.now()
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, '')"] * len(events))
    params: list = []
    for event in events:
        params += [
            event.provider,
            event.kind,
            event.key[:120],
            event.touch_ref,
            json.dumps(event.payload),
            event.raw,
            received,
        ]
    with connection.cursor() as cursor:
        # Only placeholders are formatted in: the values travel as parameters.
        sql = "".join(
            [
                "INSERT INTO programs_providerevent",
                " (provider, kind, key, touch_ref, payload, raw, received_at, outcome) VALUES ",
                rows,
                " ON CONFLICT (provider, kind, key) DO NOTHING RETURNING id",
            ]
        )
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def take(event: Incoming) -> None:
    """One event a provider posted: into the request's batch, else stored and worked now."""
    batch = _batch.get()
    if batch is not None:
        batch.append(event)
        return
    if store([event]):
        ask_drain()


@contextlib.contextmanager
def collecting() -> Iterator[list[Incoming]]:
    """The events taken inside are stored together on the way out (before the response leaves);
    on an error nothing is stored and the provider, answered 5xx, sends them again."""
    batch: list[Incoming] = []
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)
    if store(batch):
        ask_drain()


def ask_drain() -> None:
    """Ask a worker to drain the stored events, unless this process asked within the second."""
    global _asked_until
    eager = current_app.conf.task_always_eager
    with _ask_lock:
        now = time.monotonic()
        if not eager and now < _asked_until:
            return  # the pending drain starts after this event was stored
        _asked_until = now + DRAIN_DELAY_S
    from programs.tasks import drain_provider_events_task

    try:
        drain_provider_events_task.apply_async(countdown=0 if eager else DRAIN_DELAY_S)
    except BrokerError:
        with _ask_lock:
            _asked_until = 0.0
        logger.warning("provider events stored; the broker is away, the sweeper will work them")
