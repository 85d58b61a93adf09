"""GET/POST /api/v1/lists/, members added and removed, and the customers on a list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import static_lists
from customers.models import StaticList, StaticListMember
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"


def test_it_makes_a_list_from_ids_and_emails_and_reports_bad_entries_by_index(
    marketer_api, manager
):
    ana = CustomerFactory(email="ana@example.com", owner=manager)
    ben = CustomerFactory()

    created = marketer_api.post(
        "/api/v1/lists/",
        {"name": "Fair visitors", "customers": [str(ben.pk), "ANA@example.com", "nope", "999999"]},
        content_type=JSON,
    )
    body = created.json()
    customers = marketer_api.get(f"/api/v1/lists/{body['list']['id']}/customers/")
    listed = marketer_api.get("/api/v1/lists/")

    assert created.status_code == 201
    assert body["list"]["name"] == "Fair visitors" and body["list"]["size"] == 2
    assert body["added"] == 2
    assert [(r["index"], r["value"]) for r in body["refused"]] == [(2, "nope"), (3, "999999")]
    assert {c["id"] for c in customers.json()["results"]} == {ana.pk, ben.pk}
    assert [(x["name"], x["size"]) for x in listed.json()["results"]] == [("Fair visitors", 2)]


def test_members_are_added_and_removed_by_the_author_only(marketer_api, manager_api, marketer):
    ana, ben, cy = CustomerFactory(), CustomerFactory(), CustomerFactory()
    made, _ = static_lists.create_list(owner=marketer, name="Mine", entries=[str(ana.pk)])
    url = f"/api/v1/lists/{made.pk}/members/"

    changed = marketer_api.post(
        url, {"add": [str(ben.pk), str(ana.pk), "x"], "remove": [str(ana.pk)]}, content_type=JSON
    )
    theirs = manager_api.post(url, {"add": [str(cy.pk)]}, content_type=JSON)

    assert changed.status_code == 200
    assert changed.json()["added"] == {
        "added": 1,
        "unchanged": 1,
        "refused": [
            {"index": 2, "value": "x", "reason": "neither a customer id nor an e-mail address"}
        ],
    }
    assert changed.json()["removed"]["removed"] == 1
    assert set(made.members.values_list("customer_id", flat=True)) == {ben.pk}
    # An account manager neither sees a marketer's list nor changes it.
    assert theirs.status_code == 404


def test_an_account_managers_list_holds_only_their_own_customers(
    manager_api, marketer_api, manager
):
    mine, theirs = CustomerFactory(owner=manager), CustomerFactory()

    created = manager_api.post(
        "/api/v1/lists/",
        {"name": "Calls", "customers": [str(mine.pk), str(theirs.pk)]},
        content_type=JSON,
    )
    list_id = created.json()["list"]["id"]

    assert created.json()["added"] == 1 and created.json()["refused"][0]["index"] == 1
    # Marketers see and use it; only its author (or an admin) changes or deletes it.
    assert marketer_api.get(f"/api/v1/lists/{list_id}/").status_code == 200
    assert marketer_api.delete(f"/api/v1/lists/{list_id}/").status_code == 403
    assert manager_api.delete(f"/api/v1/lists/{list_id}/").status_code == 204
    assert not StaticList.objects.exists()


def test_bad_bodies_are_a_400_and_change_nothing(marketer_api, marketer):
    made, _ = static_lists.create_list(owner=marketer, name="Taken")
    for body in (
        {"name": ""},
        {"name": "Taken"},
        {"name": "x", "customers": "1,2"},
        {"name": "x" * 121},
        {"name": "x", "customers": [["1"]]},
    ):
        response = marketer_api.post("/api/v1/lists/", body, content_type=JSON)
        assert response.status_code == 400, body
    bad_members = marketer_api.post(
        f"/api/v1/lists/{made.pk}/members/", {"add": "12"}, content_type=JSON
    )
    assert bad_members.status_code == 400
    assert StaticList.objects.count() == 1 and not StaticListMember.objects.exists()
    assert marketer_api.get("/api/v1/lists/?colour=red").status_code == 400
    assert marketer_api.get(f"/api/v1/lists/{made.pk}/customers/?colour=red").status_code == 400


def test_reading_lists_and_members_takes_a_fixed_number_of_queries(marketer_api, marketer):
    def counts(size: int) -> tuple[int, int]:
        made, _ = static_lists.create_list(
            owner=marketer,
            name=f"List of {size}",
            entries=[str(CustomerFactory().pk) for _ in range(size)],
        )
        found = []
        for url in ("/api/v1/lists/", f"/api/v1/lists/{made.pk}/customers/"):
            with CaptureQueriesContext(connection) as run:
                assert marketer_api.get(url).status_code == 200
            found.append(len(run.captured_queries))
        return tuple(found)

    marketer_api.get("/api/v1/lists/")  # the token's first use is noted once
    few = counts(2)
    assert counts(6) == few
    # Pinned: the lists with their sizes in one query, a page of customers with their topics.
    assert few == (3, 6)
