"""GET /api/v1/customers/deleted/?since=: tombstones so sync clients learn of deletions."""

from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_it_lists_customers_deleted_since_only(marketer_api):
    now = timezone.now()
    CustomerFactory(external_id="old", deleted_at=now - timedelta(days=2))
    recent = CustomerFactory(external_id="recent", deleted_at=now - timedelta(hours=1))
    CustomerFactory(external_id="live")

    response = marketer_api.get(
        "/api/v1/customers/deleted/", {"since": (now - timedelta(days=1)).isoformat()}
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    [tombstone] = body["results"]
    assert {"id", "external_id", "deleted_at"} <= set(tombstone)
    assert (tombstone["id"], tombstone["external_id"]) == (recent.pk, "recent")
    assert tombstone["deleted_at"].startswith(recent.deleted_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_without_since_it_lists_every_tombstone(marketer_api):
    gone = [CustomerFactory(deleted_at=timezone.now()) for _ in range(3)]
    CustomerFactory()

    response = marketer_api.get("/api/v1/customers/deleted/")

    assert [row["id"] for row in response.json()["results"]] == [c.pk for c in gone]


def test_tombstones_are_scoped_by_ownership(manager_api, manager, other_manager):
    mine = CustomerFactory(owner=manager, deleted_at=timezone.now())
    CustomerFactory(owner=other_manager, deleted_at=timezone.now())

    response = manager_api.get("/api/v1/customers/deleted/")

    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_tombstones_come_in_cursor_pages(marketer_api):
    gone = [CustomerFactory(deleted_at=timezone.now()) for _ in range(5)]

    first = marketer_api.get("/api/v1/customers/deleted/?page_size=2").json()
    ids = [row["id"] for row in first["results"]]
    url = first["next"]
    while url:
        page = marketer_api.get(url).json()
        ids += [row["id"] for row in page["results"]]
        url = page["next"]

    assert ids == [c.pk for c in gone]


def test_an_unreadable_since_is_400(marketer_api):
    response = marketer_api.get("/api/v1/customers/deleted/", {"since": "last tuesday"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["since"]


@pytest.mark.parametrize("since", ["2024-02-30T00:00:00", "0001-01-01T00:00:00+01:00"])
def test_an_impossible_since_is_400(marketer_api, since):
    response = marketer_api.get("/api/v1/customers/deleted/", {"since": since})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["since"]


def test_a_since_with_an_offset_postgresql_cannot_store_is_read_in_utc(marketer_api):
    # -21:09 is valid ISO 8601, but beyond the ±15:59 PostgreSQL accepts in a literal.
    since = datetime(2024, 6, 22, 10, 5, 1, tzinfo=dt_timezone(timedelta(hours=-21, minutes=-9)))
    CustomerFactory(deleted_at=(since - timedelta(seconds=1)).astimezone(UTC))
    after = CustomerFactory(deleted_at=(since + timedelta(seconds=1)).astimezone(UTC))

    response = marketer_api.get("/api/v1/customers/deleted/", {"since": since.isoformat()})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [after.pk]


def test_anonymous_callers_get_401(client):
    assert client.get("/api/v1/customers/deleted/").status_code == 401
