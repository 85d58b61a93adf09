from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

from customers import value
from customers.value import (
    METHOD_MODEL,
    METHOD_TRAILING,
    RFM_SEGMENTS,
    BgNbdParams,
    GammaGammaParams,
    ModelFitError,
    expected_average_value,
    expected_purchases,
    fit_bg_nbd,
    fit_gamma_gamma,
    lifetime_value,
    predicted_value_12m,
    probability_alive,
    rfm_scores,
    rfm_segment,
    share_of_wallet,
)

TODAY = date(2026, 10, 14)

# CDNOW estimates from Fader, Hardie & Lee (2005), in weeks.
CDNOW_BG_NBD = BgNbdParams(r=0.24, alpha=4.41, a=0.79, b=2.43)
# CDNOW spend estimates from Fader, Hardie & Lee, "RFM and CLV" (2005).
CDNOW_GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, v=15.44)


def days_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def simulate_purchases(
    rng: np.random.Generator,
    *,
    n: int,
    params: BgNbdParams,
    calibration_weeks: float,
    holdout_weeks: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw BG/NBD histories: (x, t_x, T) in the calibration period and holdout purchases."""
    rate = rng.gamma(params.r, 1 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    # First purchases spread over the first 12 weeks, as in CDNOW's cohort.
    age = calibration_weeks - rng.uniform(0, 12, n)
    end = age + holdout_weeks
    frequency, recency, holdout = np.zeros(n), np.zeros(n), np.zeros(n)
    clock, active = np.zeros(n), np.ones(n, dtype=bool)
    # One round per purchase, vectorised over the customers still buying.
    while active.any():
        idx = np.flatnonzero(active)
        clock[idx] += rng.exponential(1 / rate[idx])
        past_end = clock[idx] > end[idx]
        active[idx[past_end]] = False
        buyers = idx[~past_end]
        in_calibration = clock[buyers] <= age[buyers]
        calibrated = buyers[in_calibration]
        frequency[calibrated] += 1
        recency[calibrated] = clock[calibrated]
        holdout[buyers[~in_calibration]] += 1
        # The model lets a customer drop out only right after a repeat purchase.
        active[buyers[rng.random(buyers.size) < dropout[buyers]]] = False
    return frequency, recency, age, holdout


@pytest.fixture(scope="module")
def cdnow_like() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(20050101)
    return simulate_purchases(
        rng, n=20_000, params=CDNOW_BG_NBD, calibration_weeks=39, holdout_weeks=39
    )


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_like: tuple[np.ndarray, ...]) -> BgNbdParams:
    frequency, recency, age, _ = cdnow_like
    return fit_bg_nbd(frequency=frequency, recency=recency, age=age)


def simulate_spend(
    rng: np.random.Generator, *, n: int, params: GammaGammaParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw (transactions, mean amount, true expected amount) from the Gamma-Gamma model."""
    # Few transactions each: p shows in the spread of a customer's amounts, which averaging hides.
    frequency = 1 + rng.poisson(1.0, n).astype(float)
    nu = rng.gamma(params.q, 1 / params.v, n)
    # The sum of x Gamma(p, nu) amounts is Gamma(p x, nu).
    mean_value = rng.gamma(params.p * frequency, 1 / nu) / frequency
    return frequency, mean_value, params.p / nu


@given(st.lists(st.decimals(min_value=-10_000, max_value=10_000, places=2), max_size=30))
def test_lifetime_value_is_never_negative(amounts: list[Decimal]) -> None:
    total = lifetime_value(amounts=amounts)
    assert total >= 0
    assert total == max(sum(amounts, Decimal(0)), Decimal(0))


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([], Decimal("0")),
        ([Decimal("19.99"), Decimal("5.01")], Decimal("25.00")),
        ([Decimal("100"), Decimal("-30")], Decimal("70")),
        ([Decimal("10"), Decimal("-30")], Decimal("0")),
    ],
)
def test_lifetime_value_nets_refunds(amounts: list[Decimal], expected: Decimal) -> None:
    assert lifetime_value(amounts=amounts) == expected


