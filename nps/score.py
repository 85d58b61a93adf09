"""Net Promoter Score arithmetic: categories, the score, and its honest margin of error.

Promoters answer 9-10, passives 7-8, detractors 0-6. NPS = % promoters - % detractors, from
-100 to 100. Each answer scores +1 (promoter), 0 (passive) or -1 (detractor); the NPS is their
mean times 100, and its variance is p + d - (p - d)^2 for shares p and d.

For the 95 % interval we use the adjusted estimate for small samples: add 0.75 to promoters
and to detractors and 3 to the count before computing the variance (the Agresti-Coull idea
for a three-valued outcome), which keeps the interval's coverage near 95 % even at 15-25
answers, where the plain Wald interval is far too narrow. The point estimate shown is the
plain NPS; only the margin uses the adjustment.
"""

import math
from dataclasses import dataclass

PROMOTER_MIN = 9
PASSIVE_MIN = 7
Z_95 = 1.959963984540054
ADJUST_EACH = 0.75
ADJUST_COUNT = 3
# Groups with fewer answers are shown, but marked too small to trust.
TRUSTWORTHY_MIN = 30


def category(score: int) -> str:
    """promoter, passive or detractor for a 0-10 score."""
    if not 0 <= score <= 10:
        raise ValueError(f"an NPS answer runs from 0 to 10, not {score}")
    if score >= PROMOTER_MIN:
        return "promoter"
    if score >= PASSIVE_MIN:
        return "passive"
    return "detractor"


@dataclass(frozen=True)
class Summary:
    """The NPS of a group of answers, with its 95 % margin of error (in NPS points)."""

    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    margin_of_error: float | None

    @property
    def is_trustworthy(self) -> bool:
        return self.responses >= TRUSTWORTHY_MIN

    @property
    def low(self) -> float | None:
        if self.nps is None or self.margin_of_error is None:
            return None
        return max(-100.0, self.nps - self.margin_of_error)

    @property
    def high(self) -> float | None:
        if self.nps is None or self.margin_of_error is None:
            return None
        return min(100.0, self.nps + self.margin_of_error)


def summarize(*, promoters: int, passives: int, detractors: int) -> Summary:
    """NPS and margin of error from the three counts."""
    if min(promoters, passives, detractors) < 0:
        raise ValueError("counts cannot be negative")
    n = promoters + passives + detractors
    if n == 0:
        return Summary(0, 0, 0, 0, None, None)
    nps = 100 * (promoters - detractors) / n
    return Summary(
        responses=n,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        nps=nps,
        margin_of_error=margin_of_error(promoters=promoters, detractors=detractors, n=n),
    )


def margin_of_error(*, promoters: int, detractors: int, n: int) -> float:
    """Half-width of the adjusted 95 % interval, in NPS points."""
    count = n + ADJUST_COUNT
    p = (promoters + ADJUST_EACH) / count
    d = (detractors + ADJUST_EACH) / count
    variance = p + d - (p - d) ** 2
    return 100 * Z_95 * math.sqrt(variance / count)


def from_scores(scores: list[int]) -> Summary:
    """NPS of a list of 0-10 answers (the reference the SQL aggregates are checked against)."""
    kinds = [category(score) for score in scores]
    return summarize(
        promoters=kinds.count("promoter"),
        passives=kinds.count("passive"),
        detractors=kinds.count("detractor"),
    )


def response_rate(*, responses: int, invitations: int) -> float | None:
    """Answers over invitations, 0..1; None with no invitation."""
    if invitations <= 0:
        return None
    return min(responses / invitations, 1.0)
