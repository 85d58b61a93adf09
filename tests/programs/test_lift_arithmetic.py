"""programs/lift.py against published figures, properties, and simulated programs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from programs import lift

# Newcombe RG (1998), "Interval estimation for the difference between independent
# proportions: comparison of eleven methods", Stat Med 17:873-890, Table II, method 10
# (the hybrid score interval, no continuity correction), its examples but (c). The difference
# in (a) is 0.8 - 0.6 = +0.2, so its interval runs from +0.0524 (not -0.0524) to 0.3339.
NEWCOMBE_METHOD_10 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_METHOD_10)
def test_newcombe_hybrid_score_matches_the_published_examples(counts, published):
    x1, n1, x2, n2 = counts
    interval = lift.proportion_difference(
        treated_successes=x1, treated_n=n1, control_successes=x2, control_n=n2
    )

    assert (round(interval.low, 4), round(interval.high, 4)) == published
    assert interval.difference == pytest.approx(x1 / n1 - x2 / n2)
    assert interval.method == "newcombe"


def test_wilson_matches_newcombe_s_single_proportion_example():
    # Newcombe RG (1998), Stat Med 17:857-872, Table I: 81/263 by the score method.
    low, high = lift.wilson(81, 263)

    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


# R's sleep data (Cushny and Peebles), extra hours of sleep by drug. In R 4.x,
# t.test(extra ~ group, data = sleep) (Welch is R's default, var.equal = FALSE) prints
# t = -1.8608, df = 17.776, 95 percent confidence interval -3.3654832 0.2054832,
# means 0.75 and 2.33 (the example of ?t.test).
SLEEP_DRUG_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_DRUG_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_welch_matches_r_t_test_on_the_sleep_data():
    interval = lift.welch(
        lift.moments_of(np.array(SLEEP_DRUG_1)), lift.moments_of(np.array(SLEEP_DRUG_2))
    )

    assert interval.difference == pytest.approx(0.75 - 2.33)
    assert interval.low == pytest.approx(-3.3654832, abs=1e-6)
    assert interval.high == pytest.approx(0.2054832, abs=1e-6)
    assert interval.method == "welch"


def test_welch_from_sums_is_welch_from_the_values():
    # Moments are what SQL adds up; the same interval as from the values themselves.
    by_values = lift.moments_of(np.array(SLEEP_DRUG_1))
    by_sums = lift.Moments(
        n=10,
        total=sum(SLEEP_DRUG_1),
        total_squares=sum(x * x for x in SLEEP_DRUG_1),
        total_cubes=sum(x**3 for x in SLEEP_DRUG_1),
    )

    assert by_sums.variance == pytest.approx(by_values.variance)
    assert by_sums.skewness == pytest.approx(by_values.skewness)


def test_skewness_of_a_known_sample():
    # 0, 0, 0, 10: mean 2.5, m2 = 75 / 4 = 18.75, m3 = (3 * -15.625 + 421.875) / 4 = 93.75,
    # g1 = 93.75 / 18.75^1.5 = 1.1547.
    assert lift.moments_of(np.array([0.0, 0.0, 0.0, 10.0])).skewness == pytest.approx(
        1.1547005, abs=1e-6
    )


def test_a_small_skewed_group_takes_the_bootstrap_and_a_large_one_welch():
    generator = np.random.default_rng(7)
    small = np.where(generator.random(60) < 0.2, generator.lognormal(4, 1.2, 60), 0.0)
    large = np.where(generator.random(20_000) < 0.2, generator.lognormal(4, 1.2, 20_000), 0.0)

    assert lift.needs_bootstrap(lift.moments_of(small), lift.moments_of(large))
    assert not lift.needs_bootstrap(lift.moments_of(large), lift.moments_of(large))


def test_the_bootstrap_is_repeatable_and_holds_the_difference():
    generator = np.random.default_rng(3)
    treated = generator.lognormal(3, 1, 80)
    control = generator.lognormal(3, 1, 40)

    first = lift.bootstrap(treated, control, seed=1)
    again = lift.bootstrap(treated, control, seed=1)

    assert first == again
    assert first.low < first.difference < first.high
    assert first.method == "bootstrap"


@pytest.mark.parametrize(
    ("low", "high", "state"),
    [(0.01, 0.05, "positive"), (-0.05, -0.01, "negative"), (-0.01, 0.05, "inconclusive")],
)
def test_the_state_reads_the_interval(low, high, state):
    interval = lift.Interval(0.02, low, high, "newcombe")

    assert lift.state_of(interval, treated_n=500, control_n=100) == state


def test_too_few_in_either_group_is_still_collecting():
    interval = lift.Interval(0.3, 0.2, 0.4, "newcombe")

    assert lift.state_of(interval, treated_n=5000, control_n=99) == "collecting"
    assert lift.state_of(None, treated_n=5000, control_n=5000) == "collecting"


@given(
    n1=st.integers(1, 500),
    n2=st.integers(1, 500),
    a=st.floats(0, 1),
    b=st.floats(0, 1),
)
def test_newcombe_holds_its_difference_inside_minus_one_to_one(n1, n2, a, b):
    x1, x2 = round(a * n1), round(b * n2)
    interval = lift.proportion_difference(
        treated_successes=x1, treated_n=n1, control_successes=x2, control_n=n2
    )
    swapped = lift.proportion_difference(
        treated_successes=x2, treated_n=n2, control_successes=x1, control_n=n1
    )

    assert -1 - 1e-9 <= interval.low <= interval.difference <= interval.high <= 1 + 1e-9
    # Swapping the groups mirrors the interval.
    assert swapped.low == pytest.approx(-interval.high)
    assert swapped.high == pytest.approx(-interval.low)


def test_counts_outside_their_trials_are_refused():
    with pytest.raises(ValueError):
        lift.wilson(11, 10)
    with pytest.raises(ValueError):
        lift.wilson(0, 0)


# Simulated programs: 20,000 customers, 10 % held out, 400 seeds.
CUSTOMERS = 20_000
HOLDOUT = 0.10
SEEDS = 400
BASE_PURCHASE_RATE = 0.20
TRUE_EFFECT = 0.04


def _simulated_purchases(effect: float, seed: int) -> np.ndarray:
    """(treated buyers, treated n, control buyers, control n) for each of 400 seeds."""
    generator = np.random.default_rng(seed)
    control_n = generator.binomial(CUSTOMERS, HOLDOUT, SEEDS)
    treated_n = CUSTOMERS - control_n
    treated = generator.binomial(treated_n, BASE_PURCHASE_RATE + effect)
    control = generator.binomial(control_n, BASE_PURCHASE_RATE)
    return np.stack([treated, treated_n, control, control_n], axis=1)


def _intervals(rows: np.ndarray) -> list:
    return [
        lift.proportion_difference(
            treated_successes=int(x1),
            treated_n=int(n1),
            control_successes=int(x2),
            control_n=int(n2),
        )
        for x1, n1, x2, n2 in rows
    ]


def test_a_four_point_effect_is_covered_in_about_95_percent_of_programs():
    intervals = _intervals(_simulated_purchases(TRUE_EFFECT, seed=15))
    covered = sum(i.low <= TRUE_EFFECT <= i.high for i in intervals) / SEEDS

    assert 0.93 <= covered <= 0.97


def test_an_a_a_test_calls_a_winner_in_about_5_percent_of_programs():
    intervals = _intervals(_simulated_purchases(0.0, seed=16))
    called = [lift.state_of(i, treated_n=CUSTOMERS, control_n=CUSTOMERS) for i in intervals].count(
        "inconclusive"
    )
    false_calls = 1 - called / SEEDS

    assert 0.03 <= false_calls <= 0.07


def test_welch_covers_a_true_spend_lift_in_about_95_percent_of_programs():
    # Spend is skewed: 20 % buy, their spend log-normal (median about 55); the program adds
    # 4 points of buyers, so the true lift in mean spend is 0.04 times the mean basket.
    generator = np.random.default_rng(17)
    basket_mean = float(np.exp(4 + 1.2**2 / 2))
    true_lift = TRUE_EFFECT * basket_mean
    control_n = int(CUSTOMERS * HOLDOUT)
    treated_n = CUSTOMERS - control_n

    def spend(n: int, rate: float) -> np.ndarray:
        return np.where(generator.random(n) < rate, generator.lognormal(4, 1.2, n), 0.0)

    covered = 0
    for _ in range(SEEDS):
        interval = lift.welch(
            lift.moments_of(spend(treated_n, BASE_PURCHASE_RATE + TRUE_EFFECT)),
            lift.moments_of(spend(control_n, BASE_PURCHASE_RATE)),
        )
        covered += interval.low <= true_lift <= interval.high

    assert 0.93 <= covered / SEEDS <= 0.97
