"""Customer value arithmetic: lifetime value, RFM, BG/NBD + Gamma-Gamma forecasts.

Pure arithmetic (standard library, numpy, scipy); no Django and no database. The caller gathers
the figures and stores the results.

Units: the purchase models (BG/NBD, Gamma-Gamma, ``predicted_value_12m``) count time in WEEKS,
as in Fader, Hardie & Lee (2005); churn risk (customers/churn.py) counts days. Per customer:

- ``frequency`` (x): repeat purchases, i.e. distinct purchase days minus one;
- ``recency`` (t_x): weeks from the first to the last purchase (0 when x == 0);
- ``age`` (T): weeks from the first purchase to today;
- ``mean_value``: mean amount of the repeat purchases (ignored where x == 0).

Public API:

- ``lifetime_value(*, amounts) -> Decimal``: net spend to date, floored at 0.
- ``share_of_wallet(*, spend_12m, wallet) -> Decimal | None``: spend over estimated wallet, 0..1.
- ``rfm_scores(*, recency_days, frequency, monetary) -> ndarray (n, 3)``: quintiles 1..5, 5 best.
- ``rfm_segment(*, recency, frequency, monetary) -> str``: a name from ``RFM_SEGMENTS``.
- ``fit_bg_nbd(*, frequency, recency, age) -> BgNbdParams``: maximum-likelihood BG/NBD fit.
- ``expected_purchases(params, *, t, frequency, recency, age) -> ndarray``: purchases in next t.
- ``probability_alive(params, *, frequency, recency, age) -> ndarray``: P(still active).
- ``fit_gamma_gamma(*, frequency, mean_value) -> GammaGammaParams``: spend model fit.
- ``expected_average_value(params, *, frequency, mean_value) -> ndarray``: future mean spend.
- ``predicted_value_12m(*, frequency, recency, age, mean_value, spend_12m, ...) -> ValueForecast``:
  12-month value per customer, with the method used (``METHOD_MODEL`` or ``METHOD_TRAILING``).

Fits raise ``ModelFitError`` when the optimiser does not converge; ``predicted_value_12m``
catches it and falls back to trailing-12-month spend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from scipy import optimize, special

# Predictions run a year ahead; 365.25 / 7 keeps leap years honest.
WEEKS_PER_YEAR = 365.25 / 7

# Below this many customers with a repeat purchase, four BG/NBD parameters swing wildly from one
# nightly refit to the next, so the forecast would be noise: fall back to trailing spend.
MIN_REPEAT_CUSTOMERS = 100

METHOD_MODEL = "bg_nbd_gamma_gamma"
METHOD_TRAILING = "trailing_12m"

# Optimiser bounds on the log-parameters: wide enough for days or weeks, narrow enough that
# exp() never overflows while the line search explores.
_LOG_PARAM_BOUND = 20.0
# A fit whose mean-log-likelihood gradient is this flat is at the optimum even when L-BFGS-B
# reports an "abnormal" line-search stop (a known false alarm near convergence).
_GRADIENT_TOLERANCE = 1e-4


class ModelFitError(RuntimeError):
    """The BG/NBD or Gamma-Gamma optimiser did not reach a usable optimum."""


def lifetime_value(*, amounts: Iterable[Decimal]) -> Decimal:
    """Net spend to date; refunds may be negative but the total never drops below zero."""
    total = sum(amounts, Decimal(0))
    return max(total, Decimal(0))


def share_of_wallet(*, spend_12m: Decimal, wallet: Decimal | None) -> Decimal | None:
    """Trailing-12-month spend over the estimated wallet, in 0..1; None if the wallet is unknown."""
    if wallet is None or wallet <= 0:
        return None
    # Net refunds can make spend negative, and an underestimated wallet can be overshot.
    return min(max(spend_12m / wallet, Decimal(0)), Decimal(1))


def _quintile_scores(goodness: np.ndarray) -> np.ndarray:
    """Score 1..5 by rank; a tie takes the score of the lowest rank it spans."""
    n = goodness.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.sort(goodness)
    # Equal values share a rank, so identical customers always get identical scores.
    below = np.searchsorted(order, goodness, side="left")
    return 1 + (5 * below) // n


def rfm_scores(
    *, recency_days: np.ndarray, frequency: np.ndarray, monetary: np.ndarray
) -> np.ndarray:
    """Recency, frequency and monetary quintile scores (1..5, 5 = best), shape (n, 3)."""
    recency_days = np.asarray(recency_days, dtype=float)
    frequency = np.asarray(frequency, dtype=float)
    monetary = np.asarray(monetary, dtype=float)
    if not recency_days.shape == frequency.shape == monetary.shape or recency_days.ndim != 1:
        raise ValueError("recency_days, frequency and monetary must be 1-D and of equal length")
    if np.isnan(recency_days).any() or np.isnan(frequency).any() or np.isnan(monetary).any():
        raise ValueError("RFM inputs must not contain NaN (use inf days for never purchased)")
    # Fewer days since the last purchase is better, hence the sign flip.
    return np.column_stack(
        [_quintile_scores(-recency_days), _quintile_scores(frequency), _quintile_scores(monetary)]
    ).astype(np.int64)


# (name, recency range, frequency range, monetary range), inclusive; the first match wins and the
# table covers all 125 combinations.
RFM_SEGMENTS: tuple[tuple[str, tuple[int, int], tuple[int, int], tuple[int, int]], ...] = (
    ("Champions", (4, 5), (4, 5), (4, 5)),
    ("Loyal", (3, 5), (4, 5), (1, 5)),
    ("New", (4, 5), (1, 1), (1, 5)),
    ("Promising", (4, 5), (2, 3), (1, 5)),
    ("Needs attention", (3, 3), (1, 3), (1, 5)),
    ("At risk", (1, 2), (3, 5), (1, 5)),
    ("Hibernating", (1, 2), (1, 2), (1, 5)),
)


def rfm_segment(*, recency: int, frequency: int, monetary: int) -> str:
    """Name of the RFM segment (see ``RFM_SEGMENTS``) for one customer's three scores."""
    scores = (recency, frequency, monetary)
    if any(not 1 <= s <= 5 for s in scores):
        raise ValueError(f"RFM scores must be within 1..5, got {scores}")
    for name, *ranges in RFM_SEGMENTS:
        if all(low <= s <= high for s, (low, high) in zip(scores, ranges, strict=True)):
            return name
    raise AssertionError("RFM_SEGMENTS must cover every combination")  # pragma: no cover


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: purchase rate ~ Gamma(r, alpha) per week, dropout ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma spend parameters: amount ~ Gamma(p, nu), nu ~ Gamma(q, v)."""

    p: float
    q: float
    v: float


def _purchase_histories(
    frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    big_t = np.asarray(age, dtype=float)
    if not x.shape == t_x.shape == big_t.shape:
        raise ValueError("frequency, recency and age must have the same shape")
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(big_t).all()):
        raise ValueError("frequency, recency and age must be finite")
    if (x < 0).any() or (t_x < 0).any() or (t_x > big_t + 1e-9).any():
        raise ValueError("need frequency >= 0 and 0 <= recency <= age")
    if (x != np.round(x)).any():
        raise ValueError("frequency counts repeat purchases and must be whole")
    return x, t_x, big_t


def _bg_nbd_objective(
    log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, weight: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood (eq. 6 of Fader, Hardie & Lee 2005) and its gradient."""
    r, alpha, a, b = np.exp(log_params)
    repeat = x > 0
    log_alpha_t = np.log(alpha + big_t)
    log_alpha_tx = np.log(alpha + t_x)
    # Customer still alive at T (l3), or dropped out right after the last purchase (l4, x > 0).
    l3 = -(r + x) * log_alpha_t
    b_x1 = np.where(repeat, b + x - 1, 1.0)
    l4 = np.where(repeat, np.log(a) - np.log(b_x1) - (r + x) * log_alpha_tx, -np.inf)
    lse = np.logaddexp(l3, l4)
    ll = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
        + lse
    )
    w3 = np.exp(l3 - lse)
    w4 = np.exp(l4 - lse)
    dr = special.digamma(r + x) - special.digamma(r) + np.log(alpha) - w3 * log_alpha_t
    dr -= w4 * log_alpha_tx
    dalpha = r / alpha - (r + x) * (w3 / (alpha + big_t) + w4 / (alpha + t_x))
    da = special.digamma(a + b) - special.digamma(a + b + x) + w4 / a
    db = (
        special.digamma(b + x)
        - special.digamma(a + b + x)
        - special.digamma(b)
        + special.digamma(a + b)
        - w4 / b_x1
    )
    total = weight.sum()
    # Chain rule for the log-parametrisation: d/dlog(theta) = theta * d/dtheta.
    grad = np.array([r * dr @ weight, alpha * dalpha @ weight, a * da @ weight, b * db @ weight])
    return -float(ll @ weight) / total, -grad / total


