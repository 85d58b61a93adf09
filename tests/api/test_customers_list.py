"""GET /api/v1/customers/: the contract's fields, filters, ownership and cursor pages."""

import base64
import json
from datetime import UTC, datetime, timedelta
from datetime import timezone as tz

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer, Tier
from tests.factories import AccountFactory, CustomerFactory

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id",
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "account",
    "audience",
    "relationship",
    "tier",
    "owner",
    "preferred_channel",
    "timezone",
    "consents",
    "lifetime_value",
    "share_of_wallet",
    "churn_risk",
    "nps_latest",
    "created_at",
    "updated_at",
}


def cursor(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def walk(client, url: str) -> tuple[list[int], int]:
    """Follow `next` links from `url`; returns the ids seen in order and the pages fetched."""
    ids, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [row["id"] for row in body["results"]]
        pages += 1
        url = body["next"]
    return ids, pages


def make_rows(count: int, **fields) -> list[Customer]:
    """Customers with distinct, increasing updated_at values in the past."""
    start = timezone.now() - timedelta(days=1)
    return [
        CustomerFactory(updated_at=start + timedelta(seconds=n), **fields) for n in range(count)
    ]


def test_a_customer_has_every_field_of_the_contract(marketer_api, manager):
    gold = Tier.objects.order_by("rank").last()
    customer = CustomerFactory(
        external_id="shop-1",
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        phone="+14155552671",
        account=AccountFactory(name="Acme"),
        audience="b2b",
        relationship="customer",
        tier=gold,
        owner=manager,
        preferred_channel="sms",
        timezone="Europe/Paris",
        consent_email=True,
        consent_letter=True,
        churn_risk=42,
        nps_latest=9,
    )

    response = marketer_api.get("/api/v1/customers/")

    assert response.status_code == 200
    assert set(response.json()) == {"next", "previous", "results"}
    [row] = response.json()["results"]
    assert set(row) >= CONTRACT_FIELDS
    assert row["id"] == customer.pk
    assert row["external_id"] == "shop-1"
    assert (row["first_name"], row["last_name"]) == ("Ann", "Lee")
    assert (row["email"], row["phone"]) == ("ann@example.com", "+14155552671")
    assert row["account"] == "Acme"
    assert (row["audience"], row["relationship"]) == ("b2b", "customer")
    assert row["tier"] == gold.slug
    assert row["owner"] == "manager"
    assert (row["preferred_channel"], row["timezone"]) == ("sms", "Europe/Paris")
    assert row["consents"] == {"email": True, "sms": False, "phone": False, "letter": True}
    assert row["lifetime_value"] == "0.00"
    assert row["share_of_wallet"] is None
    assert (row["churn_risk"], row["nps_latest"]) == (42, 9)
    assert row["created_at"] and row["updated_at"]


def test_updated_since_lists_only_rows_changed_since(marketer_api):
    old, new = make_rows(2)
    since = (old.updated_at + timedelta(milliseconds=1)).isoformat()

    response = marketer_api.get("/api/v1/customers/", {"updated_since": since})

    assert [row["id"] for row in response.json()["results"]] == [new.pk]


def test_an_unreadable_updated_since_is_400(marketer_api):
    response = marketer_api.get("/api/v1/customers/", {"updated_since": "yesterday"})

    assert response.status_code == 400
    assert "updated_since" in response.json()["errors"]


def test_updated_since_with_an_offset_postgresql_cannot_store_is_read_in_utc(marketer_api):
    # -21:09 is valid ISO 8601, but beyond the ±15:59 PostgreSQL accepts in a literal.
    since = datetime(2024, 6, 22, 10, 5, 1, tzinfo=tz(timedelta(hours=-21, minutes=-9)))
    CustomerFactory(updated_at=(since - timedelta(seconds=1)).astimezone(UTC))
    after = CustomerFactory(updated_at=(since + timedelta(seconds=1)).astimezone(UTC))

    response = marketer_api.get("/api/v1/customers/", {"updated_since": since.isoformat()})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [after.pk]


def test_tier_filters_by_slug(marketer_api):
    bottom, top = Tier.objects.order_by("rank").first(), Tier.objects.order_by("rank").last()
    CustomerFactory(tier=bottom)
    fan = CustomerFactory(tier=top)

    response = marketer_api.get("/api/v1/customers/", {"tier": top.slug})

    assert [row["id"] for row in response.json()["results"]] == [fan.pk]


def test_owner_filters_by_username(marketer_api, manager, other_manager):
    mine = CustomerFactory(owner=manager)
    CustomerFactory(owner=other_manager)

    response = marketer_api.get("/api/v1/customers/", {"owner": "manager"})

    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_search_matches_every_word_in_name_email_phone_or_account(marketer_api):
    ann = CustomerFactory(first_name="Ann", last_name="Lee", email="a@example.com")
    CustomerFactory(first_name="Ann", last_name="Other")
    acme = CustomerFactory(first_name="Bob", account=AccountFactory(name="Acme Tools"))

    by_name = marketer_api.get("/api/v1/customers/", {"search": "ann lee"})
    by_account = marketer_api.get("/api/v1/customers/", {"search": "acme"})

    assert [row["id"] for row in by_name.json()["results"]] == [ann.pk]
    assert [row["id"] for row in by_account.json()["results"]] == [acme.pk]


@pytest.mark.parametrize("ordering", ["churn_risk", "-churn_risk", "-updated_at", "updated_at"])
def test_ordering_sorts_the_rows(marketer_api, ordering):
    rows = make_rows(5)
    for n, customer in enumerate(rows):
        Customer.objects.filter(pk=customer.pk).update(churn_risk=(n * 37) % 100)
    field = ordering.lstrip("-")
    expected = sorted(
        Customer.objects.all(), key=lambda c: getattr(c, field), reverse=ordering[0] == "-"
    )

    response = marketer_api.get("/api/v1/customers/", {"ordering": ordering})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [c.pk for c in expected]


@pytest.mark.parametrize(
    "ordering",
    [
        "-lifetime_value",
        "id",
        "-created_at",
        "last_name",
        "-predicted_value_12m",
    ],
)
def test_every_offered_ordering_is_accepted(marketer_api, ordering):
    make_rows(2)

    response = marketer_api.get("/api/v1/customers/", {"ordering": ordering})

    assert response.status_code == 200, response.json()


def test_an_unknown_ordering_is_400(marketer_api):
    response = marketer_api.get("/api/v1/customers/", {"ordering": "password"})

    assert response.status_code == 400
    assert "ordering" in response.json()["errors"]


def test_deleted_customers_are_not_listed(marketer_api):
    live = CustomerFactory()
    CustomerFactory(deleted_at=timezone.now())

    response = marketer_api.get("/api/v1/customers/")

    assert [row["id"] for row in response.json()["results"]] == [live.pk]


def test_an_account_managers_token_lists_only_their_customers(manager_api, manager, other_manager):
    mine = CustomerFactory(owner=manager)
    CustomerFactory(owner=other_manager)
    CustomerFactory(owner=None)

    response = manager_api.get("/api/v1/customers/")

    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_a_marketer_lists_everyone(marketer_api, manager, other_manager):
    rows = [CustomerFactory(owner=manager), CustomerFactory(owner=other_manager)]

    response = marketer_api.get("/api/v1/customers/")

    assert [row["id"] for row in response.json()["results"]] == [c.pk for c in rows]


@pytest.mark.parametrize(
    "ordering",
    ["", "-churn_risk", "churn_risk", "updated_at", "-updated_at", "-lifetime_value"]
    + ["lifetime_value", "last_name", "-last_name"],
)
def test_walking_the_pages_gets_every_row_exactly_once(marketer_api, ordering):
    rows = make_rows(23)
    for n, customer in enumerate(rows):
        # Many ties, so the id tiebreak is exercised.
        Customer.objects.filter(pk=customer.pk).update(churn_risk=n % 3)

    ids, pages = walk(marketer_api, f"/api/v1/customers/?page_size=5&ordering={ordering}")

    assert sorted(ids) == sorted(c.pk for c in rows)
    assert len(ids) == len(set(ids))
    assert pages == 5


@pytest.mark.parametrize("ordering", ["", "-churn_risk", "last_name"])
def test_a_search_walks_its_matches_in_order_both_ways(marketer_api, ordering):
    rows = [CustomerFactory(last_name=name) for name in ["Ashton", "Washton", "Ashby"] * 4]
    for n, customer in enumerate(rows):
        Customer.objects.filter(pk=customer.pk).update(churn_risk=n % 3)
    matches = Customer.objects.filter(last_name__icontains="ashton")
    expected = [c.pk for c in matches.order_by(ordering or "id", "id")]

    url = f"/api/v1/customers/?search=ashton&page_size=3&ordering={ordering}"
    ids, pages = walk(marketer_api, url)
    last = marketer_api.get(url).json()
    while last["next"]:
        last = marketer_api.get(last["next"]).json()
    back = marketer_api.get(last["previous"]).json()

    assert ids == expected and pages == 3
    assert [row["id"] for row in back["results"]] == expected[3:6]


@pytest.mark.parametrize("ordering", ["lifetime_value", "-lifetime_value", "-last_name"])
def test_pages_of_tied_rows_follow_the_index_and_go_back_alike(marketer_api, ordering):
    rows = make_rows(9)
    for n, customer in enumerate(rows):
        Customer.objects.filter(pk=customer.pk).update(lifetime_value=n % 2, last_name="Tie")
    # Ascending values break ties by id descending (the (-value, id) index read backwards);
    # descending values by id ascending; names, indexed (last_name, id), follow the name.
    id_first = "-id" if ordering in ("lifetime_value", "-last_name") else "id"
    expected = list(Customer.objects.order_by(ordering, id_first).values_list("id", flat=True))

    ids, _ = walk(marketer_api, f"/api/v1/customers/?page_size=2&ordering={ordering}")
    page = marketer_api.get(f"/api/v1/customers/?page_size=2&ordering={ordering}").json()
    pages = [page]
    while page["next"]:
        page = marketer_api.get(page["next"]).json()
        pages.append(page)
    back = marketer_api.get(pages[-1]["previous"]).json()

    assert ids == expected
    assert back["results"] == pages[-2]["results"]


def test_rows_inserted_while_paging_are_neither_repeated_nor_skipping_others(marketer_api):
    rows = make_rows(10)
    first = marketer_api.get("/api/v1/customers/?page_size=4").json()

    added = make_rows(3)
    rest, _ = walk(marketer_api, first["next"])

    ids = [row["id"] for row in first["results"]] + rest
    assert sorted(ids) == sorted(c.pk for c in rows + added)
    assert len(ids) == len(set(ids))


def test_rows_updated_while_paging_by_updated_at_are_not_skipped(marketer_api):
    rows = make_rows(10)
    first = marketer_api.get("/api/v1/customers/?page_size=4&ordering=updated_at").json()
    seen_first = [row["id"] for row in first["results"]]
    moved_seen, moved_unseen = rows[1], rows[7]

    for customer in (moved_seen, moved_unseen):
        response = marketer_api.patch(
            f"/api/v1/customers/{customer.pk}/",
            {"last_name": "Moved"},
            content_type="application/json",
        )
        assert response.status_code == 200
    rest, _ = walk(marketer_api, first["next"])

    ids = seen_first + rest
    assert set(ids) == {c.pk for c in rows}
    unmoved = [c.pk for c in rows if c not in (moved_seen, moved_unseen)]
    assert all(ids.count(pk) == 1 for pk in unmoved)
    # A row that changed after it was read comes again, at the end, with its new values.
    assert rest[-2:] == [moved_seen.pk, moved_unseen.pk]
    assert ids.count(moved_unseen.pk) == 1


def test_previous_goes_back_to_the_page_before(marketer_api):
    make_rows(12)
    first = marketer_api.get("/api/v1/customers/?page_size=5&ordering=-updated_at").json()
    second = marketer_api.get(first["next"]).json()

    back = marketer_api.get(second["previous"]).json()

    assert first["previous"] is None
    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]
    assert back["previous"] is None
    assert back["next"]
    forward_again = marketer_api.get(back["next"]).json()
    assert forward_again["results"] == second["results"]


