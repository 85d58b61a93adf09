"""Delivery: fanning events out, claiming due deliveries with a lease, sending them signed, in
order per customer and endpoint, with retries, and sweeping the leases that ran out.

At least once, never lost: a delivery moves on only by a conditional update, a dead worker's
lease runs out and the sweeper puts its deliveries back, and a receiver that saw one twice sees
the same webhook-id both times.
"""

import json
import logging
import random
from collections import defaultdict
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from webhooks import addresses, signing, transport
from webhooks.models import Delivery, Endpoint, Event

logger = logging.getLogger(__name__)
Status = Delivery.Status

# A worker drains one customer's run of events for an endpoint, up to this many, then yields.
CHAIN_LIMIT = 100


def fan_out(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Write one delivery per new event and endpoint subscribed to its type when it happened."""
    now = now or timezone.now()
    with transaction.atomic():
        events = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(fanned_out=False)
            .order_by("id")
            .only("id", "type", "customer_key", "created_at")[:batch_size]
        )
        if not events:
            return 0
        endpoints = list(Endpoint.objects.only("id", "events", "created_at"))
        deliveries = [
            Delivery(
                endpoint_id=endpoint.pk,
                event_id=event.pk,
                customer_key=event.customer_key,
                next_attempt_at=now,
                created_at=now,
            )
            for event in events
            for endpoint in endpoints
            if event.type in endpoint.events and endpoint.created_at <= event.created_at
        ]
        Delivery.objects.bulk_create(deliveries, batch_size=1000)
        Event.objects.filter(pk__in=[event.pk for event in events]).update(fanned_out=True)
    return len(deliveries)


def dispatch_due(*, now: datetime | None = None, batch_size: int | None = None) -> list[list[int]]:
    """Claim the due head of each customer's run (FOR UPDATE SKIP LOCKED) with a lease; return
    batches of ids, one endpoint each, for the caller to enqueue after this commits."""
    now = now or timezone.now()
    batch_size = batch_size or settings.WEBHOOK_DISPATCH_BATCH_SIZE
    lease = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    earlier = Delivery.objects.filter(
        endpoint=OuterRef("endpoint"),
        customer_key=OuterRef("customer_key"),
        id__lt=OuterRef("id"),
        status__in=Delivery.UNFINISHED,
    )
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Status.PENDING, next_attempt_at__lte=now)
            .filter(endpoint__disabled_at__isnull=True)
            .exclude(Exists(earlier))
            .order_by("id")
            .values_list("id", "endpoint_id")[:batch_size]
        )
        if not due:
            return []
        Delivery.objects.filter(pk__in=[pk for pk, _ in due]).update(
            status=Status.CLAIMED, lease_expires_at=lease
        )
    by_endpoint: dict[int, list[int]] = defaultdict(list)
    for pk, endpoint_id in due:
        by_endpoint[endpoint_id].append(pk)
    size = settings.WEBHOOK_DELIVERY_BATCH_SIZE
    return [ids[i : i + size] for ids in by_endpoint.values() for i in range(0, len(ids), size)]


def deliver(*, delivery_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Send each claimed delivery, then the rest of its customer's run while they succeed.

    In rounds: the batch's current deliveries are POSTed (each a different customer's), then
    one transaction records every outcome and claims each run's next one.
    """
    outcome = {"delivered": 0, "failed": 0}
    lease = (now or timezone.now()) + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    # The rows still claimed are ours; a sweeper may have put the others back meanwhile.
    current = list(
        Delivery.objects.select_related("event", "endpoint__owner")
        .filter(pk__in=delivery_ids, status=Status.CLAIMED)
        .order_by("id")
    )
    taken = Delivery.objects.filter(
        pk__in=[row.pk for row in current], status=Status.CLAIMED
    ).update(status=Status.SENDING, lease_expires_at=lease)
    if taken != len(current):
        # Another worker took some between the read and the update (a task run twice): leave
        # the batch to it and the sweeper rather than send any twice at once.
        return outcome
    session, adapter = transport.pinned_session()
    with session:
        for _ in range(CHAIN_LIMIT):
            if not current:
                break
            # Resolved and checked again each round, not only when subscribing: a host's DNS may
            # have moved inside this network since. The requests go to the addresses checked.
            checked = addresses.destinations({row.endpoint.url for row in current})
            adapter.pin(checked.values())
            sent = [
                (
                    row,
                    _send(
                        row,
                        session=session,
                        now=now,
                        refused=checked[row.endpoint.url].refusal,
                    ),
                )
                for row in current
            ]
            outcome["delivered"] += sum(1 for _, ok in sent if ok)
            outcome["failed"] += sum(1 for _, ok in sent if not ok)
            current = _settle(sent, now=now)
    return outcome


def _settle(sent: list[tuple[Delivery, bool]], *, now: datetime | None) -> list[Delivery]:
    """Record a round's outcomes and claim the next delivery of each run that succeeded."""
    when = now or timezone.now()
    delivered = [row for row, ok in sent if ok]
    with transaction.atomic():
        for row, ok in sent:
            if not ok:
                _record_failure(row, now=when)
        for code in {row.last_status_code for row in delivered}:
            # 1 row each: still ours; 0: the sweeper took it back, and it goes out again.
            Delivery.objects.filter(
                pk__in=[row.pk for row in delivered if row.last_status_code == code],
                status=Status.SENDING,
            ).update(
                status=Status.DELIVERED,
                attempts=F("attempts") + 1,
                first_attempt_at=Coalesce("first_attempt_at", Value(when)),
                last_attempt_at=when,
                last_status_code=code,
                last_error="",
                delivered_at=when,
                lease_expires_at=None,
            )
        recovered = {row.endpoint_id for row in delivered if row.endpoint.failing_since}
        if recovered:
            Endpoint.objects.filter(pk__in=recovered).update(failing_since=None)
        runs = {(row.endpoint_id, row.customer_key) for row in delivered if row.customer_key}
        if not runs:
            return []
        # The first unfinished delivery of each run; it is sent now if it is due.
        heads = (
            Delivery.objects.filter(
                endpoint_id__in={endpoint for endpoint, _ in runs},
                customer_key__in={customer for _, customer in runs},
                status__in=Delivery.UNFINISHED,
            )
            .values("endpoint_id", "customer_key")
            .annotate(first=Min("id"))
        )
        firsts = [h["first"] for h in heads if (h["endpoint_id"], h["customer_key"]) in runs]
        lease = when + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
        # Only pending, due ones move: a run whose head another worker has stays with it.
        Delivery.objects.filter(
            pk__in=firsts, status=Status.PENDING, next_attempt_at__lte=when
        ).update(status=Status.SENDING, lease_expires_at=lease)
        return list(
            Delivery.objects.select_related("event", "endpoint__owner")
            .filter(pk__in=firsts, status=Status.SENDING, lease_expires_at=lease)
            .order_by("id")
        )


def _secrets_in_use(endpoint: Endpoint, now: datetime) -> list[str]:
    in_use = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and (endpoint.previous_secret_until > now)
    ):
        in_use.append(endpoint.previous_secret)
    return in_use