@pytest.mark.parametrize(
    ("spend", "wallet", "expected"),
    [
        (Decimal("250"), Decimal("1000"), Decimal("0.25")),
        (Decimal("1500"), Decimal("1000"), Decimal("1")),
        (Decimal("-20"), Decimal("1000"), Decimal("0")),
        (Decimal("0"), Decimal("1000"), Decimal("0")),
        (Decimal("250"), None, None),
        (Decimal("250"), Decimal("0"), None),
        (Decimal("250"), Decimal("-5"), None),
    ],
)
def test_share_of_wallet_examples(
    spend: Decimal, wallet: Decimal | None, expected: Decimal | None
) -> None:
    assert share_of_wallet(spend_12m=spend, wallet=wallet) == expected


@given(
    st.decimals(min_value=-1e6, max_value=1e7, places=2),
    st.decimals(min_value=Decimal("0.01"), max_value=1e7, places=2),
)
def test_share_of_wallet_stays_within_zero_and_one(spend: Decimal, wallet: Decimal) -> None:
    share = share_of_wallet(spend_12m=spend, wallet=wallet)
    assert share is not None
    assert 0 <= share <= 1


def test_rfm_scores_on_a_known_table() -> None:
    scores = rfm_scores(
        recency_days=np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        frequency=np.array([0, 0, 0, 0, 0, 0, 1, 2, 5, 9]),
        monetary=np.array([50, 10, 10, 20, 30, 40, 60, 70, 80, 90]),
    )
    assert scores[:, 0].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # Six customers tie at zero repeat purchases: all take the lowest score the tie spans.
    assert scores[:, 1].tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert scores[:, 2].tolist() == [3, 1, 1, 2, 2, 3, 4, 4, 5, 5]


def test_rfm_scores_put_never_purchased_last() -> None:
    scores = rfm_scores(
        recency_days=np.array([np.inf, 3, 30, 300, 90]),
        frequency=np.zeros(5),
        monetary=np.zeros(5),
    )
    assert scores[:, 0].tolist() == [1, 5, 4, 2, 3]
    assert scores[:, 1].tolist() == [1] * 5


@given(
    st.lists(
        st.tuples(st.integers(0, 400), st.integers(0, 20), st.integers(0, 5000).map(float)),
        min_size=1,
        max_size=60,
    ),
    st.randoms(use_true_random=False),
)
def test_rfm_scores_are_quintiles_that_ignore_order_and_respect_ties(
    rows: list[tuple[int, int, float]], shuffler
) -> None:
    table = np.array(rows, dtype=float)
    scores = rfm_scores(recency_days=table[:, 0], frequency=table[:, 1], monetary=table[:, 2])
    assert scores.shape == (len(rows), 3)
    assert ((scores >= 1) & (scores <= 5)).all()
    order = list(range(len(rows)))
    shuffler.shuffle(order)
    shuffled = rfm_scores(
        recency_days=table[order, 0], frequency=table[order, 1], monetary=table[order, 2]
    )
    assert (shuffled == scores[order]).all()
    for column, sign in ((0, -1), (1, 1), (2, 1)):
        better = sign * table[:, column]
        # A better figure never scores lower; equal figures score the same.
        assert all(
            scores[i, column] <= scores[j, column]
            for i in range(len(rows))
            for j in range(len(rows))
            if better[i] <= better[j]
        )


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 5, "Champions"),
        (4, 4, 4, "Champions"),
        (5, 5, 1, "Loyal"),
        (3, 4, 2, "Loyal"),
        (5, 1, 3, "New"),
        (4, 3, 1, "Promising"),
        (3, 2, 5, "Needs attention"),
        (1, 5, 5, "At risk"),
        (2, 3, 1, "At risk"),
        (1, 1, 1, "Hibernating"),
        (2, 2, 4, "Hibernating"),
    ],
)
def test_rfm_segment_names(r: int, f: int, m: int, segment: str) -> None:
    assert rfm_segment(recency=r, frequency=f, monetary=m) == segment


def test_rfm_segments_cover_every_score_combination() -> None:
    names = {name for name, *_ in RFM_SEGMENTS}
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                assert rfm_segment(recency=r, frequency=f, monetary=m) in names


@pytest.mark.parametrize("scores", [(0, 3, 3), (3, 6, 3), (3, 3, -1)])
def test_rfm_segment_rejects_scores_outside_one_to_five(scores: tuple[int, int, int]) -> None:
    r, f, m = scores
    with pytest.raises(ValueError, match="1..5"):
        rfm_segment(recency=r, frequency=f, monetary=m)


