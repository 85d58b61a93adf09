"""The A/B test's pure rules: the stable weighted draw and when a winner is named."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programs import variants
from programs.variants import Tally, choose, verdict


@given(
    weights=st.lists(st.integers(min_value=1, max_value=100), min_size=2, max_size=4),
    customer_id=st.integers(min_value=1, max_value=10**12),
    step_id=st.integers(min_value=1, max_value=10**6),
)
@settings(max_examples=200, deadline=None)
def test_the_draw_is_a_variant_and_the_same_every_time(weights, customer_id, step_id):
    first = choose(weights, salt="s", step_id=step_id, customer_id=customer_id)

    assert 0 <= first < len(weights)
    assert choose(weights, salt="s", step_id=step_id, customer_id=customer_id) == first


def test_the_draw_follows_the_weights_within_sampling_error():
    weights = [1, 2, 1]
    n = 20_000
    counts = np.bincount(
        [choose(weights, salt="salt", step_id=7, customer_id=pk) for pk in range(n)], minlength=3
    )
    expected = np.array(weights) / sum(weights) * n
    # Each share within four standard errors of its weight.
    spread = np.sqrt(n * (np.array(weights) / 4) * (1 - np.array(weights) / 4))
    assert np.all(np.abs(counts - expected) < 4 * spread)


def test_steps_draw_independently_of_each_other():
    n = 20_000
    a = np.array([choose([1, 1], salt="s", step_id=1, customer_id=pk) for pk in range(n)])
    b = np.array([choose([1, 1], salt="s", step_id=2, customer_id=pk) for pk in range(n)])
    # The same variant in both steps for about half the customers, not all of them.
    assert abs((a == b).mean() - 0.5) < 4 * 0.5 / np.sqrt(n)


def test_bad_weights_are_refused():
    with pytest.raises(ValueError):
        choose([1, 0], salt="s", step_id=1, customer_id=1)


def test_no_winner_before_every_variant_has_the_minimum():
    judged = verdict([Tally(399, 40), Tally(1000, 300)], minimum=400)

    assert judged.collecting and judged.winner is None
    # The figures show all the same.
    assert judged.standings[1].versus_first is not None
    assert judged.standings[1].rate == pytest.approx(0.3)


def test_a_clearly_better_second_variant_wins_and_a_tie_names_nobody():
    assert verdict([Tally(500, 50), Tally(500, 100)]).winner == 1
    assert verdict([Tally(500, 50), Tally(500, 55)]).winner is None


def test_the_first_wins_when_every_other_is_clearly_worse():
    assert verdict([Tally(500, 100), Tally(500, 50), Tally(500, 40)]).winner == 0
    assert verdict([Tally(500, 100), Tally(500, 50), Tally(500, 95)]).winner is None


def test_the_best_of_several_clear_winners_is_named():
    judged = verdict([Tally(600, 30), Tally(600, 80), Tally(600, 120), Tally(600, 31)])

    assert judged.winner == 2
    difference = judged.standings[2].versus_first
    assert difference is not None and difference.low > 0
    assert difference.difference == pytest.approx(0.15)


def test_a_variant_without_sends_shows_no_rate():
    judged = verdict([Tally(0, 0), Tally(10, 1)])

    assert judged.standings[0].rate is None and judged.standings[1].versus_first is None


def test_an_a_a_test_names_a_false_winner_in_about_five_percent_of_seeds():
    """Two identical variants (true rate 10 %), 1,000 sends each, over 1,000 seeds: the rule
    should name a winner about 5 % of the time (two-sided 95 % interval)."""
    false_winners = 0
    seeds = 1000
    for seed in range(seeds):
        generator = np.random.default_rng(seed)
        a, b = generator.binomial(1000, 0.10, size=2)
        if verdict([Tally(1000, int(a)), Tally(1000, int(b))]).winner is not None:
            false_winners += 1
    # Binomial(1000, 0.05) lies in 3.3 %-6.9 % with over 99 % probability.
    assert 0.033 <= false_winners / seeds <= 0.069


def test_a_real_effect_is_found_most_of_the_time():
    """10 % against 14 % with 1,500 sends each: power about 85 %."""
    found = sum(
        verdict(
            [Tally(1500, int(r.binomial(1500, 0.10))), Tally(1500, int(r.binomial(1500, 0.14)))]
        ).winner
        == 1
        for r in (np.random.default_rng(seed) for seed in range(200))
    )
    assert found / 200 > 0.75


def test_limits_of_a_test():
    assert variants.MIN_VARIANTS == 2 and variants.MAX_VARIANTS == 4
    assert variants.MINIMUM_SENDS == 400