def body_of(event: Event) -> bytes:
    """The payload as Standard Webhooks shapes it: type, timestamp, data."""
    head = json.dumps({"type": event.type, "timestamp": event.created_at.isoformat()})
    # The stored payload goes in as it was written, not parsed and written again.
    return (head[:-1] + ', "data": ' + event.payload + "}").encode()


def _send(
    row: Delivery, *, session: requests.Session, now: datetime | None, refused: str | None = None
) -> bool:
    """POST one delivery signed; keeps the answer on the row for _settle to record. A refused
    address is not sent to: the refusal is recorded as the attempt's error and retried later."""
    endpoint, event = row.endpoint, row.event
    if refused:
        row.last_status_code, row.last_error = None, f"Not sent: {refused}"[:300]
        logger.warning("webhook delivery %s not sent: %s", row.pk, refused)
        return False
    body = body_of(event)
    headers = signing.headers(
        _secrets_in_use(endpoint, now or timezone.now()),
        event.message_id,
        int(timezone.now().timestamp()),
        body,
    )
    row.last_status_code, row.last_error = None, ""
    try:
        response = session.post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        row.last_status_code = response.status_code
        response.close()
    except requests.RequestException as exc:
        row.last_error = f"{type(exc).__name__}: the receiver did not answer."
        return False
    if not 200 <= response.status_code < 300:
        row.last_error = f"The receiver answered {response.status_code}."
        return False
    return True


def _record_failure(row: Delivery, *, now: datetime) -> None:
    attempts = row.attempts + 1
    first = row.first_attempt_at or now
    give_up = now - first >= timedelta(seconds=settings.WEBHOOK_RETRY_FOR_SECONDS)
    Delivery.objects.filter(pk=row.pk, status=Status.SENDING).update(
        status=Status.GIVEN_UP if give_up else Status.PENDING,
        attempts=attempts,
        first_attempt_at=first,
        last_attempt_at=now,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        next_attempt_at=now + retry_delay(attempts),
        lease_expires_at=None,
    )
    _note_failure(row.endpoint, now=now)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff from 5 s, capped at 6 hours, with jitter so receivers coming back
    are not met by every sender at once (attempts 1, 2, …: about 5 s, 10 s, 20 s, …)."""
    base = min(5 * 2 ** (attempts - 1), 6 * 3600)
    return timedelta(seconds=base * random.uniform(0.75, 1.25))


def _note_failure(endpoint: Endpoint, *, now: datetime) -> None:
    Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    limit = now - timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS)
    # 1 row: this failure is the one that disables it, so only one e-mail goes out.
    disabled = Endpoint.objects.filter(
        pk=endpoint.pk, disabled_at__isnull=True, failing_since__lte=limit
    ).update(disabled_at=now, disabled_reason="Every delivery failed for 5 days.")
    if disabled and endpoint.owner.email:
        send_mail(
            subject=gettext("Bonding: a webhook endpoint was disabled"),
            message=gettext(
                "Every delivery to %(url)s failed for 5 days, so it is disabled and its events "
                "wait. Enable it again on the webhooks settings page once it answers."
            )
            % {"url": endpoint.url},
            from_email=None,
            recipient_list=[endpoint.owner.email],
            fail_silently=True,
        )


def sweep_leases(*, now: datetime | None = None) -> int:
    """Deliveries whose lease ran out go back to pending: a receiver may see one twice, with
    the same webhook-id, which is what at-least-once promises."""
    now = now or timezone.now()
    swept = Delivery.objects.filter(
        Q(status=Status.CLAIMED) | Q(status=Status.SENDING), lease_expires_at__lt=now
    ).update(status=Status.PENDING, lease_expires_at=None, next_attempt_at=now)
    if swept:
        logger.warning("webhooks sweeper: %s deliveries put back", swept)
    return swept
