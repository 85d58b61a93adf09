"""Celery tasks of the webhooks: dispatch (beat), deliver a batch, sweep leases (beat)."""

from celery import shared_task

from webhooks import delivery, retention


@shared_task
def dispatch_webhooks_task() -> int:
    """Fan new events out, claim due deliveries and enqueue one delivery task per batch."""
    delivery.fan_out()
    batches = delivery.dispatch_due()
    for ids in batches:
        deliver_webhooks_task.delay(ids)
    return len(batches)


@shared_task(acks_late=True)
def deliver_webhooks_task(delivery_ids: list[int]) -> dict[str, int]:
    """Send a batch of claimed deliveries (safe twice: each is claimed by a conditional update)."""
    return delivery.deliver(delivery_ids=delivery_ids)


@shared_task
def sweep_webhooks_task() -> int:
    """Put back deliveries whose worker's lease ran out."""
    return delivery.sweep_leases()


@shared_task
def purge_webhooks_task() -> dict[str, int]:
    """Forget delivered deliveries and their events after WEBHOOK_RETENTION_DAYS."""
    return retention.purge()
