"""The dashboard's audience picker: a saved segment (or everyone) the figures are computed over,
remembered per user; and the site's own 400 page."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bonding import queries, services
from bonding.models import DashboardAudience
from customers import segments
from tests.bonding.test_dashboard import Scene, figures, raw_figures

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(manager, other_manager):
    return Scene(manager, other_manager)


def test_a_segments_figures_are_its_customers_counted_from_the_rows(scene, marketer):
    services.refresh_dashboard_tallies()  # the tallies hold everyone's: a segment reads none
    b2b = segments.save_segment(owner=marketer, name="B2B", query="audience=b2b")
    managed = segments.save_segment(owner=marketer, name="Alex's", query="owner=manager")

    for segment in (b2b, managed):
        for days in (30, 365):
            scope = queries.Scope(user=marketer, days=days, segment=segment)
            assert figures(queries.dashboard(scope)) == raw_figures(scope), (segment, days)

    shown = figures(queries.dashboard(queries.Scope(user=marketer, days=365, segment=b2b)))
    prospect, client, others, nobody = scene.customers
    assert shown["top"] == [client.pk, nobody.pk]
    assert sum(rung[0] for rung in shown["rungs"].values()) == 2
    board = queries.dashboard(queries.Scope(user=marketer, segment=b2b))
    assert board.ladder_at is None and board.nps.waiting_at is None  # counted now


def test_an_account_manager_sees_only_their_own_customers_of_a_segment(scene, manager, marketer):
    services.refresh_dashboard_tallies()
    # The marketer's segment spans owners; the manager's dashboard keeps to their own.
    b2b = segments.save_segment(owner=manager, name="B2B", query="audience=b2b")

    shown = figures(queries.dashboard(queries.Scope(user=manager, days=365, segment=b2b)))

    assert shown["top"] == [scene.customers[1].pk]


def pick(client: Client, segment) -> object:
    token = client.get("/").cookies["csrftoken"].value
    return client.post(
        "/dashboard/audience/",
        {"segment": segment, "query": "days=90&audience=b2b&page=9", "csrfmiddlewaretoken": token},
    )


def test_the_picked_segment_is_remembered_and_shown(scene, marketer, manager):
    b2b = segments.save_segment(owner=marketer, name="B2B clients", query="audience=b2b")
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)

    refused = client.post("/dashboard/audience/", {"segment": b2b.pk})
    picked = pick(client, b2b.pk)

    assert refused.status_code == 403
    assert picked.status_code == 302 and picked["Location"] == "/?days=90&audience=b2b"
    assert DashboardAudience.objects.get(user=marketer).segment == b2b
    page = client.get("/").content.decode()
    assert f'<option value="{b2b.pk}" selected>B2B clients</option>' in page
    assert "Figures of the segment “B2B clients”" in page
    # Others' choices are their own.
    other = Client()
    other.force_login(manager)
    assert "Figures of the segment" not in other.get("/").content.decode()

    assert pick(client, "").status_code == 302
    assert not DashboardAudience.objects.filter(user=marketer).exists()


def test_a_segment_one_may_not_use_is_a_friendly_400_that_changes_nothing(scene, marketer, manager):
    theirs = segments.save_segment(owner=marketer, name="Marketing's", query="risk=high")
    mine = segments.save_segment(owner=manager, name="Mine", query="")
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    assert pick(client, mine.pk).status_code == 302

    for bad in (theirs.pk, "x", 10**20):
        response = pick(client, bad)
        assert response.status_code == 400, bad
        page = response.content.decode()
        assert "That did not work" in page and "segment:" in page
        assert "Dashboard" in page  # in the site's layout, navigation and all
    assert DashboardAudience.objects.get(user=manager).segment == mine


def test_a_forgotten_segment_takes_the_dashboard_back_to_everyone(scene, marketer, client):
    b2b = segments.save_segment(owner=marketer, name="B2B", query="audience=b2b")
    services.choose_dashboard_audience(user=marketer, segment=b2b)

    segments.delete_segment(segment=b2b)

    assert queries.dashboard_segment(marketer) is None


def test_a_segments_dashboard_reads_a_fixed_number_of_queries(
    scene, manager, other_manager, marketer, client, django_assert_num_queries
):
    b2b = segments.save_segment(owner=marketer, name="B2B", query="audience=b2b&risk=high")
    services.choose_dashboard_audience(user=marketer, segment=b2b)
    client.force_login(marketer)

    def count() -> int:
        with CaptureQueriesContext(connection) as run:
            assert client.get("/", headers={"HX-Request": "true"}).status_code == 200
        return len(run.captured_queries)

    few = count()
    Scene(manager, other_manager, copies=4)
    assert count() == few
    with django_assert_num_queries(few):
        client.get("/", headers={"HX-Request": "true"})


def test_bad_ids_or_segment_on_the_list_show_the_sites_400_page(marketer, client):
    client.force_login(marketer)

    for url in ("/customers/export.csv?ids=1,x", "/customers/export.csv?segment=abc"):
        response = client.get(url)
        assert response.status_code == 400, url
        page = response.content.decode()
        assert "That did not work" in page and "Nothing was changed" in page, url
        assert 'href="/customers/"' in page  # the layout's navigation


def test_a_request_for_another_host_gets_the_400_page_too(client):
    response = client.get("/accounts/login/", headers={"host": "evil.example"})

    assert response.status_code == 400
    assert "That did not work" in response.content.decode()


@pytest.mark.postgres("the members are kept in a PostgreSQL temporary table")
def test_a_segments_members_are_worked_out_once_a_page(scene, marketer, client):
    at_risk = segments.save_segment(owner=marketer, name="At risk", query="risk=high")
    services.choose_dashboard_audience(user=marketer, segment=at_risk)
    client.force_login(marketer)

    with CaptureQueriesContext(connection) as run:
        assert client.get("/", headers={"HX-Request": "true"}).status_code == 200

    # The segment's own filter is read by one query; every figure reads the ids it kept.
    reading = [q["sql"] for q in run.captured_queries if '"churn_risk" >= 67' in q["sql"]]
    assert len(reading) == 1 and reading[0].startswith("CREATE TEMPORARY TABLE"), reading
    assert sum("dashboard_segment_" in q["sql"] for q in run.captured_queries) > 5
    # Keyed by the customer: the most valuable members are probed in the value index's order.
    keyed = [q["sql"] for q in run.captured_queries if q["sql"].startswith("ALTER TABLE")]
    assert keyed and all(sql.endswith("ADD PRIMARY KEY (id)") for sql in keyed), keyed
