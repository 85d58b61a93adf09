"""Each change writes its event to the outbox in its own transaction, with the record as the
API shows it; a change that rolls back leaves no event."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from rest_framework.renderers import JSONRenderer

from customers import activity, merge, records
from customers.api import CustomerSerializer
from tests.api.conftest import token_client
from tests.factories import ComplaintFactory, CustomerFactory
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def events(type: str) -> list[Event]:
    return list(Event.objects.filter(type=type).order_by("id"))


def as_api(customer) -> dict:
    return json.loads(JSONRenderer().render(CustomerSerializer(customer).data))


def same_moments(a: dict, b: dict) -> bool:
    """Equal, reading date-times as moments (the outbox keeps milliseconds)."""
    from django.utils.dateparse import parse_datetime

    def moment(value):
        parsed = parse_datetime(value) if isinstance(value, str) else None
        return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000) if parsed else value

    return {k: moment(v) for k, v in a.items()} == {k: moment(v) for k, v in b.items()}


def test_a_new_customer_is_announced_as_the_api_shows_it(marketer):
    customer = records.create_customer(
        data={"first_name": "Ada", "email": "ada@example.com", "owner": marketer}, by=marketer
    )
    [event] = events("customer.created")
    assert event.customer_key == customer.pk
    customer.refresh_from_db()
    api = as_api(customer)
    assert same_moments(event.data, api), {
        k: (v, api[k]) for k, v in event.data.items() if v != api[k]
    }


def test_updates_deletes_and_merges_are_announced(marketer):
    customer = CustomerFactory()
    other = CustomerFactory()
    records.update_customer(customer=customer, data={"first_name": "Grace"}, by=marketer)
    assert events("customer.updated")[0].data["first_name"] == "Grace"
    merge.merge_customers(survivor=customer, merged=other, by=marketer)
    [merged] = events("customer.merged")
    assert merged.data["survivor"]["id"] == customer.pk
    assert merged.data["merged"]["id"] == other.pk
    records.delete_customer(customer=customer, by=marketer)
    [deleted] = events("customer.deleted")
    assert deleted.data["id"] == customer.pk and deleted.data["deleted_at"]


def test_what_account_managers_log_is_announced(manager):
    customer = CustomerFactory(owner=manager)
    activity.log_interaction(
        customer=customer,
        author=manager,
        channel="call",
        summary="Called about the renewal",
        follow_up_on=date.today() + timedelta(days=2),
    )
    [logged] = events("interaction.logged")
    assert logged.data["summary"] == "Called about the renewal"
    assert logged.data["author"] == manager.username
    assert logged.data["customer"] == customer.pk
    [follow_up] = events("follow_up.created")
    assert follow_up.data["assignee"] == manager.username

    complaint = activity.open_complaint(
        customer=customer, by=manager, category="delivery", description="Late"
    )
    activity.resolve_complaint(complaint=complaint, by=manager, resolution="Sent again")
    assert events("complaint.opened")[0].data["status"] == "open"
    assert events("complaint.resolved")[0].data["resolution"] == "Sent again"

    activity.record_purchase(customer=customer, amount=Decimal("12.50"), purchased_on=date.today())
    [purchase] = events("purchase.recorded")
    assert purchase.data["amount"] == "12.50"


def test_a_sync_announces_created_and_updated_customers_in_two_statements(marketer):
    api = token_client(marketer)
    body = {"customers": [{"external_id": f"x-{n}", "first_name": f"P{n}"} for n in range(5)]}
    api.post("/api/v1/customers/sync/", json.dumps(body), content_type="application/json")
    assert [e.data["external_id"] for e in events("customer.created")] == [
        f"x-{n}" for n in range(5)
    ]
    body["customers"][0]["first_name"] = "Changed"
    body["customers"][1]["purchases"] = [
        {"external_id": "o-1", "amount": "3.00", "purchased_on": "2026-01-02"}
    ]
    api.post("/api/v1/customers/sync/", json.dumps(body), content_type="application/json")
    [updated] = events("customer.updated")
    assert updated.data["first_name"] == "Changed"
    assert [e.data["external_id"] for e in events("purchase.recorded")] == ["o-1"]


def test_a_rolled_back_change_leaves_no_event(marketer):
    complaint = ComplaintFactory()
    activity.resolve_complaint(complaint=complaint, by=marketer, resolution="Done")
    with pytest.raises(Exception, match="already resolved"):
        activity.resolve_complaint(complaint=complaint, by=marketer, resolution="Again")
    assert len(events("complaint.resolved")) == 1
