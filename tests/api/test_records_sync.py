"""What a sync client pages by on the records beside a customer: `?updated_since=`, which every
write moves (opening, resolving, completing, converting, a new owner, a merge), and ETags."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers import activity, merge
from customers.models import Complaint, FollowUp, Referral
from tests.factories import ComplaintFactory, CustomerFactory, FollowUpFactory, ReferralFactory

pytestmark = pytest.mark.django_db

# Each record's list, its factory, and how to make the factory's row a customer's.
RECORDS = [
    ("/api/v1/complaints/", Complaint, lambda c: ComplaintFactory(customer=c)),
    ("/api/v1/follow-ups/", FollowUp, lambda c: FollowUpFactory(customer=c)),
    ("/api/v1/referrals/", Referral, lambda c: ReferralFactory(referrer=c)),
]


def written_long_ago(*records) -> None:
    for record in records:
        type(record).objects.filter(pk=record.pk).update(
            updated_at=timezone.now() - timedelta(days=3)
        )


def changed_since(client, url: str) -> list[int]:
    since = (timezone.now() - timedelta(days=1)).isoformat()
    # mine=0: an account manager's follow-ups list would show only those assigned to them.
    query = {"updated_since": since, **({"mine": "0"} if "follow-ups" in url else {})}
    response = client.get(url, query)
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize(("url", "model", "make"), RECORDS)
def test_updated_since_lists_only_what_was_written_since(manager_api, manager, url, model, make):
    ann = CustomerFactory(owner=manager)
    old, new = make(ann), make(ann)
    written_long_ago(old)

    assert changed_since(manager_api, url) == [new.pk]
    assert manager_api.get(url, {"updated_since": "last week"}).status_code == 400


@pytest.mark.parametrize(("url", "model", "make"), RECORDS)
def test_one_record_comes_with_an_etag_that_moves_when_it_is_written(
    manager_api, manager, url, model, make
):
    record = make(CustomerFactory(owner=manager))
    first = manager_api.get(f"{url}{record.pk}/")["ETag"]
    written_long_ago(record)

    assert first and manager_api.get(f"{url}{record.pk}/")["ETag"] != first


def test_resolving_a_complaint_moves_its_update_time(manager_api, manager):
    complaint = ComplaintFactory(customer=CustomerFactory(owner=manager))
    written_long_ago(complaint)

    manager_api.post(
        f"/api/v1/complaints/{complaint.pk}/resolve/",
        {"resolution": "Refunded."},
        content_type="application/json",
    )

    assert changed_since(manager_api, "/api/v1/complaints/") == [complaint.pk]


def test_completing_or_handing_over_a_follow_up_moves_its_update_time(
    manager_api, manager, other_manager
):
    ann = CustomerFactory(owner=manager)
    done, handed_over = FollowUpFactory(customer=ann), FollowUpFactory(customer=ann)
    written_long_ago(done, handed_over)

    manager_api.post(f"/api/v1/follow-ups/{done.pk}/complete/")
    activity.move_open_follow_ups(moves=[(ann.pk, manager.pk, other_manager.pk)])

    assert sorted(changed_since(manager_api, "/api/v1/follow-ups/")) == [
        done.pk,
        handed_over.pk,
    ]


def test_converting_a_referral_moves_its_update_time(marketer_api, manager):
    referral = ReferralFactory(referrer=CustomerFactory(owner=manager))
    written_long_ago(referral)

    activity.convert_referral(referral=referral)

    assert changed_since(marketer_api, "/api/v1/referrals/") == [referral.pk]


def test_records_a_merge_moves_are_listed_as_changed(marketer_api, manager, marketer):
    survivor, merged = CustomerFactory(owner=manager), CustomerFactory(owner=manager)
    records = [make(merged) for _url, _model, make in RECORDS]
    written_long_ago(*records)

    merge.merge_customers(survivor=survivor, merged=merged, by=marketer)

    for (url, _model, _make), record in zip(RECORDS, records, strict=True):
        assert changed_since(marketer_api, url) == [record.pk]