def _maximise(
    objective: Callable[..., tuple[float, np.ndarray]],
    start: np.ndarray,
    data: tuple[np.ndarray, ...],
    model: str,
) -> np.ndarray:
    bounds = [(-_LOG_PARAM_BOUND, _LOG_PARAM_BOUND)] * start.size
    result = optimize.minimize(
        objective,
        start,
        args=data,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
    )
    flat = np.isfinite(result.fun) and np.abs(result.jac).max() < _GRADIENT_TOLERANCE
    if not (result.success or flat) or not np.isfinite(result.x).all():
        raise ModelFitError(f"{model} fit did not converge: {result.message}")
    if (np.abs(result.x) >= _LOG_PARAM_BOUND - 1e-6).any():
        raise ModelFitError(f"{model} fit ran to a parameter bound: {np.exp(result.x)}")
    return np.exp(result.x)


def fit_bg_nbd(*, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray) -> BgNbdParams:
    """Maximum-likelihood BG/NBD fit over the whole customer base (time in weeks)."""
    x, t_x, big_t = _purchase_histories(frequency, recency, age)
    if x.size == 0 or not (x > 0).any():
        raise ModelFitError("BG/NBD needs at least one customer with a repeat purchase")
    # Many customers share a history (e.g. one purchase, same start week): fit each once.
    histories, weight = np.unique(np.column_stack([x, t_x, big_t]), axis=0, return_counts=True)
    # Start at the method-of-moments purchase rate so the fit works in weeks or days alike.
    rate = max(x.sum(), 1.0) / max(big_t.sum(), 1e-9)
    start = np.log([1.0, 1.0 / rate, 1.0, 1.0])
    data = (histories[:, 0], histories[:, 1], histories[:, 2], weight.astype(float))
    r, alpha, a, b = _maximise(_bg_nbd_objective, start, data, "BG/NBD")
    return BgNbdParams(r=float(r), alpha=float(alpha), a=float(a), b=float(b))


