"""Faults, with real Celery workers and a real receiver on loopback: the receiver answers 500s
and a 410, goes down for a while, and a worker is killed mid-delivery. Every event arrives at
least once, in order per customer, each with a valid signature; duplicates share a webhook-id.
"""

import signal
from collections import Counter, defaultdict

import pytest
from django.utils import timezone

from tests.conftest import start_worker, stop_worker
from tests.programs.conftest import purge_broker, wait_until
from webhooks import delivery, outbox, subscriptions, tasks
from webhooks.models import Delivery

LEASE = 3
EVENTS, CUSTOMERS = 240, 12


def remaining() -> int:
    return Delivery.objects.exclude(status=Delivery.Status.DELIVERED).count()


@pytest.mark.slow
@pytest.mark.postgres(reason="real workers share the database with the test")
def test_every_event_arrives_in_order_through_outages_and_a_killed_worker(
    transactional_db, settings, receiver, marketer
):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("needs the Redis broker of bin/with-test-services (CELERY_BROKER_URL)")
    purge_broker()
    settings.WEBHOOK_LEASE_SECONDS = LEASE
    endpoint = subscriptions.subscribe(owner=marketer, url=receiver.url, events=["tier.changed"])
    published = [
        outbox.publish(
            "tier.changed", {"n": n, "customer": n % CUSTOMERS}, customer_id=n % CUSTOMERS
        )
        for n in range(EVENTS)
    ]
    receiver.delay = 0.02  # a slow receiver, so the kill lands mid-batch
    receiver.answers = [500, 500, 410, 500, 200, 500]
    env = {"WEBHOOK_LEASE_SECONDS": str(LEASE), "WEBHOOK_TIMEOUT_SECONDS": "2"}
    workers = []
    try:
        workers.append(start_worker(name="victim", concurrency=2, **env))
        tasks.dispatch_webhooks_task()
        wait_until(lambda: len(receiver.arrivals) >= 40, timeout=60, what="first arrivals")
        stop_worker(workers[0], signal.SIGKILL)  # the whole process group, mid-delivery
        in_flight = Delivery.objects.filter(
            status__in=[Delivery.Status.CLAIMED, Delivery.Status.SENDING]
        ).count()
        assert in_flight > 0, "the kill left deliveries claimed for the sweeper"

        def another_round() -> None:
            delivery.sweep_leases()
            # Time moves on: the backoff's wait is over for whatever failed.
            Delivery.objects.filter(status=Delivery.Status.PENDING).update(
                next_attempt_at=timezone.now()
            )
            tasks.dispatch_webhooks_task()

        # The receiver goes down for a while: deliveries fail with refused connections.
        port = receiver.stop()
        workers.append(start_worker(name="rescuer", concurrency=2, **env))

        def refused() -> bool:
            another_round()
            return Delivery.objects.filter(last_error__contains="did not answer").exists()

        wait_until(refused, timeout=60, interval=0.5, what="a refused delivery")
        receiver.start(port)

        def all_delivered() -> bool:
            another_round()
            return remaining() == 0

        wait_until(all_delivered, timeout=120, interval=0.5, what="every delivery delivered")
    finally:
        for process in workers:
            stop_worker(process)
        purge_broker()

    payloads = receiver.verified(endpoint.secret)  # raises on any bad signature
    ids = [arrival.message_id for arrival in receiver.arrivals]
    expected = [event.message_id for event in published]
    assert set(ids) == set(expected), "every event arrives at least once"
    by_id = defaultdict(set)
    for arrival in receiver.arrivals:
        by_id[arrival.message_id].add(arrival.body)
    assert all(len(bodies) == 1 for bodies in by_id.values()), "a duplicate is the same message"
    for customer in range(CUSTOMERS):
        seen = [p["data"]["n"] for p in payloads if p["data"]["customer"] == customer]
        first_seen = list(dict.fromkeys(seen))
        assert first_seen == sorted(first_seen), f"customer {customer} out of order: {seen}"
    retried = Delivery.objects.filter(attempts__gt=1).count()
    assert retried > 0, "the 500s, the 410 and the outage were retried"
    duplicates = sum(count - 1 for count in Counter(ids).values())
    print(
        f"{EVENTS} events, {len(ids)} arrivals, {duplicates} duplicates, "
        f"{in_flight} in flight at the kill, {retried} deliveries retried"
    )