def test_bg_nbd_recovers_cdnow_parameters(cdnow_fit: BgNbdParams) -> None:
    # Tolerances for 20,000 customers over 39 weeks, from 40 seeds: r and alpha came within 7%,
    # a and b (dropout is seen only through the silent) within 22%. Allow 15% and 30%.
    assert cdnow_fit.r == pytest.approx(CDNOW_BG_NBD.r, rel=0.15)
    assert cdnow_fit.alpha == pytest.approx(CDNOW_BG_NBD.alpha, rel=0.15)
    assert cdnow_fit.a == pytest.approx(CDNOW_BG_NBD.a, rel=0.30)
    assert cdnow_fit.b == pytest.approx(CDNOW_BG_NBD.b, rel=0.30)


def test_bg_nbd_recovers_mean_purchase_rate_and_dropout(cdnow_fit: BgNbdParams) -> None:
    # The population means are better identified (40 seeds: within 3.3% and 7.1%).
    fitted, true = cdnow_fit, CDNOW_BG_NBD
    assert fitted.r / fitted.alpha == pytest.approx(true.r / true.alpha, rel=0.10)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(true.a / (true.a + true.b), rel=0.15)


def test_bg_nbd_expected_purchases_match_the_holdout(
    cdnow_like: tuple[np.ndarray, ...], cdnow_fit: BgNbdParams
) -> None:
    frequency, recency, age, holdout = cdnow_like
    predicted = expected_purchases(cdnow_fit, t=39, frequency=frequency, recency=recency, age=age)
    # Within 10% overall (40 seeds: within 5.1%), and right for light and heavy buyers alike.
    assert predicted.sum() == pytest.approx(holdout.sum(), rel=0.10)
    for group in (frequency == 0, (frequency >= 1) & (frequency <= 3), frequency >= 4):
        assert predicted[group].sum() == pytest.approx(holdout[group].sum(), rel=0.20)


def test_bg_nbd_fit_is_unit_free(cdnow_like: tuple[np.ndarray, ...]) -> None:
    frequency, recency, age, _ = cdnow_like
    weeks = fit_bg_nbd(frequency=frequency, recency=recency, age=age)
    days = fit_bg_nbd(frequency=frequency, recency=recency * 7, age=age * 7)
    # Only alpha carries time: it scales with the unit; the shape parameters do not move.
    assert days.alpha == pytest.approx(weeks.alpha * 7, rel=1e-3)
    assert (days.r, days.a, days.b) == pytest.approx((weeks.r, weeks.a, weeks.b), rel=1e-3)


def test_expected_purchases_match_the_untransformed_formula() -> None:
    r, alpha, a, b = 0.24, 4.41, 0.79, 2.43
    x = np.array([0.0, 1, 3, 10])
    t_x = np.array([0.0, 5, 20, 30])
    age = np.array([10.0, 30, 39, 39])
    t = 52.0
    z = t / (alpha + age + t)
    # Equation 10 of Fader, Hardie & Lee (2005), term by term.
    numerator = 1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * special.hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    denominator = 1 + (x > 0) * a / (b + x - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x)
    direct = (a + b + x - 1) / (a - 1) * numerator / denominator
    computed = expected_purchases(
        BgNbdParams(r=r, alpha=alpha, a=a, b=b), t=t, frequency=x, recency=t_x, age=age
    )
    assert computed == pytest.approx(direct, rel=1e-9)


@pytest.mark.parametrize(
    ("frequency", "recency", "age"),
    [(0, 0, 20), (3, 30, 39), (200, 38.5, 39), (2000, 38.9, 39)],
)
def test_expected_purchases_agree_with_monte_carlo(
    frequency: float, recency: float, age: float
) -> None:
    params, t, draws = CDNOW_BG_NBD, 52.0, 400_000
    rng = np.random.default_rng(5)
    # Given the history and being alive: rate ~ Gamma(r + x, alpha + T), p ~ Beta(a, b + x),
    # and a live customer buys (1 - exp(-rate p t)) / p times before dropping out.
    rate = rng.gamma(params.r + frequency, 1 / (params.alpha + age), draws)
    dropout = rng.beta(params.a, params.b + frequency, draws)
    history = {
        "frequency": np.array([float(frequency)]),
        "recency": np.array([float(recency)]),
        "age": np.array([float(age)]),
    }
    alive = probability_alive(params, **history)[0]
    simulated = alive * np.mean(-np.expm1(-rate * dropout * t) / dropout)
    # 400,000 draws: the Monte Carlo error is well under 1%.
    assert expected_purchases(params, t=t, **history)[0] == pytest.approx(simulated, rel=0.01)


