"""customer.updated and customer.deleted from the paths that bypass update_customer, and the
events of the ledger, referrals and RSVPs, each payload as the API shows the record."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers import activity, records, referrals, rewards
from customers.models import Customer
from customers.rows import CleanRow
from events import services as event_services
from events.models import Event as Gathering
from events.models import Invitation
from tests.api.conftest import token_client
from tests.factories import CustomerFactory, ReferralFactory
from tests.webhooks.test_events import same_moments
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def told(type: str) -> list[dict]:
    return [event.data for event in Event.objects.filter(type=type).order_by("id")]


def test_bulk_delete_and_owner_assignment_tell_each_customer(marketer, manager):
    kept, *moved = [CustomerFactory(owner=marketer) for _ in range(3)]
    api = token_client(marketer)

    records.assign_owner(
        customers=Customer.objects.filter(pk__in=[c.pk for c in moved]), owner=manager, by=marketer
    )
    updated = told("customer.updated")
    assert [data["id"] for data in updated] == [c.pk for c in moved]
    shown = api.get(f"/api/v1/customers/{moved[0].pk}/").json()
    assert shown["owner"] == manager.username
    assert same_moments(updated[0], shown)

    assert records.delete_customers(customers=Customer.objects.all(), by=marketer) == 3
    deleted = told("customer.deleted")
    assert sorted(data["id"] for data in deleted) == sorted([kept.pk, *(c.pk for c in moved)])
    assert all(data["deleted_at"] for data in deleted)
    # Already deleted: nothing more to tell.
    assert records.delete_customers(customers=Customer.objects.all(), by=marketer) == 0
    assert len(told("customer.deleted")) == 3


def test_a_consent_change_is_one_customer_updated_however_it_comes(marketer):
    from customers.models import Topic

    customer = CustomerFactory(owner=marketer, consent_email=False)
    # Chosen topics go in the API's order, by name.
    customer.topics.set([Topic.objects.create(name=name) for name in ("Tips", "Events")])
    assert records.set_consent(customer=customer, channel="email", granted=True, source="form")
    assert not records.set_consent(customer=customer, channel="email", granted=True, source="form")
    [by_itself] = told("customer.updated")
    assert by_itself["consents"]["email"] is True
    shown = token_client(marketer).get(f"/api/v1/customers/{customer.pk}/").json()
    assert same_moments(by_itself, shown)
    assert len(by_itself["topics"]) == 2

    records.update_customer(customer=customer, data={"consent_email": False}, by=marketer)
    # update_customer tells the change once, not once more for the consent inside it.
    assert [data["consents"]["email"] for data in told("customer.updated")] == [True, False]


def test_reward_lines_are_told_as_the_ledger_shows_them(marketer):
    customer = CustomerFactory(owner=marketer)
    earned = rewards.grant(customer=customer, value=Decimal(20), reason="Welcome")
    rewards.redeem(customer=customer, value=Decimal(5), reason="Spent", by=marketer)
    rewards.reverse(entry=earned, reason="Given by mistake", by=marketer)
    other = rewards.grant(
        customer=customer, value=Decimal(3), reason="Old", given_at=timezone.now() - timedelta(999)
    )
    rewards.expire_due()

    lines = token_client(marketer).get(f"/api/v1/customers/{customer.pk}/rewards/").json()
    shown = {line["id"]: line for line in lines["results"]}
    for type in ("earned", "redeemed", "reversed", "expired"):
        for data in told(f"reward.{type}"):
            assert data == shown[data["id"]], type
    assert [data["id"] for data in told("reward.earned")] == [earned.pk, other.pk]


def test_referrals_signing_up_and_converting_are_told_as_the_api_shows_them(marketer):
    referrer = CustomerFactory(owner=marketer)
    referral = ReferralFactory(referrer=referrer, referred_name="")
    row = CleanRow(values={"first_name": "Fay", "email": "fay@example.com"})
    signed_up = referrals.sign_up_friend(referral=referral, row=row)
    assert signed_up.errors == {}
    referral.refresh_from_db()
    activity.convert_referral(referral=referral)

    api = token_client(marketer)
    shown = api.get(f"/api/v1/referrals/{referral.pk}/").json()
    [signed] = told("referral.signed_up")
    [converted] = told("referral.converted")
    assert signed["status"] == "signed_up" and signed["referred_customer"] == signed_up.friend.pk
    assert signed["referred_email"] == "fay@example.com"
    assert same_moments(converted, shown), {
        k: (v, shown[k]) for k, v in converted.items() if v != shown[k]
    }


def test_an_rsvp_is_told_as_the_attendees_api_shows_it(marketer):
    customer = CustomerFactory(owner=marketer)
    starts = timezone.now() + timedelta(days=10)
    gathering = Gathering.objects.create(
        name="Evening",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        capacity=10,
        status=Gathering.Status.OPEN,
    )
    invitation = Invitation.objects.create(event=gathering, customer=customer, token="t" * 20)
    event_services.answer(invitation=invitation, answer="yes", guests=1)

    [data] = told("rsvp.answered")
    attendees = token_client(marketer).get(f"/api/v1/events/{gathering.pk}/attendees/").json()
    [shown] = attendees["results"] if isinstance(attendees, dict) else attendees
    assert data.pop("event") == gathering.pk
    assert same_moments(data, shown), json.dumps([data, shown])


def test_a_value_refresh_tells_the_customers_whose_figures_moved(marketer):
    from customers import valuation
    from tests.factories import PurchaseFactory

    bought, idle = CustomerFactory(owner=marketer), CustomerFactory(owner=marketer)
    valuation.refresh_customers(customer_ids=[bought.pk, idle.pk])
    Event.objects.all().delete()
    PurchaseFactory(customer=bought, amount=Decimal("80.00"))

    valuation.refresh_customers(customer_ids=[bought.pk, idle.pk])

    [data] = told("customer.updated")
    shown = token_client(marketer).get(f"/api/v1/customers/{bought.pk}/").json()
    assert data["lifetime_value"] == shown["lifetime_value"] != "0.00"
    assert same_moments(data, shown), {k: (v, shown[k]) for k, v in data.items() if v != shown[k]}
