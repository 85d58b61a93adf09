"""A program's lift read from the database, and GET /api/v1/programs/{id}/lift/."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer, Purchase, Referral, Tier, TierChange
from programs import lift
from programs.enrollment import enroll
from programs.lift_figures import program_lift
from programs.models import Enrollment, Program
from tests.factories import CustomerFactory, nps_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def program() -> Program:
    program = Program.objects.get(is_prototype=True)
    program.holdout_share = 50
    program.save()
    return program


def enrolled(program, n: int, *, days_ago: int) -> tuple[list[int], list[int]]:
    """n customers enrolled days_ago: (treated ids, control ids)."""
    people = CustomerFactory.create_batch(n, consent_email=True)
    enroll(program=program, customers=people, now=timezone.now() - timedelta(days=days_ago))
    ids = [c.pk for c in people]
    groups = dict(Enrollment.objects.filter(customer__in=ids).values_list("customer_id", "group"))
    return (
        [pk for pk in ids if groups[pk] == "treated"],
        [pk for pk in ids if groups[pk] == "holdout"],
    )


def bought(customer_ids, *, days_ago: int, amount: str = "100.00"):
    on = timezone.localdate() - timedelta(days=days_ago)
    Purchase.objects.bulk_create(
        Purchase(customer_id=pk, amount=Decimal(amount), purchased_on=on) for pk in customer_ids
    )


def outcome(figures, metric):
    return next(o for o in figures.outcomes if o.metric == metric)


def test_each_outcome_compares_treated_with_held_out_over_the_window(program):
    treated, control = enrolled(program, 60, days_ago=100)
    waiting_treated, waiting_control = enrolled(program, 20, days_ago=10)
    # Every treated customer buys in the window, half of the control; a purchase after the
    # window and the customers still in theirs do not count.
    bought(treated, days_ago=80)
    bought(control[: len(control) // 2], days_ago=80, amount="40.00")
    bought(control, days_ago=2, amount="999.00")
    bought(waiting_control, days_ago=5)
    TierChange.objects.create(
        customer_id=treated[0],
        to_tier=Tier.objects.order_by("rank").last(),
        changed_at=timezone.now() - timedelta(days=50),
        reason="test",
        direction="up",
    )
    Referral.objects.create(
        referrer_id=control[0], code="LIFT1", created_at=timezone.now() - timedelta(days=60)
    )

    figures = program_lift(program, window_days=90, minimum=5)

    assert (figures.treated_customers, figures.control_customers) == (len(treated), len(control))
    assert (figures.treated_in_window, figures.control_in_window) == (
        len(waiting_treated),
        len(waiting_control),
    )
    purchase = outcome(figures, "purchase_rate")
    expected = lift.proportion_difference(
        treated_successes=len(treated),
        treated_n=len(treated),
        control_successes=len(control) // 2,
        control_n=len(control),
    )
    assert (purchase.treated, purchase.control) == (1.0, (len(control) // 2) / len(control))
    assert (purchase.ci_low, purchase.ci_high) == pytest.approx((expected.low, expected.high))
    assert purchase.state == "positive"
    spend = outcome(figures, "spend_per_customer")
    assert spend.treated == pytest.approx(100.0)
    assert spend.control == pytest.approx(40.0 * (len(control) // 2) / len(control))
    assert spend.ci_low < spend.difference < spend.ci_high
    assert outcome(figures, "promoted_rate").treated == pytest.approx(1 / len(treated))
    assert outcome(figures, "referral_rate").control == pytest.approx(1 / len(control))
    nps = outcome(figures, "nps")
    assert (nps.treated, nps.state) == (None, "collecting")
    assert "no survey" in nps.note


def test_nps_comes_only_from_surveys_sent_outside_the_program(program):
    treated, control = enrolled(program, 40, days_ago=100)
    at = timezone.now() - timedelta(days=30)
    for pk in treated:
        nps_answers(Customer.objects.get(pk=pk), [{"score": 10, "answered_at": at}])
    for pk in control:
        nps_answers(Customer.objects.get(pk=pk), [{"score": 0, "answered_at": at}])

    nps = outcome(program_lift(program, minimum=5), "nps")

    assert (nps.treated, nps.control, nps.difference) == (100.0, -100.0, 200.0)
    assert nps.state == "positive"


def test_too_few_customers_is_still_collecting(program):
    treated, control = enrolled(program, 30, days_ago=100)
    bought(treated, days_ago=80)

    figures = program_lift(program)

    assert {o.state for o in figures.outcomes} == {"collecting"}


@pytest.mark.parametrize("size", [10, 60])
def test_the_lift_endpoint_runs_the_same_queries_whatever_the_size(
    program, marketer, size, django_assert_num_queries
):
    treated, control = enrolled(program, size, days_ago=100)
    bought(treated, days_ago=50)
    client = APIClient()
    client.force_authenticate(marketer)

    # Sign-in, the program, its steps and tiers, no tally yet, then three: counts, customers
    # still in their window, survey answers.
    with django_assert_num_queries(8):
        response = client.get(f"/api/v1/programs/{program.pk}/lift/?window=90")

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {
        "program",
        "window_days",
        "holdout_share",
        "treated",
        "control",
        "outcomes",
    }
    assert body["treated"] == {"customers": len(treated), "in_window": 0}
    assert [o["metric"] for o in body["outcomes"]] == [
        "purchase_rate",
        "spend_per_customer",
        "promoted_rate",
        "churn_rate",
        "referral_rate",
        "nps",
    ]
    assert set(body["outcomes"][0]) == {
        "metric",
        "treated",
        "control",
        "difference",
        "ci_low",
        "ci_high",
        "state",
    }


@pytest.mark.parametrize("query", ["window=0", "window=abc", "window=731", "windw=90"])
def test_a_bad_window_is_a_400(program, marketer, query):
    client = APIClient()
    client.force_authenticate(marketer)

    response = client.get(f"/api/v1/programs/{program.pk}/lift/?{query}")

    assert response.status_code == 400


def test_answers_to_surveys_the_program_sent_are_left_out_of_nps(program):
    from nps.models import Invitation

    treated, control = enrolled(program, 30, days_ago=100)
    at = timezone.now() - timedelta(days=30)
    for pk in treated:
        nps_answers(Customer.objects.get(pk=pk), [{"score": 10, "answered_at": at}])
    # Only the treated could answer the program's own survey: those answers say nothing of lift.
    Invitation.objects.filter(customer__in=treated).update(touch_id=1)
    for pk in control:
        nps_answers(Customer.objects.get(pk=pk), [{"score": 0, "answered_at": at}])

    nps = outcome(program_lift(program, minimum=5), "nps")

    assert (nps.treated, nps.difference, nps.state) == (None, None, "collecting")


def test_programs_rank_by_their_lift_in_spend_in_three_queries(
    program, marketer, client, django_assert_num_queries
):
    treated, control = enrolled(program, 40, days_ago=100)
    bought(treated, days_ago=60)
    other = Program.objects.create(name="Win-back", holdout_share=50)
    other_treated, other_control = enrolled(other, 40, days_ago=100)
    bought(other_control, days_ago=60, amount="30.00")
    Program.objects.create(name="No holdout")

    from programs.lift_figures import ranking

    with django_assert_num_queries(3):
        ranked = ranking(minimum=5)

    assert [r.program.name for r in ranked] == [program.name, "Win-back"]
    assert ranked[0].spend.difference == pytest.approx(100.0)
    assert ranked[0].spend.state == "positive"
    assert ranked[1].spend.difference == pytest.approx(-30.0)
    client.force_login(marketer)
    page = client.get("/").content.decode()
    assert "Which programs work" in page and f"/programs/{other.pk}/lift/" in page


def test_without_a_holdout_the_ranking_is_one_probe(django_assert_num_queries):
    # Programs that hold nobody out have no lift: their treated customers' purchases are
    # never summed (at a million customers, seconds for nothing).
    treated_only = Program.objects.create(name="No holdout")
    enrolled(treated_only, 20, days_ago=100)
    assert not Enrollment.objects.filter(group="holdout").exists()

    from programs.lift_figures import ranking

    with django_assert_num_queries(1):
        assert ranking(minimum=5) == []
