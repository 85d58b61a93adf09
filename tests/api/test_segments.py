"""GET/POST /api/v1/segments/ and GET /api/v1/segments/{id}/customers/."""

import pytest

from customers import segments
from customers.models import Audience, Segment
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_it_saves_a_segment_and_lists_its_customers(marketer_api, manager):
    inside = CustomerFactory(audience=Audience.B2B, churn_risk=80, owner=manager)
    CustomerFactory(audience=Audience.B2B, churn_risk=10)

    created = marketer_api.post(
        "/api/v1/segments/",
        {"name": "B2B at risk", "filters": {"audience": ["b2b"], "risk": ["high"]}},
        content_type="application/json",
    )
    segment_id = created.json()["id"]
    listed = marketer_api.get("/api/v1/segments/")
    customers = marketer_api.get(f"/api/v1/segments/{segment_id}/customers/")

    assert created.status_code == 201
    assert created.json()["filters"] == {"audience": ["b2b"], "risk": ["high"]}
    assert [s["name"] for s in listed.json()["results"]] == ["B2B at risk"]
    assert [c["id"] for c in customers.json()["results"]] == [inside.pk]


def test_bad_filters_are_a_400_naming_them_and_save_nothing(marketer_api):
    for body in (
        {"name": "x", "filters": {"risk": ["extreme"]}},
        {"name": "x", "filters": {"colour": ["red"]}},
        {"name": "", "filters": {}},
        {"name": "x", "filters": "risk=high"},
    ):
        response = marketer_api.post("/api/v1/segments/", body, content_type="application/json")
        assert response.status_code == 400, body
    assert not Segment.objects.exists()


def test_another_managers_segment_is_a_404(manager_api, other_manager):
    theirs = segments.save_segment(owner=other_manager, name="Theirs", query="")

    assert manager_api.get(f"/api/v1/segments/{theirs.pk}/").status_code == 404
    assert manager_api.get(f"/api/v1/segments/{theirs.pk}/customers/").status_code == 404
    assert manager_api.get("/api/v1/segments/").json()["results"] == []


def test_unknown_parameters_are_a_400(marketer_api, marketer):
    segment = segments.save_segment(owner=marketer, name="All", query="")

    assert marketer_api.get("/api/v1/segments/", {"nmae": "x"}).status_code == 400
    response = marketer_api.get(f"/api/v1/segments/{segment.pk}/customers/", {"tier": "x"})
    assert response.status_code == 400
    assert "tier" in response.json()["errors"]


def test_the_customers_of_a_segment_take_a_fixed_number_of_queries(
    marketer_api, marketer, django_assert_max_num_queries
):
    segment = segments.save_segment(owner=marketer, name="B2B", query="audience=b2b")
    CustomerFactory.create_batch(2, audience=Audience.B2B)
    with django_assert_max_num_queries(8) as few:
        marketer_api.get(f"/api/v1/segments/{segment.pk}/customers/")

    CustomerFactory.create_batch(20, audience=Audience.B2B)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = marketer_api.get(f"/api/v1/segments/{segment.pk}/customers/")
    assert len(response.json()["results"]) == 22
