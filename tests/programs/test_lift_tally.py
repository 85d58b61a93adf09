"""The lift tallies: beat computes each program's lift, the page and the API read one row."""

import pytest

from programs import lift_tally
from programs.lift_figures import program_lift
from programs.models import LiftTally, Program
from tests.programs.test_lift_figures import bought, enrolled, outcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def program() -> Program:
    return Program.objects.create(name="Proof", holdout_share=50)


def test_the_tally_holds_what_the_live_count_says(program):
    treated, _ = enrolled(program, 30, days_ago=100)
    bought(treated, days_ago=80)
    Program.objects.create(name="Holds nobody out")

    assert lift_tally.refresh() == len(lift_tally.TALLIED_WINDOWS)

    tallied, at = lift_tally.lift_of(program, window_days=90)
    assert at is not None
    assert tallied.as_json() == program_lift(program, window_days=90).as_json()
    assert [o.method for o in tallied.outcomes] == [
        o.method for o in program_lift(program, window_days=90).outcomes
    ]


def test_a_window_without_a_tally_is_counted_live(program):
    enrolled(program, 10, days_ago=100)
    lift_tally.refresh()

    figures, at = lift_tally.lift_of(program, window_days=45)

    assert at is None and figures.window_days == 45


@pytest.mark.parametrize("size", [8, 40])
def test_the_api_and_page_read_one_row_whatever_the_size(
    program, size, client, marketer, django_assert_num_queries
):
    treated, _ = enrolled(program, size, days_ago=100)
    bought(treated, days_ago=80)
    lift_tally.refresh()
    client.force_login(marketer)

    # Session, user and roles, the program, the tally.
    with django_assert_num_queries(5):
        page = client.get(f"/programs/{program.pk}/lift/?window=90")
    # The API's program comes with its steps and tiers (its serializer's prefetch).
    with django_assert_num_queries(7):
        api = client.get(f"/api/v1/programs/{program.pk}/lift/?window=90")

    assert page.status_code == 200 and "As of" in page.content.decode()
    assert api.status_code == 200 and api.json()["treated"]["customers"] == len(treated)
    assert LiftTally.objects.filter(program=program).count() == len(lift_tally.TALLIED_WINDOWS)


def test_the_dashboards_ranking_reads_the_tallies_and_counts_the_rest_live(
    program, django_assert_num_queries
):
    treated, _ = enrolled(program, 40, days_ago=100)
    bought(treated, days_ago=60)
    lift_tally.refresh()
    # Beat has not reached this one yet: it is counted live, with the tallied one.
    later = Program.objects.create(name="Win-back", holdout_share=50)
    _, later_control = enrolled(later, 40, days_ago=100)
    bought(later_control, days_ago=60, amount="30.00")
    # A purchase after the tally: the tallied figures stand until beat's next round.
    bought(treated, days_ago=50)

    with django_assert_num_queries(4):
        ranked = lift_tally.dashboard_ranking()

    assert [r.program.name for r in ranked] == ["Proof", "Win-back"]
    tallied = outcome(lift_tally.lift_of(program, window_days=90)[0], "spend_per_customer")
    assert ranked[0].spend == tallied
    assert ranked[0].spend.difference == pytest.approx(100.0)
    assert ranked[1].spend.difference == pytest.approx(-30.0)


def test_a_round_refreshes_the_oldest_figures_first_and_stops_at_its_budget(program):
    second = Program.objects.create(name="Win-back", holdout_share=50)
    enrolled(program, 10, days_ago=100)
    enrolled(second, 10, days_ago=100)
    windows = len(lift_tally.TALLIED_WINDOWS)

    # No budget left after the first program: one program a round, never none.
    assert lift_tally.refresh(budget_seconds=0) == windows
    assert set(LiftTally.objects.values_list("program", flat=True)) == {program.pk}
    assert lift_tally.refresh(budget_seconds=0) == windows
    assert set(LiftTally.objects.values_list("program", flat=True)) == {program.pk, second.pk}

    first_at = LiftTally.objects.filter(program=program).first().computed_at
    second_at = LiftTally.objects.filter(program=second).first().computed_at
    lift_tally.refresh(budget_seconds=0)
    # The first program's figures were the oldest: they are the ones computed again.
    assert LiftTally.objects.filter(program=program).first().computed_at > first_at
    assert LiftTally.objects.filter(program=second).first().computed_at == second_at

    # A budget that is not spent yet lets the round go on to every program.
    assert lift_tally.refresh(budget_seconds=60, clock=lambda: 0.0) == 2 * windows


def test_a_round_while_the_last_one_runs_computes_nothing(program):
    from django.core.cache import cache

    enrolled(program, 10, days_ago=100)
    cache.add(lift_tally.ROUND_KEY, 1)
    try:
        assert lift_tally.refresh_round() == 0
        assert not LiftTally.objects.exists()
    finally:
        cache.delete(lift_tally.ROUND_KEY)

    assert lift_tally.refresh_round() == len(lift_tally.TALLIED_WINDOWS)
    # The round let go of its key: the next one runs.
    assert lift_tally.refresh_round() == len(lift_tally.TALLIED_WINDOWS)
