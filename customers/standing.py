"""A customer's standing on the ladder: review dates, the grace period and the soft landing, and
what it takes to reach or keep a rung. Pure: no database; the caller gathers the facts and
records what the verdict says (customers/placement.py).

Like airline status, a rung once reached is kept until its review date. Promotions are immediate
and start a new review period. At review, a customer who still qualifies keeps the rung for
another period; one who no longer does is at risk of dropping for the grace days and is told what
it takes to stay; at the end of grace, if they still fall short, they drop one rung at most
(never lower than the rules place them), and the lower rung starts its own review period.
Qualifying again during grace ends the risk and renews the rung.

Positions count rungs from the bottom of the ladder as it stands (0 is the lowest), not tier
ranks, which may have gaps.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_UP, Decimal
from enum import StrEnum

from django.utils.translation import gettext_noop

from customers.ladder import (
    DEFAULT_LADDER,
    THRESHOLDS,
    LadderFacts,
    NpsCategory,
    Thresholds,
    nps_category,
    place_on_ladder,
)
from customers.sayings import amount, english, ngettext_noop


@dataclass(frozen=True)
class ReviewTerms:
    """How long a rung is kept before its review, and how long the grace lasts at review."""

    review_days: int = 365
    grace_days: int = 60
    # A rung's own review period, by position from the bottom (None: review_days).
    review_days_at: tuple[int | None, ...] = ()

    def __post_init__(self) -> None:
        for days in (self.review_days, *self.review_days_at):
            if days is not None and days < 1:
                raise ValueError(f"review_days must be at least 1, got {days}")
        if self.grace_days < 0:
            raise ValueError(f"grace_days must not be negative, got {self.grace_days}")

    def days_at(self, position: int) -> int:
        """The review period of the rung at `position`."""
        own = self.review_days_at[position] if position < len(self.review_days_at) else None
        return self.review_days if own is None else own


class Outcome(StrEnum):
    """What a review of one customer's standing decides."""

    PLACE = "place"  # not on the ladder yet: placed where the rules say
    PROMOTE = "promote"  # earned a higher rung: moved up at once
    SCHEDULE = "schedule"  # no review date yet: one is set, the rung kept
    KEEP = "keep"  # nothing changes (before review, or still in grace)
    RENEW = "renew"  # qualifies at or after review: kept for another period
    RECOVER = "recover"  # qualifies again during grace: risk over, rung renewed
    AT_RISK = "at_risk"  # falls short at review: grace starts
    DROP = "drop"  # still short when grace ends: one rung down


@dataclass(frozen=True, kw_only=True)
class Standing:
    """Where a customer stands: the rung, its review date and, while at risk, the end of grace."""

    position: int | None
    review_on: date | None = None
    grace_until: date | None = None


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The standing a review leaves, and why."""

    outcome: Outcome
    position: int
    review_on: date
    grace_until: date | None = None

    @property
    def at_risk(self) -> bool:
        return self.grace_until is not None


def review(
    *, standing: Standing, earned: int, today: date, terms: ReviewTerms = ReviewTerms()
) -> Verdict:
    """Decide a customer's rung from where they stand and the rung the rules give them today."""
    if earned < 0:
        raise ValueError(f"earned must not be negative, got {earned}")

    def renewed(position: int) -> date:
        return today + timedelta(days=terms.days_at(position))

    current = standing.position
    if current is None:
        return Verdict(outcome=Outcome.PLACE, position=earned, review_on=renewed(earned))
    if earned > current:
        return Verdict(outcome=Outcome.PROMOTE, position=earned, review_on=renewed(earned))
    if standing.review_on is None:
        return Verdict(outcome=Outcome.SCHEDULE, position=current, review_on=renewed(current))
    if earned == current:
        if standing.grace_until is not None:
            return Verdict(outcome=Outcome.RECOVER, position=current, review_on=renewed(current))
        if today >= standing.review_on:
            return Verdict(outcome=Outcome.RENEW, position=current, review_on=renewed(current))
        return Verdict(outcome=Outcome.KEEP, position=current, review_on=standing.review_on)
    if today < standing.review_on:
        return Verdict(outcome=Outcome.KEEP, position=current, review_on=standing.review_on)
    if standing.grace_until is None:
        return Verdict(
            outcome=Outcome.AT_RISK,
            position=current,
            review_on=standing.review_on,
            grace_until=today + timedelta(days=terms.grace_days),
        )
    if today < standing.grace_until:
        return Verdict(
            outcome=Outcome.KEEP,
            position=current,
            review_on=standing.review_on,
            grace_until=standing.grace_until,
        )
    landed = max(earned, current - 1)
    return Verdict(outcome=Outcome.DROP, position=landed, review_on=renewed(landed))