def test_probability_alive_behaves() -> None:
    age = np.array([39.0, 39, 39, 39])
    alive = probability_alive(
        CDNOW_BG_NBD,
        frequency=np.array([0.0, 3, 3, 3]),
        recency=np.array([0.0, 38, 20, 2]),
        age=age,
    )
    # No repeat purchase: the model cannot have seen a dropout.
    assert alive[0] == 1
    # The longer the silence since the last purchase, the less likely still active.
    assert 1 > alive[1] > alive[2] > alive[3] > 0


def test_gamma_gamma_recovers_cdnow_spend_parameters() -> None:
    rng = np.random.default_rng(20050202)
    frequency, mean_value, _ = simulate_spend(rng, n=10_000, params=CDNOW_GAMMA_GAMMA)
    fitted = fit_gamma_gamma(frequency=frequency, mean_value=mean_value)
    true = CDNOW_GAMMA_GAMMA
    # 40 seeds at this size: q within 6%, p and v within 19% (they trade off), mean within 2%.
    assert fitted.q == pytest.approx(true.q, rel=0.10)
    assert fitted.p == pytest.approx(true.p, rel=0.25)
    assert fitted.v == pytest.approx(true.v, rel=0.25)
    population_mean = fitted.p * fitted.v / (fitted.q - 1)
    assert population_mean == pytest.approx(true.p * true.v / (true.q - 1), rel=0.05)


def test_gamma_gamma_expected_value_beats_the_raw_mean() -> None:
    rng = np.random.default_rng(7)
    frequency, mean_value, true_mean = simulate_spend(rng, n=5_000, params=CDNOW_GAMMA_GAMMA)
    fitted = fit_gamma_gamma(frequency=frequency, mean_value=mean_value)
    expected = expected_average_value(fitted, frequency=frequency, mean_value=mean_value)
    # Shrinking towards the population mean is the point of the model.
    assert np.mean((expected - true_mean) ** 2) < np.mean((mean_value - true_mean) ** 2)


def test_gamma_gamma_expected_value_moves_from_population_to_own_mean() -> None:
    params = CDNOW_GAMMA_GAMMA
    population = params.p * params.v / (params.q - 1)
    expected = expected_average_value(
        params, frequency=np.array([0.0, 1, 1000]), mean_value=np.array([0.0, 100, 100])
    )
    assert expected[0] == pytest.approx(population)
    assert population < expected[1] < expected[2]
    assert expected[2] == pytest.approx(100, rel=0.01)


def test_gamma_gamma_fit_ignores_customers_without_repeat_purchases() -> None:
    rng = np.random.default_rng(3)
    frequency, mean_value, _ = simulate_spend(rng, n=2_000, params=CDNOW_GAMMA_GAMMA)
    with_noise = fit_gamma_gamma(
        frequency=np.concatenate([frequency, np.zeros(500)]),
        mean_value=np.concatenate([mean_value, np.zeros(500)]),
    )
    assert with_noise == fit_gamma_gamma(frequency=frequency, mean_value=mean_value)


@pytest.mark.parametrize("repeaters", [0, 1, 20, 99])
def test_predicted_value_falls_back_with_too_little_history(repeaters: int) -> None:
    n = 300
    frequency = np.zeros(n)
    frequency[:repeaters] = 2
    recency = np.where(frequency > 0, 10.0, 0.0)
    spend = np.linspace(0, 500, n)
    forecast = predicted_value_12m(
        frequency=frequency,
        recency=recency,
        age=np.full(n, 30.0),
        mean_value=np.where(frequency > 0, 40.0, 0.0),
        spend_12m=spend,
    )
    assert (forecast.method == METHOD_TRAILING).all()
    assert (forecast.value_12m == spend).all()
    assert np.isnan(forecast.probability_alive).all()
    assert forecast.bg_nbd is None
    assert forecast.gamma_gamma is None
    assert (
        forecast.fallback_reason == f"only {repeaters} customers have repeat purchases (need 100)"
    )


