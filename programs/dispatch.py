"""Dispatch: claiming due touches for delivery and sweeping the leases that ran out."""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from programs.models import Touch
from programs.settlement import settle_sent

logger = logging.getLogger(__name__)


def dispatch_due(*, now: datetime | None = None, batch_size: int | None = None) -> list[list[int]]:
    """Claim due touches (FOR UPDATE SKIP LOCKED) with a lease; return delivery batches of ids.

    The caller enqueues one delivery task per batch after the claim commits, so a task never
    sees a touch that is not yet claimed, and a lost task only delays its touches: the lease
    runs out and the sweeper puts them back.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.DISPATCH_BATCH_SIZE
    lease = now + timedelta(seconds=settings.TOUCH_LEASE_SECONDS)
    with transaction.atomic():
        due = list(
            Touch.objects.select_for_update(skip_locked=True)
            .filter(status=Touch.Status.SCHEDULED, due_at__lte=now)
            .order_by("due_at", "id")
            .values_list("id", "channel")[:batch_size]
        )
        if not due:
            return []
        Touch.objects.filter(pk__in=[pk for pk, _ in due]).update(
            status=Touch.Status.CLAIMED, lease_expires_at=lease
        )
    by_channel: dict[str, list[int]] = defaultdict(list)
    for pk, channel in due:
        by_channel[channel].append(pk)
    size = settings.DELIVERY_BATCH_SIZE
    return [ids[i : i + size] for ids in by_channel.values() for i in range(0, len(ids), size)]


def sweep_leases(*, now: datetime | None = None) -> dict[str, int]:
    """Touches whose lease ran out: claimed ones go back to scheduled (nothing was sent);
    sending ones go to review, since the provider may have them: never resent blindly."""
    now = now or timezone.now()
    reclaimed = Touch.objects.filter(status=Touch.Status.CLAIMED, lease_expires_at__lt=now).update(
        status=Touch.Status.SCHEDULED, lease_expires_at=None
    )
    reviewed = Touch.objects.filter(status=Touch.Status.SENDING, lease_expires_at__lt=now).update(
        status=Touch.Status.REVIEW,
        last_error=gettext_noop("The worker stopped while sending: check whether it arrived."),
    )
    settled = settle_sent(now=now)
    if reclaimed or reviewed or settled:
        logger.warning(
            "sweeper: %s touches reclaimed, %s to review, %s settled", reclaimed, reviewed, settled
        )
    return {"reclaimed": reclaimed, "review": reviewed, "settled": settled}
