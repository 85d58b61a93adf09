"""The address is checked again at each delivery: a host whose DNS later points inside this
network is refused and the refusal logged on the delivery, not sent."""

import pytest

from webhooks import addresses, delivery, outbox, subscriptions
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

HOST = "hooks.example.com"


@pytest.fixture
def dns(monkeypatch):
    """A resolver where the test says what HOST points to (addresses resolve to themselves)."""
    points_to = {HOST: "93.184.216.34"}
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [points_to.get(host, host)])
    return points_to


def test_a_host_that_moved_inside_the_network_is_refused_at_delivery(
    receiver, marketer, dns, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    port = receiver.url.split(":")[2].split("/")[0]
    endpoint = subscriptions.subscribe(
        owner=marketer, url=f"http://{HOST}:{port}/hooks", events=["customer.updated"]
    )
    # Later its DNS points at loopback, where the receiver listens: had it been sent, it arrived.
    dns[HOST] = "127.0.0.1"
    outbox.publish("customer.updated", {"id": 1}, customer_id=1)
    delivery.fan_out()
    for ids in delivery.dispatch_due():
        assert delivery.deliver(delivery_ids=ids) == {"delivered": 0, "failed": 1}

    assert receiver.arrivals == []
    row = Delivery.objects.get()
    assert row.status == Delivery.Status.PENDING
    assert row.attempts == 1
    assert row.last_status_code is None
    assert row.last_error.startswith(f"Not sent: {HOST} is an address inside this network")
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
