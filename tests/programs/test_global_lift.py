"""All programs together against the global control group: one line on the dashboard."""

from datetime import timedelta

import pytest
from django.utils import timezone

from programs.enrollment import enroll
from programs.global_lift import all_programs
from programs.models import Enrollment, Program
from tests.factories import CustomerFactory
from tests.programs.test_lift_figures import bought

pytestmark = pytest.mark.django_db


def enrolled_in_two(n: int, *, days_ago: int) -> tuple[list[int], list[int]]:
    """n customers enrolled in two programs; (treated ids, global control ids)."""
    people = CustomerFactory.create_batch(n, consent_email=True)
    at = timezone.now() - timedelta(days=days_ago)
    for name in ("Welcome", "Win-back"):
        program, _ = Program.objects.get_or_create(name=name)
        enroll(program=program, customers=people, now=at)
    groups = dict(
        Enrollment.objects.filter(customer__in=people).values_list("customer_id", "group")
    )
    return (
        [pk for pk, g in groups.items() if g == "treated"],
        [pk for pk, g in groups.items() if g == "global_control"],
    )


def test_each_customer_counts_once_treated_against_the_global_control(
    settings, django_assert_num_queries
):
    settings.GLOBAL_CONTROL_SHARE = 50
    treated, control = enrolled_in_two(60, days_ago=100)
    enrolled_in_two(10, days_ago=10)  # still in their window: not counted
    bought(treated, days_ago=80)
    bought(control, days_ago=80, amount="40.00")

    with django_assert_num_queries(2):
        figures = all_programs(minimum=5)

    assert figures is not None
    assert figures.treated_customers == len(treated) and figures.control_customers == len(control)
    assert figures.spend.difference == pytest.approx(60.0)
    assert figures.spend.state == "positive"
    assert figures.promoted.difference == pytest.approx(0.0)


def test_nothing_without_a_global_control_group_in_one_probe(settings, django_assert_num_queries):
    settings.GLOBAL_CONTROL_SHARE = 0
    enrolled_in_two(10, days_ago=100)

    # Whether anyone is in the control group at all, and nothing over the treated.
    with django_assert_num_queries(1):
        assert all_programs(minimum=5) is None


def test_nothing_while_the_global_control_groups_window_runs(settings):
    settings.GLOBAL_CONTROL_SHARE = 50
    enrolled_in_two(20, days_ago=10)

    assert Enrollment.objects.filter(group="global_control").exists()
    assert all_programs(minimum=5) is None


def test_the_dashboard_shows_the_line_to_marketers_only(settings, client, marketer, manager):
    settings.GLOBAL_CONTROL_SHARE = 50
    enrolled_in_two(20, days_ago=100)

    client.force_login(marketer)
    assert "against the global control group" in client.get("/").content.decode()
    client.force_login(manager)
    assert "against the global control group" not in client.get("/").content.decode()


def test_beats_round_stores_the_line_and_the_dashboard_reads_it_as_of_then(
    settings, client, marketer
):
    from django.core.cache import cache

    from programs import lift_tally

    settings.GLOBAL_CONTROL_SHARE = 50
    treated, control = enrolled_in_two(60, days_ago=100)
    cache.delete(lift_tally.GLOBAL_KEY)
    try:
        # Before beat's first round: counted live, no time given.
        live, at = lift_tally.global_lift_of()
        assert live is not None and at is None

        lift_tally.refresh_round()
        # Customers who came after the round are not in the stored line until the next one.
        enrolled_in_two(20, days_ago=100)
        stored, at = lift_tally.global_lift_of()
        assert at is not None
        assert stored.treated_customers + stored.control_customers == 60

        client.force_login(marketer)
        page = client.get("/").content.decode()
        counted = f"({stored.treated_customers} treated / {stored.control_customers} in the group"
        assert counted in page
        assert f"As of {timezone.localtime(at):%H:%M}." in page
    finally:
        cache.delete(lift_tally.GLOBAL_KEY)
