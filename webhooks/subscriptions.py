"""Writes on subscriptions: subscribe, rotate the secret, enable, remove, replay."""

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from webhooks import addresses, signing
from webhooks.models import EVENT_TYPES, Delivery, Endpoint, Event

MAX_OVERLAP = timedelta(days=7)


def _check(*, url: str, events: list[str]) -> None:
    errors: dict[str, list[str]] = {}
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        errors["url"] = ["Enter an http or https URL."]
    else:
        refused = addresses.refusal(url)
        if refused:
            errors["url"] = [refused]
    if not events:
        errors["events"] = ["Choose at least one event."]
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        errors["events"] = [f"Unknown event types: {', '.join(unknown)}."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def subscribe(
    *, owner: User, url: str, events: list[str], description: str = "", now: datetime | None = None
) -> Endpoint:
    """Add an endpoint with a fresh secret; it hears events that happen from now on."""
    _check(url=url, events=events)
    endpoint = Endpoint(
        owner=owner,
        url=url,
        events=sorted(set(events)),
        description=description,
        secret=signing.new_secret(),
        created_at=now or timezone.now(),
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@transaction.atomic
def rotate_secret(
    *, endpoint: Endpoint, overlap: timedelta = timedelta(hours=24), now: datetime | None = None
) -> Endpoint:
    """A new secret signs from now on; the old one signs too until the overlap ends."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise ValidationError(
            {"overlap_hours": [gettext("Choose an overlap from 0 to 168 hours.")]}
        )
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + overlap
    endpoint.secret = signing.new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return endpoint


@transaction.atomic
def enable(*, endpoint: Endpoint) -> Endpoint:
    """Deliver again to an endpoint that was disabled; its waiting events go out in order."""
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.failing_since = None
    endpoint.save(update_fields=["disabled_at", "disabled_reason", "failing_since"])
    return endpoint


@transaction.atomic
def remove(*, endpoint: Endpoint) -> None:
    """Delete an endpoint and its delivery log."""
    endpoint.delete()


@transaction.atomic
def replay(
    *,
    endpoint: Endpoint,
    message_id: str | None = None,
    since: datetime | None = None,
    now: datetime | None = None,
) -> int:
    """Send again one event, or every event of its types since a time; the copies carry the
    same webhook-id, so a receiver that had them drops them."""
    now = now or timezone.now()
    events = Event.objects.filter(type__in=endpoint.events, created_at__gte=endpoint.created_at)
    if message_id is not None:
        events = events.filter(message_id=message_id)
    elif since is not None:
        events = events.filter(created_at__gte=since)
    else:
        raise ValidationError({"since": [gettext("Give an event id or a time to replay from.")]})
    rows = list(events.order_by("id").values_list("id", "customer_key"))
    Delivery.objects.bulk_create(
        [
            Delivery(
                endpoint=endpoint,
                event_id=pk,
                customer_key=customer_key,
                next_attempt_at=now,
                created_at=now,
            )
            for pk, customer_key in rows
        ],
        batch_size=1000,
    )
    return len(rows)
