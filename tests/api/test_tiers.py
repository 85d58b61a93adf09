"""GET /api/v1/tiers/: the ladder's rungs, bottom first."""

import pytest

from customers.models import Tier

pytestmark = pytest.mark.django_db


def test_it_lists_the_rungs_bottom_first(manager_api):
    response = manager_api.get("/api/v1/tiers/")

    assert response.status_code == 200
    rows = response.json()
    assert [row["slug"] for row in rows] == list(
        Tier.objects.order_by("rank").values_list("slug", flat=True)
    )
    assert rows and set(rows[0]) == {"id", "rank", "name", "slug", "description", "colour"}


def test_one_rung_is_read_by_its_slug(manager_api):
    tier = Tier.objects.order_by("rank").first()

    response = manager_api.get(f"/api/v1/tiers/{tier.slug}/")

    assert response.status_code == 200
    assert response.json()["name"] == tier.name


def test_the_ladder_is_read_only(marketer_api):
    response = marketer_api.post(
        "/api/v1/tiers/",
        {"name": "Gold", "slug": "gold", "rank": 99},
        content_type="application/json",
    )

    assert response.status_code == 405
    assert not Tier.objects.filter(slug="gold").exists()


def test_anonymous_callers_get_401(client):
    assert client.get("/api/v1/tiers/").status_code == 401
