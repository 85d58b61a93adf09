"""GET/POST /api/v1/complaints/, GET /api/v1/complaints/{id}/ and POST .../{id}/resolve/."""

import pytest

from customers.models import Complaint, TimelineEntry
from tests.api.conftest import customer_page
from tests.factories import ComplaintFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(manager):
    return CustomerFactory(owner=manager)


@pytest.fixture
def theirs(other_manager):
    return ComplaintFactory(customer=CustomerFactory(owner=other_manager))


def test_opening_a_complaint_puts_it_on_the_timeline_the_page_shows(manager_api, manager, ann):
    response = manager_api.post(
        "/api/v1/complaints/",
        {
            "customer": ann.pk,
            "category": "Billing",
            "severity": "high",
            "description": "Charged twice.",
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "open" and body["owner"] == "manager"
    assert body["resolved_at"] is None
    complaint = Complaint.objects.get(pk=body["id"])
    assert complaint.customer == ann
    assert "Complaint (high): Billing" in customer_page(manager, ann)


@pytest.mark.parametrize(
    ("field", "payload"),
    [
        ("description", {"category": "Billing"}),
        ("category", {"description": "Late", "category": "x" * 61}),
        ("severity", {"category": "Billing", "description": "Late", "severity": "dire"}),
        ("description", {"category": "Billing", "description": "a\ud800"}),
        ("customer", {"customer": 2**70, "category": "Billing", "description": "Late"}),
    ],
)
def test_a_bad_complaint_is_400_and_opens_nothing(manager_api, ann, field, payload):
    response = manager_api.post(
        "/api/v1/complaints/", {"customer": ann.pk, **payload}, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Complaint.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_a_complaint_on_another_managers_customer_is_refused(manager_api, other_manager):
    customer = CustomerFactory(owner=other_manager)

    response = manager_api.post(
        "/api/v1/complaints/",
        {"customer": customer.pk, "category": "Billing", "description": "Late"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["customer"]
    assert not Complaint.objects.exists()


def test_resolving_closes_it_and_tells_the_timeline(manager_api, manager, ann):
    complaint = ComplaintFactory(customer=ann, category="Delivery")

    response = manager_api.post(
        f"/api/v1/complaints/{complaint.pk}/resolve/",
        {"resolution": "Sent a new parcel by courier."},
        content_type="application/json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "resolved"
    assert response.json()["resolution"] == "Sent a new parcel by courier."
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.RESOLVED and complaint.resolved_at
    assert "Complaint resolved: Delivery" in customer_page(manager, ann)


@pytest.mark.parametrize("body", [{}, {"resolution": "  "}, {"resolution": ["x"]}])
def test_resolving_without_saying_how_is_400_and_leaves_it_open(manager_api, ann, body):
    complaint = ComplaintFactory(customer=ann)

    response = manager_api.post(
        f"/api/v1/complaints/{complaint.pk}/resolve/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["resolution"]
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.OPEN
    assert not TimelineEntry.objects.exists()


def test_resolving_twice_is_400_the_second_time(manager_api, ann):
    complaint = ComplaintFactory(customer=ann)
    url = f"/api/v1/complaints/{complaint.pk}/resolve/"
    manager_api.post(url, {"resolution": "Refunded."}, content_type="application/json")

    again = manager_api.post(url, {"resolution": "Again."}, content_type="application/json")

    assert again.status_code == 400
    complaint.refresh_from_db()
    assert complaint.resolution == "Refunded."
    assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.COMPLAINT_RESOLVED).count() == 1


def test_another_owners_complaint_is_404_to_read_and_to_resolve(manager_api, theirs):
    read = manager_api.get(f"/api/v1/complaints/{theirs.pk}/")
    resolve = manager_api.post(
        f"/api/v1/complaints/{theirs.pk}/resolve/",
        {"resolution": "Not mine."},
        content_type="application/json",
    )
    listed = manager_api.get("/api/v1/complaints/")

    assert read.status_code == 404
    assert resolve.status_code == 404
    assert listed.json()["results"] == []
    theirs.refresh_from_db()
    assert theirs.status == Complaint.Status.OPEN


def test_a_marketer_sees_every_complaint_and_filters_them(marketer_api, ann, theirs):
    mine = ComplaintFactory(customer=ann)
    ComplaintFactory(
        customer=ann,
        status=Complaint.Status.RESOLVED,
        resolution="Done",
        resolved_at=mine.opened_at,
    )

    listed = marketer_api.get("/api/v1/complaints/", {"status": "open"})
    of_ann = marketer_api.get("/api/v1/complaints/", {"customer": ann.pk, "status": "open"})

    assert {row["id"] for row in listed.json()["results"]} == {mine.pk, theirs.pk}
    assert [row["id"] for row in of_ann.json()["results"]] == [mine.pk]


def test_the_list_runs_few_queries(manager_api, manager, ann, django_assert_num_queries):
    for _ in range(20):
        ComplaintFactory(customer=ann, owner=manager)
    manager_api.get("/api/v1/complaints/")

    with django_assert_num_queries(3):  # token, roles, page
        response = manager_api.get("/api/v1/complaints/")

    assert len(response.json()["results"]) == 20
    assert {row["owner"] for row in response.json()["results"]} == {"manager"}
