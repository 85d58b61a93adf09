"""A/B tests of a step's content: who gets which variant, and when one has won.

Pure: no database. A customer's variant is fixed by a stable hash of (the program's salt, the
step, the customer id), drawn in proportion to the weights, so a resend, a re-enrollment or a
new batch never moves anyone to another variant. Each variant's response rate is compared with
the first variant's by Newcombe's hybrid score interval (programs.lift); a winner is named only
when every variant has the minimum number of sends and an interval excludes 0.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from programs.holdout import draw
from programs.lift import Interval, proportion_difference, wilson

MIN_VARIANTS = 2
MAX_VARIANTS = 4
# Sends each variant needs before a winner is named (Klaviyo asks for 500).
MINIMUM_SENDS = 400


def choose(weights: Sequence[int], *, salt: str, step_id: int, customer_id: int) -> int:
    """The index of the customer's variant among these weights (all positive)."""
    if not weights or min(weights) <= 0:
        raise ValueError("each variant needs a positive weight")
    point = draw(f"{salt}:step:{step_id}", customer_id) * sum(weights)
    reached = 0
    for index, weight in enumerate(weights):
        reached += weight
        if point < reached:
            return index
    return len(weights) - 1


@dataclass(frozen=True)
class Tally:
    """A variant's sends and responses."""

    sends: int
    responses: int


@dataclass(frozen=True)
class Standing:
    """A variant's rate with its 95 % interval, and its difference from the first variant."""

    rate: float | None
    low: float | None
    high: float | None
    versus_first: Interval | None


@dataclass(frozen=True)
class Verdict:
    """Each variant's standing and the winner's index (None while there is none)."""

    standings: list[Standing]
    winner: int | None
    collecting: bool


def standing_of(tally: Tally, first: Tally, *, is_first: bool) -> Standing:
    if not tally.sends:
        return Standing(None, None, None, None)
    low, high = wilson(tally.responses, tally.sends)
    versus = None
    if not is_first and first.sends:
        versus = proportion_difference(
            treated_successes=tally.responses,
            treated_n=tally.sends,
            control_successes=first.responses,
            control_n=first.sends,
        )
    return Standing(tally.responses / tally.sends, low, high, versus)


def verdict(tallies: Sequence[Tally], *, minimum: int = MINIMUM_SENDS) -> Verdict:
    """Each variant against the first, and the winner.

    A later variant wins when its interval against the first lies wholly above 0 (the best
    such by rate); the first wins when every other variant's interval lies wholly below 0.
    Nothing is named while any variant has fewer than `minimum` sends.
    """
    if not tallies:
        return Verdict([], None, True)
    first = tallies[0]
    standings = [standing_of(t, first, is_first=i == 0) for i, t in enumerate(tallies)]
    collecting = len(tallies) < MIN_VARIANTS or min(t.sends for t in tallies) < minimum
    if collecting:
        return Verdict(standings, None, True)
    others = [(i, s) for i, s in enumerate(standings) if i and s.versus_first is not None]
    better = [(s.rate or 0.0, i) for i, s in others if s.versus_first and s.versus_first.low > 0]
    if better:
        return Verdict(standings, max(better)[1], False)
    if others and all(s.versus_first and s.versus_first.high < 0 for _, s in others):
        return Verdict(standings, 0, False)
    return Verdict(standings, None, False)