def requirements(
    *, facts: LadderFacts, slug: str, thresholds: Thresholds = THRESHOLDS
) -> list[str]:
    """What this customer lacks to qualify for the rung `slug` by the rules, in readable lines
    ("2 more purchases in the last 12 months"); empty when they qualify, or when the rung is a
    custom one the rules know nothing about. Each line is said in English and keeps its message
    id (sayings.English): sayings.translated() says it in the reader's language."""
    if slug not in DEFAULT_LADDER or slug == "prospect":
        return []
    placed = place_on_ladder(facts=facts, thresholds=thresholds).slug
    if placed in DEFAULT_LADDER and DEFAULT_LADDER.index(placed) >= DEFAULT_LADDER.index(slug):
        # Reached by another road (e.g. an advocate by referrals alone): nothing is missing.
        return []
    if slug == "first-time":
        if facts.purchase_count >= 1 or facts.has_active_contract:
            return []
        return [english(gettext_noop("a first purchase"))]
    if slug in ("repeat", "client", "advocate", "raving-fan"):
        buying = _buying_lines(facts, "client" if slug == "client" else "repeat", thresholds)
        if slug in ("repeat", "client"):
            return buying
        return buying + _loyalty_lines(facts, slug, thresholds)
    return []


MORE_PURCHASES = ngettext_noop(
    "%(count)s more purchase in the last 12 months",
    "%(count)s more purchases in the last 12 months",
)


def _buying_lines(facts: LadderFacts, slug: str, t: Thresholds) -> list[str]:
    if slug == "client":
        if facts.has_active_contract:
            return []
        lines = []
        purchases = t.client_min_purchases_12m - facts.purchases_12m
        if purchases > 0:
            lines.append(english(MORE_PURCHASES, count=purchases))
        spend = t.client_min_spend_12m - facts.spend_12m
        if spend > 0:
            rounded = spend.quantize(Decimal("1"), rounding=ROUND_UP)
            lines.append(
                english(
                    gettext_noop("%(spend)s more spend in the last 12 months"),
                    spend=amount(rounded, places=0),
                )
            )
        if lines and t.client_min_tenure_months:
            months = t.client_min_tenure_months - facts.tenure_months
            repeat = t.repeat_min_purchases_12m - facts.purchases_12m
            if months > 0:
                lines.append(
                    english(
                        ngettext_noop(
                            "or %(count)s more month as a customer, buying repeatedly",
                            "or %(count)s more months as a customer, buying repeatedly",
                        ),
                        count=months,
                    )
                )
            elif repeat > 0:
                lines.append(
                    english(
                        ngettext_noop(
                            "or %(count)s more purchase in the last 12 months instead",
                            "or %(count)s more purchases in the last 12 months instead",
                        ),
                        count=repeat,
                    )
                )
        if lines:
            lines.append(english(gettext_noop("or an active contract instead")))
        return lines
    if facts.has_active_contract:
        return []
    purchases = t.repeat_min_purchases_12m - facts.purchases_12m
    if purchases > 0:
        return [english(MORE_PURCHASES, count=purchases)]
    return []


def _loyalty_lines(facts: LadderFacts, slug: str, t: Thresholds) -> list[str]:
    lines = []
    referrals = facts.converted_referrals
    if slug == "raving-fan":
        short = t.raving_fan_min_converted_referrals - referrals
        if short > 0:
            lines.append(
                english(
                    ngettext_noop(
                        "%(count)s more converted referral in the last 12 months",
                        "%(count)s more converted referrals in the last 12 months",
                    ),
                    count=short,
                )
            )
        if not _promoter_within(facts, t.raving_fan_promoter_days, t):
            lines.append(
                english(
                    ngettext_noop(
                        "a promoter answer (9–10) within %(count)s day",
                        "a promoter answer (9–10) within %(count)s days",
                    ),
                    count=t.raving_fan_promoter_days,
                )
            )
    elif not _promoter_within(facts, t.advocate_promoter_days, t) and (
        referrals < t.advocate_min_converted_referrals
    ):
        short = t.advocate_min_converted_referrals - referrals
        lines.append(
            english(
                ngettext_noop(
                    "a promoter answer (9–10) or %(count)s more converted referral",
                    "a promoter answer (9–10) or %(count)s more converted referrals",
                ),
                count=short,
            )
        )
    if facts.open_complaints:
        lines.append(
            english(
                ngettext_noop(
                    "%(count)s open complaint resolved", "%(count)s open complaints resolved"
                ),
                count=facts.open_complaints,
            )
        )
    detractor_on = facts.latest_nps_on
    if (
        facts.latest_nps is not None
        and detractor_on is not None
        and nps_category(score=facts.latest_nps, thresholds=t) is NpsCategory.DETRACTOR
        and (facts.today - detractor_on).days <= t.detractor_hold_days
    ):
        lines.append(
            english(
                gettext_noop(
                    "no detractor answer after %(answered)s: a better answer, or wait until "
                    "%(until)s"
                ),
                answered=detractor_on.isoformat(),
                until=(detractor_on + timedelta(days=t.detractor_hold_days + 1)).isoformat(),
            )
        )
    return lines


def _promoter_within(facts: LadderFacts, days: int, t: Thresholds) -> bool:
    return (
        facts.latest_nps is not None
        and facts.latest_nps_on is not None
        and nps_category(score=facts.latest_nps, thresholds=t) is NpsCategory.PROMOTER
        and (facts.today - facts.latest_nps_on).days <= days
    )
