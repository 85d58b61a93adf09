# ruff: noqa: F401, F811  (make_touches is the programs tests' fixture, imported)
"""GET /api/v1/programs/{id}/steps/{step_id}/variants/ and POST .../variants/promote/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from programs import variant_store
from programs.models import Step, StepVariant, Touch
from programs.variant_store import VariantData
from tests.programs.conftest import make_touches

pytestmark = pytest.mark.django_db

TWO = [
    VariantData(label="Plain", weight=1, email_subject="Plain hello"),
    VariantData(label="Offer", weight=1, email_subject="10 % off for you"),
]


def send(step, variant, count, *, answered=0):
    """`count` of the step's untouched touches sent as `variant`, `answered` of them answered."""
    ids = list(
        Touch.objects.filter(step=step, variant__isnull=True).values_list("pk", flat=True)[:count]
    )
    at = timezone.now() - timedelta(days=20)
    Touch.objects.filter(pk__in=ids).update(status=Touch.Status.SENT, sent_at=at, variant=variant)
    Touch.objects.filter(pk__in=ids[:answered]).update(responded_at=at + timedelta(hours=1))


def base(step: Step) -> str:
    return f"/api/v1/programs/{step.program_id}/steps/{step.pk}/variants/"


@pytest.fixture
def decided(make_touches, settings):
    """A test whose second variant won: 2 of 20 against 15 of 20, minimum 10 sends."""
    settings.AB_TEST_MINIMUM_SENDS = 10
    step = make_touches(40)[0].step
    first, second = variant_store.save_variants(step=step, rows=TWO)
    send(step, first, 20, answered=2)
    send(step, second, 20, answered=15)
    return step, first, second


def test_each_variant_with_its_rate_difference_and_the_winner(marketer_api, decided):
    step, first, second = decided

    body = marketer_api.get(base(step)).json()

    assert body["running"] and not body["collecting"] and body["minimum_sends"] == 10
    assert body["winner"] == second.pk and body["promoted"] is None
    one, two = body["variants"]
    assert (one["id"], one["sends"], one["responses"], one["state"]) == (first.pk, 20, 2, "running")
    assert one["rate"] == pytest.approx(0.1) and one["ci_low"] < 0.1 < one["ci_high"]
    assert one["difference"] is None  # the reference
    assert (two["sends"], two["responses"]) == (20, 15)
    assert two["difference"] == pytest.approx(0.65)
    assert 0 < two["difference_low"] < 0.65 < two["difference_high"]


def test_an_unknown_parameter_is_a_400(marketer_api, decided):
    step, _, _ = decided

    assert marketer_api.get(base(step), {"window": "90"}).status_code == 400


def test_collecting_names_no_winner(marketer_api, make_touches):
    step = make_touches(4)[0].step
    first, _ = variant_store.save_variants(step=step, rows=TWO)
    send(step, first, 2, answered=1)

    body = marketer_api.get(base(step)).json()

    assert body["collecting"] and body["winner"] is None and body["running"]
    assert [v["sends"] for v in body["variants"]] == [2, 0]
    assert body["variants"][1]["rate"] is None


@pytest.mark.parametrize("size", [4, 30])
def test_the_figures_in_a_fixed_number_of_queries(
    marketer_api,
    make_touches,
    size,
    django_assert_num_queries,
):
    step = make_touches(size)[0].step
    first, second = variant_store.save_variants(step=step, rows=TWO)
    send(step, first, size // 2, answered=1)
    send(step, second, size // 2)

    # The token and its last use, roles, the step, its variants, the funnel.
    with django_assert_num_queries(6):
        response = marketer_api.get(base(step))

    assert response.status_code == 200


def test_promoting_the_winner_then_again_is_a_409(marketer_api, decided, django_assert_num_queries):
    step, first, second = decided
    url = base(step) + "promote/"

    # The token and its last use, roles, the step; in the savepoint the locked step, its
    # variants, the funnel (is it the winner?), three updates; then the new state (3).
    with django_assert_num_queries(15):
        response = marketer_api.post(url, {"variant": second.pk}, content_type="application/json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["promoted"] == second.pk and not body["running"]
    assert body["content"]["email_subject"] == "10 % off for you"
    assert [v["state"] for v in body["variants"]] == ["stopped", "promoted"]
    assert body["variants"][0]["sends"] == 20  # history kept
    again = marketer_api.post(url, {"variant": second.pk}, content_type="application/json")
    assert again.status_code == 409
    assert "promoted already" in again.json()["detail"]


def test_a_variant_that_did_not_win_needs_force(marketer_api, decided):
    step, first, _ = decided
    url = base(step) + "promote/"

    refused = marketer_api.post(url, {"variant": first.pk}, content_type="application/json")

    assert refused.status_code == 400
    assert "force" in refused.json()["errors"]["variant"][0]
    assert not StepVariant.objects.filter(promoted_at__isnull=False).exists()
    forced = marketer_api.post(
        url, {"variant": first.pk, "force": True}, content_type="application/json"
    )
    assert forced.status_code == 200
    assert forced.json()["promoted"] == first.pk
    assert Step.objects.get(pk=step.pk).email_subject == "Plain hello"


def test_while_collecting_only_force_promotes(marketer_api, make_touches):
    step = make_touches(2)[0].step
    first, second = variant_store.save_variants(step=step, rows=TWO)
    url = base(step) + "promote/"

    assert (
        marketer_api.post(url, {"variant": second.pk}, content_type="application/json").status_code
        == 400
    )
    assert (
        marketer_api.post(
            url, {"variant": second.pk, "force": True}, content_type="application/json"
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"variant": "x"},
        {"variant": 999_999},
        {"variant": None},
        {"variant": 1, "force": "maybe"},
    ],
)
def test_bad_requests_are_400_and_change_nothing(marketer_api, decided, body):
    step, _, _ = decided

    response = marketer_api.post(base(step) + "promote/", body, content_type="application/json")

    assert response.status_code == 400
    assert not StepVariant.objects.filter(promoted_at__isnull=False).exists()
    assert Step.objects.get(pk=step.pk).testing_variants


def test_another_steps_variant_is_not_promoted(marketer_api, decided, make_touches):
    step, first, _ = decided
    other = make_touches(1)[0].step
    mine = variant_store.save_variants(step=other, rows=TWO)[0]

    response = marketer_api.post(
        base(step) + "promote/",
        {"variant": mine.pk, "force": True},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert (
        marketer_api.get(
            f"/api/v1/programs/{other.program_id}/steps/{step.pk}/variants/"
        ).status_code
        == 404
    )


def test_account_managers_get_403(manager_api, decided):
    step, _, second = decided

    assert manager_api.get(base(step)).status_code == 403
    response = manager_api.post(
        base(step) + "promote/", {"variant": second.pk}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not StepVariant.objects.filter(promoted_at__isnull=False).exists()


def test_the_schema_documents_both_routes(marketer_api):
    schema = marketer_api.get("/api/schema/", {"format": "json"}).json()
    prefix = "/api/v1/programs/{id}/steps/{step_id}/variants/"

    assert "get" in schema["paths"][prefix]
    assert "post" in schema["paths"][prefix + "promote/"]
