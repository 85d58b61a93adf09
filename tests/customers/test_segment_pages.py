"""The list's total and "Save as segment", the segments page, exports and invitations of a
saved segment."""

import pytest

from customers import queries, segments
from customers.models import Audience, Segment, SegmentCount
from nps.models import Invitation, Survey
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_list_shows_the_total_of_its_filter(client, marketer):
    CustomerFactory.create_batch(3, audience=Audience.B2B)
    CustomerFactory.create_batch(2, audience=Audience.RETAIL)
    client.force_login(marketer)

    page = client.get("/customers/", {"audience": "b2b"})

    assert page.context["total"] == 3
    assert "<strong>3</strong> customers match these filters" in page.content.decode()


def test_past_the_bound_the_list_says_more_than(client, marketer, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_BOUND", 2)
    CustomerFactory.create_batch(4)
    client.force_login(marketer)

    page = client.get("/customers/")

    assert "More than 2" in page.content.decode()


def test_saving_the_list_filter_as_a_segment_and_finding_it_again(client, marketer, manager):
    CustomerFactory(last_name="Risky", audience=Audience.B2B, churn_risk=90, owner=manager)
    client.force_login(marketer)

    saved = client.post(
        "/customers/segments/",
        {"name": "B2B at risk", "query": f"audience=b2b&risk=high&owner={manager.username}"},
        follow=True,
    )
    segment = Segment.objects.get()
    listing = client.get("/customers/", segment.filters)
    count = client.get(f"/customers/segments/{segment.pk}/count/", headers={"HX-Request": "true"})

    assert "Saved the segment" in saved.content.decode()
    assert "B2B at risk" in saved.content.decode()
    assert segment.owner == marketer
    assert [c.last_name for c in listing.context["page"].rows] == ["Risky"]
    assert count.content.decode().strip() == "1"


def test_a_bad_segment_is_refused_and_the_list_keeps_its_filter(client, marketer):
    client.force_login(marketer)

    response = client.post(
        "/customers/segments/", {"name": "", "query": "audience=b2b"}, follow=True
    )

    assert "not saved" in response.content.decode()
    assert response.redirect_chain[-1][0] == "/customers/?audience=b2b"
    assert not Segment.objects.exists()


def test_the_segments_page_runs_a_fixed_number_of_queries(
    client, marketer, manager, django_assert_max_num_queries
):
    first = segments.save_segment(owner=manager, name="a", query="risk=high")
    SegmentCount.objects.create(segment=first, day="2026-01-01", customers=3)
    client.force_login(marketer)
    with django_assert_max_num_queries(6) as few:
        client.get("/customers/segments/")

    for n in range(8):
        segments.save_segment(owner=marketer, name=f"s{n}", query="risk=low")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/customers/segments/")
    assert page.content.decode().count("hx-get=") == 9


def test_only_the_author_or_an_admin_deletes_a_segment(client, marketer, manager, admin_user):
    segment = segments.save_segment(owner=manager, name="Mine", query="")
    client.force_login(marketer)
    assert client.post(f"/customers/segments/{segment.pk}/delete/").status_code == 403
    client.force_login(manager)
    assert client.post(f"/customers/segments/{segment.pk}/delete/").status_code == 302
    assert not Segment.objects.exists()


def test_the_export_of_a_segment(client, marketer):
    CustomerFactory(last_name="Inside", audience=Audience.B2B)
    CustomerFactory(last_name="Outside", audience=Audience.RETAIL)
    segment = segments.save_segment(owner=marketer, name="B2B", query="audience=b2b")
    client.force_login(marketer)

    response = client.get("/customers/export.csv", {"segment": segment.pk})
    body = b"".join(response.streaming_content).decode() if response.streaming else ""
    body = body or response.content.decode()

    assert "Inside" in body
    assert "Outside" not in body


def test_inviting_a_segment_to_a_survey(client, marketer):
    survey = Survey.objects.order_by("id").first()
    CustomerFactory(last_name="Inside", audience=Audience.B2B, consent_email=True)
    CustomerFactory(last_name="Outside", audience=Audience.RETAIL, consent_email=True)
    segment = segments.save_segment(owner=marketer, name="B2B", query="audience=b2b")
    client.force_login(marketer)

    page = client.get(f"/surveys/{survey.pk}/invite/", {"segment": segment.pk})
    client.post(f"/surveys/{survey.pk}/invite/?segment={segment.pk}")

    assert page.context["matching"] == 1
    assert list(Invitation.objects.values_list("customer__last_name", flat=True)) == ["Inside"]
