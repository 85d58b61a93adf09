"""Delivery to a real receiver on loopback: signed, in order per customer, retried, given up,
an endpoint that only fails is disabled and its owner told."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from webhooks import delivery, outbox, subscriptions
from webhooks.models import Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db


def run_once(now=None) -> None:
    """One dispatcher round and its delivery batches, in this process."""
    delivery.fan_out(now=now)
    for ids in delivery.dispatch_due(now=now):
        delivery.deliver(delivery_ids=ids, now=now)


def subscribe(receiver, marketer, events=("customer.created", "customer.updated")) -> Endpoint:
    return subscriptions.subscribe(
        owner=marketer, url=receiver.url, events=list(events), now=timezone.now() - timedelta(1)
    )


def test_an_event_arrives_signed_in_the_standard_format(receiver, marketer):
    endpoint = subscribe(receiver, marketer)
    event = outbox.publish("customer.created", {"id": 7, "first_name": "Ada"}, customer_id=7)

    run_once()

    [payload] = receiver.verified(endpoint.secret)
    assert payload["type"] == "customer.created"
    assert payload["data"] == {"id": 7, "first_name": "Ada"}
    assert receiver.arrivals[0].message_id == event.message_id
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED


def test_no_event_for_a_change_that_rolled_back(receiver, marketer):
    subscribe(receiver, marketer)
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.publish("customer.created", {"id": 1}, customer_id=1)
        raise RuntimeError("the change failed")
    run_once()
    assert Event.objects.count() == 0
    assert receiver.arrivals == []


def test_unsubscribed_types_and_endpoints_made_later_hear_nothing(receiver, marketer):
    outbox.publish("customer.created", {"id": 1}, customer_id=1)
    subscriptions.subscribe(owner=marketer, url=receiver.url, events=["customer.created"])
    outbox.publish("tier.changed", {"id": 1}, customer_id=1)
    run_once()
    assert receiver.arrivals == []


def test_a_customers_events_arrive_in_order_through_failures(receiver, marketer):
    endpoint = subscribe(receiver, marketer)
    events = [
        outbox.publish("customer.updated", {"id": 1, "n": n}, customer_id=1) for n in range(5)
    ]
    other = outbox.publish("customer.updated", {"id": 2}, customer_id=2)
    receiver.answers = [500]  # the first delivery fails: customer 1's later ones must wait

    run_once()
    ids = [a.message_id for a in receiver.arrivals]
    assert not set(ids) & {e.message_id for e in events}
    assert other.message_id in ids
    failed = Delivery.objects.get(event=events[0])
    assert failed.status == Delivery.Status.PENDING
    assert failed.last_status_code == 500
    assert failed.next_attempt_at > timezone.now()

    run_once(now=failed.next_attempt_at + timedelta(seconds=1))
    got = [a.payload["data"].get("n") for a in receiver.arrivals if a.payload["data"]["id"] == 1]
    assert got == [0, 1, 2, 3, 4]
    receiver.verified(endpoint.secret)


def test_backoff_grows_with_jitter():
    delays = [delivery.retry_delay(n).total_seconds() for n in range(1, 20)]
    assert 3.75 <= delays[0] <= 6.25
    assert all(
        later >= earlier * 1.2 for earlier, later in zip(delays[:10], delays[1:11], strict=True)
    )
    assert max(delays) <= 6 * 3600 * 1.25


def test_a_delivery_is_retried_for_three_days_then_given_up(receiver, marketer, settings):
    subscribe(receiver, marketer)
    outbox.publish("customer.updated", {"id": 1}, customer_id=1)
    delivery.fan_out()
    receiver.answers = [500] * 1000
    now = timezone.now()
    while Delivery.objects.get().status == Delivery.Status.PENDING:
        run_once(now=now)
        row = Delivery.objects.get()
        now = max(now, row.next_attempt_at) + timedelta(seconds=1)
    row = Delivery.objects.get()
    assert row.status == Delivery.Status.GIVEN_UP
    assert row.last_attempt_at - row.first_attempt_at >= timedelta(days=3)
    assert 15 <= row.attempts <= 40


def test_an_endpoint_failing_for_five_days_is_disabled_and_its_owner_told(receiver, marketer):
    marketer.email = "maria@example.com"
    marketer.save()
    endpoint = subscribe(receiver, marketer)
    receiver.answers = [500] * 1000
    start = timezone.now()
    for day in range(7):
        outbox.publish("customer.updated", {"id": day}, customer_id=day, now=start)
        run_once(now=start + timedelta(days=day))
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None
    assert len(mail.outbox) == 1
    assert endpoint.url in mail.outbox[0].body
    assert mail.outbox[0].subject == "Bonding: a webhook endpoint was disabled"
    waiting = Delivery.objects.filter(status=Delivery.Status.PENDING).count()
    assert waiting > 0

    receiver.answers = []
    subscriptions.enable(endpoint=endpoint)
    run_once(now=start + timedelta(days=8))
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 0


def test_a_receiver_that_never_answers_times_out_and_is_retried(receiver, marketer, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.2
    receiver.delay = 0.5
    subscribe(receiver, marketer)
    outbox.publish("customer.updated", {"id": 1}, customer_id=1)
    run_once()
    row = Delivery.objects.get()
    assert row.status == Delivery.Status.PENDING
    assert "did not answer" in row.last_error


def test_a_lease_that_ran_out_is_put_back_and_resent_with_the_same_id(receiver, marketer):
    endpoint = subscribe(receiver, marketer)
    event = outbox.publish("customer.updated", {"id": 1}, customer_id=1)
    delivery.fan_out()
    [ids] = delivery.dispatch_due()
    # The worker that took the batch died: nothing moves it on until the lease runs out.
    assert delivery.sweep_leases() == 0
    later = timezone.now() + timedelta(seconds=3600)
    assert delivery.sweep_leases(now=later) == 1
    assert delivery.deliver(delivery_ids=ids) == {"delivered": 0, "failed": 0}
    run_once(now=later)
    assert [a.message_id for a in receiver.arrivals] == [event.message_id]
    receiver.verified(endpoint.secret)