def test_the_last_page_has_no_next(marketer_api):
    make_rows(3)

    response = marketer_api.get("/api/v1/customers/?page_size=3").json()

    assert response["next"] is None
    assert len(response["results"]) == 3


@pytest.mark.parametrize(
    "token",
    ["garbage", "!!!", cursor({"v": 1}), cursor({"id": "1"}), cursor([1, 2]), "bnVsbA"],
)
def test_an_invalid_cursor_is_a_clean_404(marketer_api, token):
    make_rows(2)

    response = marketer_api.get("/api/v1/customers/", {"cursor": token})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor.", "errors": {}}


@pytest.mark.parametrize(
    ("ordering", "payload"),
    [
        ("churn_risk", {"id": 1, "v": "abc"}),
        ("updated_at", {"id": 1, "v": 5}),
        ("updated_at", {"id": 1, "v": "2024-02-30T00:00:00"}),
    ],
)
def test_a_tampered_cursor_value_is_a_clean_4xx(marketer_api, ordering, payload):
    make_rows(2)
    marketer_api.raise_request_exception = False

    response = marketer_api.get(
        "/api/v1/customers/", {"ordering": ordering, "cursor": cursor(payload)}
    )

    assert response.status_code in (400, 404)


def count_list_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_list_runs_few_queries_whatever_the_number_of_rows(
    marketer_api, manager, django_assert_max_num_queries
):
    tiers = list(Tier.objects.all())
    for n in range(3):
        CustomerFactory(owner=manager, tier=tiers[n % len(tiers)], account=AccountFactory())
    marketer_api.get("/api/v1/customers/")  # the token's last_used_at is written once
    few = count_list_queries(marketer_api, "/api/v1/customers/?page_size=100")
    for n in range(40):
        CustomerFactory(owner=manager, tier=tiers[n % len(tiers)], account=AccountFactory())

    many = count_list_queries(marketer_api, "/api/v1/customers/?page_size=100")
    with django_assert_max_num_queries(4):  # token, roles, page, the page's topics
        marketer_api.get("/api/v1/customers/?page_size=100&ordering=-churn_risk")

    assert many == few


def test_an_account_managers_filtered_page_runs_few_queries(
    manager_api, manager, django_assert_max_num_queries
):
    tier = Tier.objects.order_by("rank").first()
    for _ in range(30):
        CustomerFactory(owner=manager, account=AccountFactory())
    manager_api.get("/api/v1/customers/")

    # Token, roles, tier, owner, account ids, page, the page's topics.
    with django_assert_max_num_queries(7):
        response = manager_api.get(
            "/api/v1/customers/",
            {"tier": tier.slug, "owner": "manager", "search": "ann", "ordering": "-updated_at"},
        )

    assert len(response.json()["results"]) == 30
