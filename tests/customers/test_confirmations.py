"""Irreversible actions on customers ask first: the first post shows what will happen and
changes nothing; only the confirming post does it."""

import pytest

from customers import records
from customers.models import Customer, Tier, TierChange

pytestmark = pytest.mark.django_db


def person(owner, **fields) -> Customer:
    data = {"first_name": "Ann", "last_name": "Lee", "owner": owner, **fields}
    return records.create_customer(data=data, by=owner)


@pytest.fixture
def twins(manager):
    first = person(manager, email="a@example.com", phone="+14155552671")
    second = person(manager, email="b@example.com", phone="+14155552671")
    return first, second


def test_a_merge_first_asks_and_changes_nothing(client, marketer, twins):
    first, second = twins
    client.force_login(marketer)

    response = client.post("/customers/merge/", {"survivor": first.pk, "merged": second.pk})

    content = response.content.decode()
    assert response.status_code == 200
    assert f"Merge #{second.pk} into #{first.pk}?" in content
    assert "b@example.com" in content and "a@example.com" in content
    assert "This cannot be undone." in content
    assert '<input type="hidden" name="confirmed" value="yes">' in content
    assert Customer.objects.filter(deleted_at__isnull=True).count() == 2
    assert Customer.objects.get(pk=second.pk).merged_into_id is None


def test_a_confirmed_merge_merges(client, marketer, twins):
    first, second = twins
    client.force_login(marketer)

    response = client.post(
        "/customers/merge/", {"survivor": first.pk, "merged": second.pk, "confirmed": "yes"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{first.pk}/"
    assert Customer.objects.get(pk=second.pk).merged_into_id == first.pk


def test_the_merge_confirmation_is_for_marketers_only(client, manager, twins):
    first, second = twins
    client.force_login(manager)

    response = client.post("/customers/merge/", {"survivor": first.pk, "merged": second.pk})

    assert response.status_code == 403


def test_removing_a_rung_says_how_many_move_where_and_changes_nothing(client, marketer, manager):
    repeat = Tier.objects.get(slug="repeat")
    people = [person(manager, email=f"p{n}@example.com") for n in range(3)]
    Customer.objects.filter(pk__in=[p.pk for p in people]).update(tier=repeat)
    client.force_login(marketer)

    response = client.post("/customers/ladder/", {"action": "remove", "tier": repeat.pk})

    content = response.content.decode()
    below = Tier.objects.filter(rank__lt=repeat.rank).order_by("-rank").first()
    assert response.status_code == 200
    assert f"Remove the rung “{repeat.name}”?" in content
    assert f"Its 3 customers move down to “{below.name}”" in content
    assert Tier.objects.filter(pk=repeat.pk).exists()
    assert Customer.objects.filter(tier=repeat).count() == 3
    assert not TierChange.objects.filter(rule="ladder.removed").exists()


def test_a_confirmed_rung_removal_moves_its_customers(client, marketer, manager):
    repeat = Tier.objects.get(slug="repeat")
    customer = person(manager, email="p@example.com")
    Customer.objects.filter(pk=customer.pk).update(tier=repeat)
    client.force_login(marketer)

    response = client.post(
        "/customers/ladder/", {"action": "remove", "tier": repeat.pk, "confirmed": "yes"}
    )

    customer.refresh_from_db()
    assert response.status_code == 302
    assert not Tier.objects.filter(pk=repeat.pk).exists()
    assert customer.tier.slug == "first-time"


def test_removing_the_bottom_rung_says_its_customers_move_up(client, marketer, manager):
    bottom = Tier.objects.order_by("rank").first()
    above = Tier.objects.order_by("rank")[1]
    customer = person(manager, email="p@example.com")
    Customer.objects.filter(pk=customer.pk).update(tier=bottom)
    client.force_login(marketer)

    response = client.post("/customers/ladder/", {"action": "remove", "tier": bottom.pk})

    assert f"Its 1 customer moves up to “{above.name}”" in response.content.decode()
    assert Tier.objects.filter(pk=bottom.pk).exists()
