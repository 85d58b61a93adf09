"""Lift arithmetic: treated minus control, with an honest 95 % interval and a state.

Pure: no database. The figures come in as counts and sums (what SQL hands back cheaply), or,
for a small skewed group, as the values themselves.

- A difference of proportions (purchase, promotion, churn, referral rates) takes Newcombe's
  hybrid score interval (method 10 of Newcombe 1998, Stat Med 17:873-890): Wilson intervals
  for each group, combined. It keeps near 95 % coverage where the Wald interval fails (rare
  events, small control groups).
- A difference of means (spend per customer) takes Welch's interval (unequal variances, the
  Welch-Satterthwaite degrees of freedom). Spend is skewed (many zeros, a long tail); the mean
  is still close to normal once each group holds more than 25 times the squared skewness
  (Cochran's rule), so below that the percentile bootstrap is used instead, and the outcome
  says which.
- The state reads the interval: `collecting` while either group is under the minimum,
  `inconclusive` when it holds 0, `positive` / `negative` when it lies wholly above / below 0.
"""

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

Z_95 = 1.959963984540054
CONFIDENCE = 0.95
# Below this many customers whose window has ended, per group, no verdict is given.
MINIMUM_PER_GROUP = 100
# Cochran's rule for when a mean of a skewed variable is near enough to normal.
COCHRAN_FACTOR = 25
BOOTSTRAP_RESAMPLES = 2000

State = Literal["collecting", "inconclusive", "positive", "negative"]
Method = Literal["newcombe", "welch", "bootstrap"]


@dataclass(frozen=True)
class Interval:
    """A difference (treated minus control) with its 95 % interval and how it was made."""

    difference: float
    low: float
    high: float
    method: Method


@dataclass(frozen=True)
class Moments:
    """A group's count and its sums of x, x squared and x cubed (what SQL can add up)."""

    n: int
    total: float
    total_squares: float
    total_cubes: float = 0.0

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def variance(self) -> float:
        """The sample variance (n - 1 in the denominator)."""
        if self.n < 2:
            return 0.0
        centred = self.total_squares - self.total * self.total / self.n
        return max(centred, 0.0) / (self.n - 1)

    @property
    def skewness(self) -> float:
        """The moment coefficient of skewness g1; 0 for a group with no spread."""
        n = self.n
        mean = self.mean
        m2 = self.total_squares / n - mean * mean
        if m2 <= 1e-12 * max(1.0, mean * mean):
            return 0.0
        m3 = self.total_cubes / n - 3 * mean * self.total_squares / n + 2 * mean**3
        return m3 / m2**1.5


def moments_of(values: NDArray[np.float64]) -> Moments:
    """The moments of a list of values."""
    values = np.asarray(values, dtype=np.float64)
    return Moments(
        n=int(values.size),
        total=float(values.sum()),
        total_squares=float(np.square(values).sum()),
        total_cubes=float(np.power(values, 3).sum()),
    )


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for one proportion (no continuity correction)."""
    if n <= 0:
        raise ValueError("a proportion needs at least one trial")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie between 0 and {n}, not {successes}")
    p = successes / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denominator = 1 + z2 / n
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def proportion_difference(
    *, treated_successes: int, treated_n: int, control_successes: int, control_n: int
) -> Interval:
    """Newcombe's hybrid score interval (method 10) for treated rate minus control rate."""
    p1 = treated_successes / treated_n if treated_n else 0.0
    p2 = control_successes / control_n if control_n else 0.0
    l1, u1 = wilson(treated_successes, treated_n)
    l2, u2 = wilson(control_successes, control_n)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Interval(difference, low, high, "newcombe")


def welch(treated: Moments, control: Moments) -> Interval:
    """Welch's interval for treated mean minus control mean (unequal variances)."""
    if treated.n < 2 or control.n < 2:
        raise ValueError("Welch's interval needs at least two values in each group")
    a = treated.variance / treated.n
    b = control.variance / control.n
    difference = treated.mean - control.mean
    standard_error = math.sqrt(a + b)
    if standard_error == 0:
        return Interval(difference, difference, difference, "welch")
    degrees = (a + b) ** 2 / (a * a / (treated.n - 1) + b * b / (control.n - 1))
    margin = float(stats.t.ppf(1 - (1 - CONFIDENCE) / 2, degrees)) * standard_error
    return Interval(difference, difference - margin, difference + margin, "welch")


def bootstrap(
    treated: NDArray[np.float64],
    control: NDArray[np.float64],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """The percentile bootstrap interval for treated mean minus control mean.

    Seeded, so a page shows the same interval each time it is read.
    """
    treated = np.asarray(treated, dtype=np.float64)
    control = np.asarray(control, dtype=np.float64)
    if treated.size == 0 or control.size == 0:
        raise ValueError("the bootstrap needs values in both groups")
    generator = np.random.default_rng(seed)
    treated_means = treated[generator.integers(0, treated.size, (resamples, treated.size))].mean(
        axis=1
    )
    control_means = control[generator.integers(0, control.size, (resamples, control.size))].mean(
        axis=1
    )
    differences = treated_means - control_means
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    return Interval(float(treated.mean() - control.mean()), float(low), float(high), "bootstrap")


def needs_bootstrap(treated: Moments, control: Moments) -> bool:
    """Whether either group is too small for its skewness for the mean to be near normal."""
    return any(
        group.n <= COCHRAN_FACTOR * group.skewness**2 or group.n < 2 for group in (treated, control)
    )


def state_of(
    interval: Interval | None,
    *,
    treated_n: int,
    control_n: int,
    minimum: int = MINIMUM_PER_GROUP,
) -> State:
    """collecting, inconclusive, positive or negative."""
    if interval is None or min(treated_n, control_n) < minimum:
        return "collecting"
    if interval.low > 0:
        return "positive"
    if interval.high < 0:
        return "negative"
    return "inconclusive"
