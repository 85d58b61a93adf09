"""GET/POST /api/v1/referrals/ and GET /api/v1/referrals/{id}/."""

import pytest

from customers.models import Referral, TimelineEntry
from tests.api.conftest import customer_page
from tests.factories import CustomerFactory, ReferralFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(manager):
    return CustomerFactory(owner=manager)


def test_recording_a_referral_gives_a_code_and_tells_the_page(manager_api, manager, ann):
    response = manager_api.post(
        "/api/v1/referrals/",
        {"referrer": ann.pk, "referred_name": "Bea Lee", "referred_email": " Bea@Example.com"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    referral = Referral.objects.get(pk=body["id"])
    assert referral.referrer == ann
    assert body["code"] == referral.code and len(body["code"]) == 10
    assert body["status"] == "invited" and body["referred_customer"] is None
    assert body["referred_email"] == "bea@example.com"
    assert f"Referred Bea Lee (code {referral.code})" in customer_page(manager, ann)


@pytest.mark.parametrize(
    ("field", "payload"),
    [
        ("referred_email", {"referred_email": "not an address"}),
        ("referred_name", {"referred_name": "x" * 201}),
        ("referred_name", {"referred_name": "\ud800"}),
        ("referrer", {"referrer": "abc"}),
        ("referrer", {"referrer": None}),
    ],
)
def test_a_bad_referral_is_400_and_records_nothing(manager_api, ann, field, payload):
    response = manager_api.post(
        "/api/v1/referrals/", {"referrer": ann.pk, **payload}, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Referral.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_another_owners_referrals_are_404_and_cannot_be_added_to(manager_api, other_manager):
    customer = CustomerFactory(owner=other_manager)
    theirs = ReferralFactory(referrer=customer)

    read = manager_api.get(f"/api/v1/referrals/{theirs.pk}/")
    listed = manager_api.get("/api/v1/referrals/")
    added = manager_api.post(
        "/api/v1/referrals/",
        {"referrer": customer.pk, "referred_name": "Sneaky"},
        content_type="application/json",
    )

    assert read.status_code == 404
    assert listed.json()["results"] == []
    assert added.status_code == 400 and list(added.json()["errors"]) == ["referrer"]
    assert Referral.objects.count() == 1


def test_the_list_filters_by_referrer_and_status(marketer_api, ann):
    invited = ReferralFactory(referrer=ann)
    ReferralFactory(referrer=ann, status=Referral.Status.CONVERTED)
    ReferralFactory()

    response = marketer_api.get("/api/v1/referrals/", {"referrer": ann.pk, "status": "invited"})

    assert [row["id"] for row in response.json()["results"]] == [invited.pk]


def test_the_list_runs_few_queries(manager_api, ann, django_assert_num_queries):
    for _ in range(20):
        ReferralFactory(referrer=ann)
    manager_api.get("/api/v1/referrals/")

    with django_assert_num_queries(3):  # token, roles, page
        response = manager_api.get("/api/v1/referrals/")

    assert len(response.json()["results"]) == 20
