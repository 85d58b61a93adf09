"""Probable duplicates are found and merged without losing a record."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers import activity, merge, preferences, queries, records
from customers.models import Account, ConsentChange, Customer, TimelineEntry, Topic

pytestmark = pytest.mark.django_db


def person(owner, **fields) -> Customer:
    data = {"first_name": "Ann", "last_name": "Lee", "owner": owner}
    data.update(fields)
    return records.create_customer(data=data, by=owner)


def test_it_finds_same_phone_same_name_in_account_and_email_of_a_deleted_record(manager):
    acme = Account.objects.create(name="Acme")
    person(manager, email="a1@example.com", phone="+14155552671")
    person(manager, email="a2@example.com", phone="+14155552671", first_name="Other")
    person(manager, email="b1@example.com", account=acme, first_name="Bo", last_name="Ray")
    person(manager, email="b2@example.com", account=acme, first_name="BO", last_name="ray")
    gone = person(manager, email="c@example.com", first_name="Cy")
    records.delete_customer(customer=gone, by=manager)
    person(manager, email="c@example.com", first_name="Cy")

    groups = {(g.reason, g.key): len(g.customers) for g in queries.probable_duplicates()}

    assert groups == {
        ("Same phone", "+14155552671"): 2,
        ("Same name in one account", "bo ray"): 2,
        ("Same e-mail as a deleted record", "c@example.com"): 2,
    }


def test_finding_duplicates_runs_a_fixed_number_of_queries(manager, django_assert_num_queries):
    for n in range(3):
        person(manager, email=f"x{n}@example.com", phone="+14155552671")
        person(manager, email=f"y{n}@example.com", phone=f"+1415555267{n + 2}")
        person(manager, email=f"z{n}@example.com", phone=f"+1415555267{n + 2}")

    with django_assert_num_queries(4):
        groups = queries.probable_duplicates()

    assert len(groups) == 4


def test_merging_moves_every_record_and_fills_blanks(manager, marketer):
    survivor = person(manager, email="ann@example.com", consent_email=True)
    merged = person(
        manager,
        email="ann.lee@work.example",
        phone="+14155552671",
        external_id="shop-9",
        postal_address="1 Main St",
        estimated_wallet=Decimal("900"),
    )
    activity.record_purchase(customer=merged, amount=Decimal("50"), purchased_on=date.today())
    activity.log_interaction(customer=merged, author=manager, channel="call", summary="hi")
    activity.open_complaint(customer=merged, by=manager, category="x", description="y")
    activity.record_referral(referrer=merged, referred_name="Bob")
    activity.give_reward(customer=merged, kind="gift", reason="thanks")
    activity.schedule_follow_up(
        customer=merged, assignee=manager, due_at=timezone.now(), reason="call"
    )

    merge.merge_customers(survivor=survivor, merged=merged, by=marketer)

    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert survivor.phone == "+14155552671"
    assert survivor.external_id == "shop-9"
    assert survivor.postal_address == "1 Main St"
    assert survivor.estimated_wallet == Decimal("900.00")
    assert survivor.email == "ann@example.com"  # the survivor's own value wins
    for related in (
        "purchases",
        "interactions",
        "complaints",
        "referrals",
        "rewards",
        "follow_ups",
    ):
        assert getattr(survivor, related).count() == 1, related
        assert getattr(merged, related).count() == 0, related
    assert survivor.lifetime_value == Decimal("50.00")
    assert merged.deleted_at is not None
    assert merged.merged_into == survivor
    assert merged.external_id is None
    assert TimelineEntry.objects.filter(customer=survivor, kind="merge").exists()


def test_the_latest_consent_decision_wins(manager, marketer):
    survivor = person(manager, email="a@example.com", consent_email=True)
    merged = person(manager, email="b@example.com", consent_email=True)
    records.set_consent(customer=merged, channel="email", granted=False, source="x")
    ConsentChange.objects.filter(customer=merged, granted=False).update(
        changed_at=timezone.now() + timedelta(seconds=5)
    )
    records.set_consent(customer=merged, channel="sms", granted=True, source="y")

    merge.merge_customers(survivor=survivor, merged=merged, by=marketer)

    survivor.refresh_from_db()
    assert survivor.consent_email is False
    assert survivor.consent_sms is True


def test_a_merged_customer_becomes_a_tombstone_for_sync(client, manager, marketer):
    survivor = person(manager, email="a@example.com")
    merged = person(manager, email="b@example.com", external_id="crm-1")
    merge.merge_customers(survivor=survivor, merged=merged, by=marketer)
    client.force_login(marketer)

    response = client.get("/api/v1/customers/deleted/")

    assert response.json()["results"] == [
        {
            "id": merged.pk,
            "external_id": None,
            "deleted_at": response.json()["results"][0]["deleted_at"],
            "merged_into": survivor.pk,
        }
    ]


def test_merging_a_customer_into_itself_or_twice_is_refused(manager, marketer):
    survivor = person(manager, email="a@example.com")
    merged = person(manager, email="b@example.com")

    with pytest.raises(ValidationError):
        merge.merge_customers(survivor=survivor, merged=survivor, by=marketer)
    merge.merge_customers(survivor=survivor, merged=merged, by=marketer)
    with pytest.raises(ValidationError):
        merge.merge_customers(survivor=survivor, merged=merged, by=marketer)


def test_the_duplicates_page_merges_for_marketers_only(client, manager, marketer):
    first = person(manager, email="a@example.com", phone="+14155552671")
    second = person(manager, email="b@example.com", phone="+14155552671")
    client.force_login(manager)
    assert client.get("/customers/duplicates/").status_code == 403
    assert (
        client.post("/customers/merge/", {"survivor": first.pk, "merged": second.pk}).status_code
        == 403
    )

    client.force_login(marketer)
    page = client.get("/customers/duplicates/")
    response = client.post(
        "/customers/merge/", {"survivor": first.pk, "merged": second.pk, "confirmed": "yes"}
    )

    assert b"Same phone" in page.content
    assert response.status_code == 302
    assert Customer.objects.get(pk=second.pk).merged_into_id == first.pk
    assert b"No probable duplicates" in client.get("/customers/duplicates/").content


def test_merging_keeps_what_either_record_told_us(manager, marketer):
    news, tips = Topic.objects.create(name="Product news"), Topic.objects.create(name="Tips")
    survivor = person(manager, email="ann@example.com")
    merged = person(manager, email="ann.lee@example.com")
    survivor.topics.add(news)
    merged.topics.add(tips)
    preferences.record_value_answer(customer=merged, question="valuable", text="The advice.")

    merge.merge_customers(survivor=survivor, merged=merged, by=marketer)

    assert set(survivor.topics.all()) == {news, tips}
    assert list(survivor.value_answers.values_list("text", flat=True)) == ["The advice."]


def test_the_survivor_takes_the_merged_records_place_on_static_lists(manager, marketer):
    from customers import static_lists

    survivor = person(manager, email="ann@example.com")
    merged = person(manager, email="ann.lee@example.com")
    both, _ = static_lists.create_list(
        owner=marketer, name="Both", entries=[str(survivor.pk), str(merged.pk)]
    )
    only_merged, _ = static_lists.create_list(owner=marketer, name="One", entries=[str(merged.pk)])

    merge.merge_customers(survivor=survivor, merged=merged, by=marketer)

    assert list(static_lists.list_customers(both)) == [survivor]
    assert list(static_lists.list_customers(only_merged)) == [survivor]
    assert both.members.count() == 2  # the tombstone keeps its row; it is never listed
