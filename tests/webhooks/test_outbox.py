"""A batch of events goes into the outbox by PostgreSQL's COPY: what any text holds comes back
as it went in, in order, and each row keeps its customer (or none)."""

import pytest

from webhooks import outbox
from webhooks.models import Event

pytestmark = pytest.mark.django_db

AWKWARD = 'back\\slash \\N tab\there new\nline "quoted" ünïcödé 🎉 \\\\ end\\'


def test_a_batch_comes_back_as_written_in_order():
    items = [(7, {"note": AWKWARD, "n": 1}), (None, {"note": "", "n": 2}), (7, {"n": 3})]

    assert outbox.publish_many("customer.updated", items) == 3

    events = list(Event.objects.order_by("id"))
    assert [(e.customer_key, e.data) for e in events] == items
    assert len({e.message_id for e in events}) == 3
    assert all(e.type == "customer.updated" and not e.fanned_out for e in events)


def test_one_event_and_an_unknown_type():
    event = outbox.publish("customer.updated", {"note": AWKWARD}, customer_id=3)

    assert Event.objects.get(pk=event.pk).data == {"note": AWKWARD}
    with pytest.raises(ValueError):
        outbox.publish_many("no.such", [(1, {})])
    assert Event.objects.count() == 1