def test_predicted_value_falls_back_when_the_fit_fails(
    monkeypatch: pytest.MonkeyPatch, cdnow_like: tuple[np.ndarray, ...]
) -> None:
    def fails(**_: object) -> BgNbdParams:
        raise ModelFitError("BG/NBD fit did not converge: test")

    monkeypatch.setattr(value, "fit_bg_nbd", fails)
    frequency, recency, age, _ = cdnow_like
    spend = np.full(frequency.size, 12.5)
    forecast = predicted_value_12m(
        frequency=frequency, recency=recency, age=age, mean_value=spend, spend_12m=spend
    )
    assert (forecast.method == METHOD_TRAILING).all()
    assert forecast.fallback_reason == "BG/NBD fit did not converge: test"


def test_predicted_value_uses_the_models_for_repeat_buyers(
    cdnow_like: tuple[np.ndarray, ...],
) -> None:
    frequency, recency, age, _ = cdnow_like
    rng = np.random.default_rng(11)
    nu = rng.gamma(CDNOW_GAMMA_GAMMA.q, 1 / CDNOW_GAMMA_GAMMA.v, frequency.size)
    mean_value = np.where(frequency > 0, rng.gamma(CDNOW_GAMMA_GAMMA.p, 1 / nu), 0.0)
    spend = rng.uniform(0, 100, frequency.size)
    forecast = predicted_value_12m(
        frequency=frequency, recency=recency, age=age, mean_value=mean_value, spend_12m=spend
    )
    repeat = frequency > 0
    assert forecast.fallback_reason is None
    assert forecast.bg_nbd is not None
    assert forecast.gamma_gamma is not None
    assert (forecast.method[repeat] == METHOD_MODEL).all()
    # A single purchase says nothing about the customer's own rhythm: trailing spend it is.
    assert (forecast.method[~repeat] == METHOD_TRAILING).all()
    assert (forecast.value_12m[~repeat] == spend[~repeat]).all()
    assert np.isnan(forecast.probability_alive[~repeat]).all()
    assert (
        (forecast.probability_alive[repeat] > 0) & (forecast.probability_alive[repeat] <= 1)
    ).all()
    purchases = expected_purchases(
        forecast.bg_nbd,
        t=365.25 / 7,
        frequency=frequency[repeat],
        recency=recency[repeat],
        age=age[repeat],
    )
    spend_each = expected_average_value(
        forecast.gamma_gamma, frequency=frequency[repeat], mean_value=mean_value[repeat]
    )
    assert forecast.value_12m[repeat] == pytest.approx(purchases * spend_each)


def test_predicted_value_reuses_stored_parameters_on_a_small_base() -> None:
    forecast = predicted_value_12m(
        frequency=np.array([0.0, 4.0]),
        recency=np.array([0.0, 30.0]),
        age=np.array([10.0, 39.0]),
        mean_value=np.array([0.0, 35.0]),
        spend_12m=np.array([20.0, 150.0]),
        bg_nbd=CDNOW_BG_NBD,
        gamma_gamma=CDNOW_GAMMA_GAMMA,
    )
    assert forecast.method.tolist() == [METHOD_TRAILING, METHOD_MODEL]
    assert forecast.value_12m[0] == 20.0
    assert forecast.value_12m[1] > 0


def test_fit_rejects_a_base_without_repeat_purchases() -> None:
    with pytest.raises(ModelFitError):
        fit_bg_nbd(frequency=np.zeros(5), recency=np.zeros(5), age=np.full(5, 10.0))


@pytest.mark.parametrize(
    ("frequency", "recency", "age"),
    [
        ([1.0], [12.0], [10.0]),
        ([-1.0], [0.0], [10.0]),
        ([1.5], [2.0], [10.0]),
        ([1.0, 2.0], [2.0], [10.0]),
    ],
)
def test_purchase_models_reject_impossible_histories(
    frequency: list[float], recency: list[float], age: list[float]
) -> None:
    with pytest.raises(ValueError):
        probability_alive(
            CDNOW_BG_NBD,
            frequency=np.array(frequency),
            recency=np.array(recency),
            age=np.array(age),
        )
