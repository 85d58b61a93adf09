"""How long the outbox keeps what went out: delivered deliveries and the events no delivery
still needs are purged after WEBHOOK_RETENTION_DAYS; anything not delivered stays."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from webhooks.models import Delivery, Event


def purge(*, now: datetime | None = None, batch_size: int = 5000) -> dict[str, int]:
    """Delete, in batches of short transactions, deliveries delivered before the retention
    window and the events older than it that were fanned out and have no delivery left (those
    with one still pending, claimed, sending or given up are kept, and so is its event)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    purged = {"deliveries": 0, "events": 0}
    delivered = Delivery.objects.filter(
        status=Delivery.Status.DELIVERED, delivered_at__lt=cutoff
    ).order_by("id")
    unneeded = (
        Event.objects.filter(created_at__lt=cutoff, fanned_out=True)
        .exclude(Exists(Delivery.objects.filter(event=OuterRef("pk"))))
        .order_by("id")
    )
    for name, rows in (("deliveries", delivered), ("events", unneeded)):
        while True:
            with transaction.atomic():
                ids = list(rows.values_list("id", flat=True)[:batch_size])
                if ids:
                    rows.model.objects.filter(pk__in=ids).delete()
            purged[name] += len(ids)
            if len(ids) < batch_size:
                break
    return purged
