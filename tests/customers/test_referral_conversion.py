"""Referrals through sync and CSV import, and their conversion on the friend's first purchase."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers import activity, imports, tasks
from customers.models import Customer, ImportJob, Referral, TimelineEntry
from tests.api.conftest import token_client
from tests.factories import CustomerFactory, ReferralFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral(manager) -> Referral:
    referrer = CustomerFactory(first_name="Ann", last_name="Lee", owner=manager)
    return ReferralFactory(referrer=referrer, referred_name="", code="ABC123DEF0")


def sync(user, rows):
    return token_client(user).post(
        "/api/v1/customers/sync/", {"customers": rows}, content_type="application/json"
    )


def referral_lines(customer: Customer) -> list[str]:
    return list(
        customer.timeline.filter(kind=TimelineEntry.Kind.REFERRAL).values_list("title", flat=True)
    )


def test_a_synced_new_customer_with_a_code_is_the_referred_friend(marketer, referral):
    rows = [
        {"external_id": "shop-1", "first_name": "Bob", "email": "bob@example.com"},
        {
            "external_id": "shop-2",
            "first_name": "Cy",
            "email": "cy@example.com",
            "referral_code": " abc123def0 ",
        },
        {"external_id": "shop-3", "first_name": "Dee", "referral_code": "NOSUCHCODE"},
        {"external_id": "shop-4", "first_name": "Eve", "referral_code": 12},
    ]

    response = sync(marketer, rows)

    body = response.json()
    assert response.status_code == 200
    assert body["created"] == 2
    assert [(error["index"], list(error["errors"])) for error in body["errors"]] == [
        (2, ["referral_code"]),
        (3, ["referral_code"]),
    ]
    assert not Customer.objects.filter(external_id__in=["shop-3", "shop-4"]).exists()
    cy = Customer.objects.get(external_id="shop-2")
    referral.refresh_from_db()
    assert (referral.referred_customer, referral.status) == (cy, Referral.Status.SIGNED_UP)
    assert referral_lines(cy) == ["Referred by Ann Lee (code ABC123DEF0)"]
    assert "Cy signed up with referral code ABC123DEF0" in referral_lines(referral.referrer)


def test_a_code_already_used_or_sent_for_an_existing_customer_is_a_row_error(marketer, referral):
    sync(marketer, [{"external_id": "shop-1", "first_name": "Bob", "referral_code": "ABC123DEF0"}])
    other = ReferralFactory(code="SECOND0001")

    again = sync(
        marketer,
        [
            # The same row again (a sync resent): nothing to say.
            {"external_id": "shop-1", "first_name": "Bob", "referral_code": "ABC123DEF0"},
            {"external_id": "shop-2", "first_name": "Cy", "referral_code": "ABC123DEF0"},
            {"external_id": "shop-1", "first_name": "Bob", "referral_code": "SECOND0001"},
        ],
    )

    errors = {error["index"]: error["errors"] for error in again.json()["errors"]}
    assert set(errors) == {1, 2}
    assert "already signed up" in errors[1]["referral_code"][0]
    other.refresh_from_db()
    assert other.referred_customer is None
    assert Referral.objects.filter(referred_customer__external_id="shop-1").count() == 1


def test_the_csv_import_takes_a_referral_code_column(marketer, referral):
    content = (
        "external_id,first_name,email,referral code\n"
        "c-1,Bob,bob@example.com,abc123def0\n"
        "c-2,Cy,cy@example.com,WRONGCODE\n"
    )
    job = imports.store_upload(
        upload=SimpleUploadedFile("people.csv", content.encode(), "text/csv"), by=marketer
    )
    assert job.mapping["3"] == "referral_code"
    imports.set_mapping(job=job, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)

    job = imports.run_import(job_id=job.pk, refresh_later=tasks.refresh_customers_task.delay)

    referral.refresh_from_db()
    assert referral.referred_customer == Customer.objects.get(external_id="c-1")
    rejection = job.rejections.get()
    assert rejection.line == 3
    assert "referral code" in rejection.reason.lower()


def test_the_first_purchase_converts_the_referral_once(referral):
    friend = CustomerFactory()
    Referral.objects.filter(pk=referral.pk).update(
        referred_customer=friend, status=Referral.Status.SIGNED_UP
    )

    activity.record_purchase(customer=friend, amount=Decimal("-5"), purchased_on=date.today())
    referral.refresh_from_db()
    assert referral.status == Referral.Status.SIGNED_UP  # a refund is no first purchase

    activity.record_purchase(customer=friend, amount=Decimal("20"), purchased_on=date.today())
    activity.record_purchase(customer=friend, amount=Decimal("30"), purchased_on=date.today())

    referral.refresh_from_db()
    assert (referral.status, referral.referred_customer) == (Referral.Status.CONVERTED, friend)
    assert referral.converted_at is not None
    assert referral_lines(referral.referrer).count(f"Referral {referral.code} converted") == 1


def test_purchases_synced_twice_convert_once(marketer, referral):
    sync(marketer, [{"external_id": "shop-1", "first_name": "Bob", "referral_code": "ABC123DEF0"}])
    bought = {
        "external_id": "shop-1",
        "purchases": [
            {"external_id": "p-1", "amount": "25.00", "purchased_on": "2026-11-30"},
        ],
    }

    first = sync(marketer, [bought])
    second = sync(marketer, [bought])

    assert (first.status_code, second.status_code) == (200, 200)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CONVERTED
    assert referral_lines(referral.referrer).count(f"Referral {referral.code} converted") == 1


def test_purchases_added_through_the_purchases_endpoint_convert(marketer, referral):
    friend = CustomerFactory(external_id="shop-9")
    Referral.objects.filter(pk=referral.pk).update(
        referred_customer=friend, status=Referral.Status.SIGNED_UP
    )

    response = token_client(marketer).post(
        "/api/v1/purchases/",
        {
            "purchases": [
                {
                    "customer": friend.pk,
                    "external_id": "p-7",
                    "amount": "9.50",
                    "purchased_on": "2026-11-30",
                }
            ]
        },
        content_type="application/json",
    )

    assert response.status_code < 300, response.content
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CONVERTED


def test_a_marketer_marking_it_keeps_the_friend_and_a_withdrawn_one_stays(referral):
    friend = CustomerFactory()
    Referral.objects.filter(pk=referral.pk).update(
        referred_customer=friend, status=Referral.Status.SIGNED_UP
    )
    referral.refresh_from_db()
    withdrawn = ReferralFactory(status=Referral.Status.EXPIRED)

    activity.convert_referral(referral=referral)
    activity.convert_referral(referral=withdrawn)

    referral.refresh_from_db()
    withdrawn.refresh_from_db()
    assert (referral.status, referral.referred_customer) == (Referral.Status.CONVERTED, friend)
    assert withdrawn.status == Referral.Status.EXPIRED


def test_the_state_shows_on_both_360_pages_and_in_the_api(client, manager, referral):
    friend = CustomerFactory(first_name="Bob", last_name="Friend", owner=manager)
    Referral.objects.filter(pk=referral.pk).update(
        referred_customer=friend, status=Referral.Status.SIGNED_UP
    )
    ReferralFactory(referrer=referral.referrer, code="EXPIRED001", status="expired")
    client.force_login(manager)

    referrer_page = client.get(f"/customers/{referral.referrer_id}/").content.decode()
    friend_page = client.get(f"/customers/{friend.pk}/").content.decode()
    listed = token_client(manager).get("/api/v1/referrals/", {"status": "signed_up"}).json()

    assert "Referred <a" in referrer_page and "Bob Friend</a>" in referrer_page
    assert '<span class="referral-state">Signed up</span>' in referrer_page
    assert '<span class="referral-state">Expired</span>' in referrer_page
    assert "Referred by <a" in friend_page and "Ann Lee</a>" in friend_page
    assert '<span class="referral-state">Signed up</span>' in friend_page
    assert [(r["code"], r["status"], r["referred_customer"]) for r in listed["results"]] == [
        ("ABC123DEF0", "signed_up", friend.pk)
    ]

    activity.record_purchase(customer=friend, amount=Decimal("20"), purchased_on=date.today())

    friend_page = client.get(f"/customers/{friend.pk}/").content.decode()
    assert '<span class="referral-state">Converted</span>' in friend_page
    converted = token_client(manager).get("/api/v1/referrals/", {"status": "converted"}).json()
    assert [r["code"] for r in converted["results"]] == ["ABC123DEF0"]


def test_a_marketer_marks_a_referral_converted_from_the_360_page(
    client, marketer, manager, referral
):
    client.force_login(marketer)
    page = client.get(f"/customers/{referral.referrer_id}/").content.decode()
    assert f"Mark referral {referral.code} converted" in page

    first = client.post(f"/customers/referrals/{referral.pk}/convert/")
    second = client.post(f"/customers/referrals/{referral.pk}/convert/", follow=True)

    assert first.status_code == 302
    assert first["Location"] == f"/customers/{referral.referrer_id}/"
    assert "already converted" in second.content.decode()
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CONVERTED
    assert referral_lines(referral.referrer).count(f"Referral {referral.code} converted") == 1
    client.force_login(manager)
    assert "Mark referral" not in client.get(f"/customers/{referral.referrer_id}/").content.decode()
