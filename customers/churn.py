"""Churn risk: a score from 0 to 100 and the reasons behind it, for one customer.

Pure arithmetic (standard library only); no Django and no database. Every point is added for a
reason shown to the user, so the score can always be explained. Time counts in DAYS here; the
caller gathers the facts (``customers/queries.py: gather_facts``) and stores the result.

Public API: ``churn_risk(facts: ChurnFacts) -> ChurnRisk``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

# Churn risk: additive points, so every point can be traced to a reason shown to the user.
# Everyone starts slightly above zero: no customer is ever risk-free.
CHURN_BASELINE = 10
# Being overdue only matters once the silence is clearly longer than the customer's own rhythm.
OVERDUE_RATIO = 1.5
# Points per usual gap beyond the first: twice the usual gap -> 12 points, four times -> 35.
OVERDUE_POINTS_PER_GAP = 12
# Recency is the strongest single churn signal, but not enough on its own to call it lost.
RECENCY_MAX_POINTS = 35
# With one purchase there is no rhythm to compare with; half a year of silence is telling.
ONE_PURCHASE_SILENCE_DAYS = 180
ONE_PURCHASE_SILENCE_POINTS = 15
# BG/NBD P(alive) below this is a concern; it measures the same recency signal as the gap, so
# the two are not added: the larger one counts.
PROBABILITY_ALIVE_CONCERN = 0.6
# At P(alive) = 0 the model is as alarmed as the worst overdue gap.
PROBABILITY_ALIVE_MAX_POINTS = RECENCY_MAX_POINTS
# NPS answers older than a year say little about today's mood.
NPS_RELEVANCE_DAYS = 365
# Detractors (0-6) churn markedly more; passives (7-8) slightly; promoters (9-10) less.
DETRACTOR_POINTS = 20
PASSIVE_POINTS = 5
PROMOTER_POINTS = -10
# An open complaint hurts from day one and more each week it stays open...
OPEN_COMPLAINT_POINTS = 10
OPEN_COMPLAINT_POINTS_PER_WEEK = 2
# ...up to ten weeks, after which the damage is done.
OPEN_COMPLAINT_MAX_POINTS = 30
# Service-recovery paradox: a well-resolved complaint leaves the customer more loyal than before.
RESOLVED_COMPLAINT_POINTS = -6
# The paradox is modest; many resolved complaints still mean many problems, so cap the credit.
RESOLVED_COMPLAINT_MAX_CREDITED = 2
# Three months without any contact lets the relationship cool.
CONTACT_SILENCE_DAYS = 90
CONTACT_SILENCE_POINTS = 5
CONTACT_SILENCE_POINTS_PER_MONTH = 2
CONTACT_SILENCE_MAX_POINTS = 15
# A negative last conversation is a warning; a positive one a small comfort.
NEGATIVE_SENTIMENT_POINTS = 10
POSITIVE_SENTIMENT_POINTS = -5
# Renewal is decided in the last quarter of a contract; before that the contract binds.
CONTRACT_RENEWAL_WINDOW_DAYS = 90
CONTRACT_ENDING_POINTS = 10
ACTIVE_CONTRACT_POINTS = -10

Sentiment = Literal["positive", "neutral", "negative"]


@dataclass(frozen=True, kw_only=True)
class ChurnFacts:
    """What churn risk looks at for one customer; days count back from ``today``."""

    today: date
    days_since_last_purchase: int | None = None
    # The customer's mean gap between purchases; None with fewer than two purchases.
    usual_gap_days: float | None = None
    purchase_count: int = 0
    probability_alive: float | None = None
    latest_nps_score: int | None = None
    latest_nps_date: date | None = None
    open_complaints: Sequence[date] = ()
    resolved_complaints_12m: int = 0
    days_since_last_interaction: int | None = None
    last_interaction_sentiment: Sentiment | None = None
    has_active_contract: bool = False
    # Days until the active contract ends; None when open-ended or there is no contract.
    contract_ends_in_days: int | None = None

    def __post_init__(self) -> None:
        for name in ("days_since_last_purchase", "days_since_last_interaction"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.usual_gap_days is not None and not self.usual_gap_days >= 0:
            raise ValueError("usual_gap_days must not be negative")
        if self.purchase_count < 0 or self.resolved_complaints_12m < 0:
            raise ValueError("counts must not be negative")
        if self.probability_alive is not None and not 0 <= self.probability_alive <= 1:
            raise ValueError("probability_alive must be within 0..1")
        if (self.latest_nps_score is None) != (self.latest_nps_date is None):
            raise ValueError("latest_nps_score and latest_nps_date go together")
        if self.latest_nps_score is not None and not 0 <= self.latest_nps_score <= 10:
            raise ValueError("NPS scores run from 0 to 10")
        if self.last_interaction_sentiment not in (None, "positive", "neutral", "negative"):
            raise ValueError(f"unknown sentiment {self.last_interaction_sentiment!r}")
        if self.contract_ends_in_days is not None and self.contract_ends_in_days < 0:
            raise ValueError("contract_ends_in_days must not be negative")


@dataclass(frozen=True)
class ChurnRisk:
    """Churn risk score 0..100 and the reasons that moved it from the baseline, heaviest first."""

    score: int
    reasons: list[str]


def _times(ratio: float) -> str:
    return "twice" if round(ratio, 1) == 2.0 else f"{ratio:.1f} times"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _recency_points(facts: ChurnFacts) -> tuple[int, str] | None:
    """The stronger of the two recency signals: own-rhythm overdue, or BG/NBD P(alive)."""
    candidates: list[tuple[int, str]] = []
    days = facts.days_since_last_purchase
    if days is not None and facts.purchase_count >= 2 and facts.usual_gap_days is not None:
        # Same-day repeat purchases give a zero gap; a day is the finest rhythm we measure.
        gap = max(facts.usual_gap_days, 1.0)
        ratio = days / gap
        if ratio >= OVERDUE_RATIO:
            points = min(RECENCY_MAX_POINTS, round(OVERDUE_POINTS_PER_GAP * (ratio - 1)))
            text = f"no purchase in {days} days, {_times(ratio)} their usual gap of {gap:.0f} days"
            candidates.append((points, text))
    elif days is not None and facts.purchase_count == 1 and days >= ONE_PURCHASE_SILENCE_DAYS:
        candidates.append(
            (ONE_PURCHASE_SILENCE_POINTS, f"only one purchase, {days} days ago, and none since")
        )
    alive = facts.probability_alive
    if alive is not None and alive < PROBABILITY_ALIVE_CONCERN:
        shortfall = (PROBABILITY_ALIVE_CONCERN - alive) / PROBABILITY_ALIVE_CONCERN
        points = round(PROBABILITY_ALIVE_MAX_POINTS * shortfall)
        text = f"purchase model puts the chance they are still active at {alive:.0%}"
        candidates.append((points, text))
    return max(candidates, key=lambda c: c[0]) if candidates else None


def churn_risk(facts: ChurnFacts) -> ChurnRisk:
    """Churn risk 0..100 from additive, explained points; no reasons means the baseline score."""
    contributions: list[tuple[int, str]] = []
    recency = _recency_points(facts)
    if recency is not None:
        contributions.append(recency)

    score_nps, nps_date = facts.latest_nps_score, facts.latest_nps_date
    recent_nps = nps_date is not None and (facts.today - nps_date).days <= NPS_RELEVANCE_DAYS
    if score_nps is not None and nps_date is not None and recent_nps:
        if score_nps <= 6:
            kind, points = "detractor", DETRACTOR_POINTS
        elif score_nps <= 8:
            kind, points = "passive", PASSIVE_POINTS
        else:
            kind, points = "promoter", PROMOTER_POINTS
        contributions.append((points, f"{kind} on {nps_date.isoformat()} (NPS {score_nps})"))

    # Oldest first, so equally weighted complaints read in the order they arrived.
    for opened in sorted(facts.open_complaints):
        age_days = max((facts.today - opened).days, 0)
        raw = OPEN_COMPLAINT_POINTS + OPEN_COMPLAINT_POINTS_PER_WEEK * age_days / 7
        points = round(min(OPEN_COMPLAINT_MAX_POINTS, raw))
        text = f"open complaint {_plural(age_days, 'day')} old (opened {opened.isoformat()})"
        contributions.append((points, text))

    resolved = facts.resolved_complaints_12m
    if resolved > 0:
        points = RESOLVED_COMPLAINT_POINTS * min(resolved, RESOLVED_COMPLAINT_MAX_CREDITED)
        text = (
            f"{_plural(resolved, 'complaint')} resolved in the last 12 months, "
            "which counts in their favour"
        )
        contributions.append((points, text))

    silence = facts.days_since_last_interaction
    if silence is not None and silence >= CONTACT_SILENCE_DAYS:
        months_over = (silence - CONTACT_SILENCE_DAYS) / 30
        points = min(
            CONTACT_SILENCE_MAX_POINTS,
            CONTACT_SILENCE_POINTS + round(CONTACT_SILENCE_POINTS_PER_MONTH * months_over),
        )
        contributions.append((points, f"no contact in {silence} days"))

    sentiment = facts.last_interaction_sentiment
    if sentiment in ("negative", "positive"):
        points = NEGATIVE_SENTIMENT_POINTS if sentiment == "negative" else POSITIVE_SENTIMENT_POINTS
        when = f" ({silence} days ago)" if silence is not None else ""
        contributions.append((points, f"last interaction{when} was {sentiment}"))

    if facts.has_active_contract:
        ends = facts.contract_ends_in_days
        if ends is not None and ends <= CONTRACT_RENEWAL_WINDOW_DAYS:
            end_date = (facts.today + timedelta(days=ends)).isoformat()
            contributions.append(
                (CONTRACT_ENDING_POINTS, f"contract ends in {ends} days, on {end_date}")
            )
        elif ends is not None:
            end_date = (facts.today + timedelta(days=ends)).isoformat()
            contributions.append((ACTIVE_CONTRACT_POINTS, f"active contract until {end_date}"))
        else:
            contributions.append((ACTIVE_CONTRACT_POINTS, "active contract with no end date"))

    contributions = [c for c in contributions if c[0] != 0]
    # sorted() is stable, so equal weights keep the order above.
    contributions.sort(key=lambda c: -abs(c[0]))
    total = CHURN_BASELINE + sum(points for points, _ in contributions)
    return ChurnRisk(score=int(min(max(total, 0), 100)), reasons=[t for _, t in contributions])