def probability_alive(
    params: BgNbdParams, *, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Probability that each customer is still active (eq. 12 of Fader, Hardie & Lee 2005)."""
    x, t_x, big_t = _purchase_histories(frequency, recency, age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    b_x1 = np.where(repeat, b + x - 1, 1.0)
    # Odds of having dropped out, in logs: ((alpha+T)/(alpha+t_x))^(r+x) overflows for big x.
    log_odds = np.log(a) - np.log(b_x1) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
    return np.where(repeat, special.expit(-log_odds), 1.0)


def expected_purchases(
    params: BgNbdParams,
    *,
    t: float,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """Expected purchases in the next t weeks given each history (eq. 10, Fader et al. 2005)."""
    x, t_x, big_t = _purchase_histories(frequency, recency, age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    # The formula divides by a - 1; nudge off the removable singularity at a == 1.
    if abs(a - 1) < 1e-7:
        a = 1 + 1e-7
    z = t / (alpha + big_t + t)
    # Euler's transformation turns (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) into
    # (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z): for heavy buyers (x in the thousands) the
    # original power underflows to 0 while its 2F1 overflows, giving NaN; this form stays finite.
    hyper = special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    with np.errstate(invalid="ignore", over="ignore"):
        # Extreme parameters give 0 * inf here; the caller sees NaN and falls back.
        bracket = 1 - np.exp((a - 1) * np.log1p(-z)) * hyper
    alive = probability_alive(params, frequency=x, recency=t_x, age=big_t)
    return (a + b + x - 1) / (a - 1) * bracket * alive


def _spend_histories(frequency: np.ndarray, mean_value: np.ndarray) -> tuple[np.ndarray, ...]:
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(mean_value, dtype=float)
    if x.shape != m.shape:
        raise ValueError("frequency and mean_value must have the same shape")
    return x, m


def _gamma_gamma_objective(
    log_params: np.ndarray, x: np.ndarray, m: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the Gamma-Gamma spend model and its gradient."""
    p, q, v = np.exp(log_params)
    log_vxm = np.log(v + x * m)
    ll = (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * log_vxm
    )
    psi_pxq = special.digamma(p * x + q)
    dp = x * (psi_pxq - special.digamma(p * x) + np.log(m) + np.log(x) - log_vxm)
    dq = psi_pxq - special.digamma(q) + np.log(v) - log_vxm
    dv = q / v - (p * x + q) / (v + x * m)
    grad = np.array([p * dp.sum(), q * dq.sum(), v * dv.sum()])
    return -float(ll.sum()) / x.size, -grad / x.size


def fit_gamma_gamma(*, frequency: np.ndarray, mean_value: np.ndarray) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma fit on the customers with frequency > 0."""
    x, m = _spend_histories(frequency, mean_value)
    # Refund-only or zero means have no place in a Gamma model of amounts; leave them out.
    usable = (x > 0) & (m > 0) & np.isfinite(m)
    x, m = x[usable], m[usable]
    if x.size < 2:
        raise ModelFitError("Gamma-Gamma needs at least two customers with repeat purchases")
    mean = m.mean()
    # Start with a moderate p and q > 1 matching the observed mean spend.
    start = np.log([2.0, 2.0, mean / 2.0])
    p, q, v = _maximise(_gamma_gamma_objective, start, (x, m), "Gamma-Gamma")
    return GammaGammaParams(p=float(p), q=float(q), v=float(v))


def expected_average_value(
    params: GammaGammaParams, *, frequency: np.ndarray, mean_value: np.ndarray
) -> np.ndarray:
    """Expected mean amount of each customer's future purchases (Fader, Hardie & Lee 2005)."""
    x, m = _spend_histories(frequency, mean_value)
    p, q, v = params.p, params.q, params.v
    if q <= 1:
        # The population mean spend p v / (q - 1) is infinite: the model has nothing to say.
        return np.full(x.shape, np.nan)
    # Credibility weighting of the population mean and the customer's own mean.
    m = np.where(x > 0, m, 0.0)
    return p * (v + x * m) / (p * x + q - 1)


@dataclass(frozen=True)
class ValueForecast:
    """Predicted 12-month value per customer and how each figure was obtained."""

    value_12m: np.ndarray
    # METHOD_MODEL or METHOD_TRAILING per customer, so the UI can say which it shows.
    method: np.ndarray
    # NaN where the model was not used.
    probability_alive: np.ndarray
    bg_nbd: BgNbdParams | None
    gamma_gamma: GammaGammaParams | None
    # Why the whole base fell back to trailing spend, or None when the models were used.
    fallback_reason: str | None


def predicted_value_12m(
    *,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    mean_value: np.ndarray,
    spend_12m: np.ndarray,
    bg_nbd: BgNbdParams | None = None,
    gamma_gamma: GammaGammaParams | None = None,
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
) -> ValueForecast:
    """Undiscounted 12-month value: BG/NBD purchases x Gamma-Gamma spend, else trailing spend."""
    x, t_x, big_t = _purchase_histories(frequency, recency, age)
    m = np.asarray(mean_value, dtype=float)
    trailing = np.asarray(spend_12m, dtype=float)
    repeaters = int((x > 0).sum())
    if (bg_nbd is None or gamma_gamma is None) and repeaters < min_repeat_customers:
        reason = f"only {repeaters} customers have repeat purchases (need {min_repeat_customers})"
        return _trailing_forecast(trailing, reason)
    try:
        if bg_nbd is None:
            bg_nbd = fit_bg_nbd(frequency=x, recency=t_x, age=big_t)
        if gamma_gamma is None:
            gamma_gamma = fit_gamma_gamma(frequency=x, mean_value=m)
    except ModelFitError as error:
        return _trailing_forecast(trailing, str(error))
    if gamma_gamma.q <= 1:
        return _trailing_forecast(trailing, "Gamma-Gamma fit has q <= 1 (infinite mean spend)")
    purchases = expected_purchases(bg_nbd, t=WEEKS_PER_YEAR, frequency=x, recency=t_x, age=big_t)
    spend = expected_average_value(gamma_gamma, frequency=x, mean_value=m)
    modelled = purchases * spend
    if not np.isfinite(modelled[(x > 0) & (m > 0)]).all():
        # Extreme fitted parameters overflow the forecast; trailing spend is the honest answer.
        return _trailing_forecast(trailing, "the fitted model gives non-finite forecasts")
    # A single purchase tells the model nothing about this customer's own rhythm or basket.
    use_model = (x > 0) & np.isfinite(modelled) & (m > 0)
    alive = probability_alive(bg_nbd, frequency=x, recency=t_x, age=big_t)
    return ValueForecast(
        value_12m=np.where(use_model, modelled, trailing),
        method=np.where(use_model, METHOD_MODEL, METHOD_TRAILING).astype(object),
        probability_alive=np.where(use_model, alive, np.nan),
        bg_nbd=bg_nbd,
        gamma_gamma=gamma_gamma,
        fallback_reason=None,
    )


def _trailing_forecast(trailing: np.ndarray, reason: str) -> ValueForecast:
    return ValueForecast(
        value_12m=trailing.copy(),
        method=np.full(trailing.size, METHOD_TRAILING, dtype=object),
        probability_alive=np.full(trailing.size, np.nan),
        bg_nbd=None,
        gamma_gamma=None,
        fallback_reason=reason,
    )
