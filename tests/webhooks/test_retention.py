"""Old delivered events and deliveries are purged after WEBHOOK_RETENTION_DAYS; what was not
delivered stays, and so does everything recent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks import delivery, outbox, retention, subscriptions, tasks
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db


def test_old_delivered_ones_go_undelivered_and_recent_ones_stay(receiver, marketer, settings):
    settings.WEBHOOK_RETENTION_DAYS = 30
    now = timezone.now()
    old = now - timedelta(days=31)
    subscriptions.subscribe(
        owner=marketer, url=receiver.url, events=["customer.updated"], now=old - timedelta(1)
    )
    delivered_old = outbox.publish("customer.updated", {"id": 1}, customer_id=1, now=old)
    failed_old = outbox.publish("customer.updated", {"id": 2}, customer_id=2, now=old)
    unheard_old = outbox.publish("tier.changed", {"id": 3}, customer_id=3, now=old)
    delivery.fan_out(now=old)
    # The second fails, and again a month later, past the retry window: given up, kept.
    receiver.answers = [200, 500, 500]
    for ids in delivery.dispatch_due(now=old):
        delivery.deliver(delivery_ids=ids, now=old)
    recent = outbox.publish("customer.updated", {"id": 4}, customer_id=4, now=now)
    delivery.fan_out(now=now)
    for ids in delivery.dispatch_due(now=now):
        delivery.deliver(delivery_ids=ids, now=now)
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 2

    assert retention.purge(now=now, batch_size=1) == {"deliveries": 1, "events": 2}

    kept = set(Event.objects.values_list("message_id", flat=True))
    assert kept == {failed_old.message_id, recent.message_id}
    assert delivered_old.message_id not in kept and unheard_old.message_id not in kept
    assert set(Delivery.objects.values_list("event__message_id", "status")) == {
        (failed_old.message_id, Delivery.Status.GIVEN_UP),
        (recent.message_id, Delivery.Status.DELIVERED),
    }
    # Nothing left to purge: the task finds none.
    assert tasks.purge_webhooks_task() == {"deliveries": 0, "events": 0}
