"""The rules that place a customer on the ladder (commercial value) and the bond (emotional depth).

Pure functions over a customer's facts: the caller gathers the facts from the database, and
records any change as a TierChange or bond-stage history row. Every number lives in THRESHOLDS.

Ladder rules, highest first (the first that matches wins); the numbers are the THRESHOLDS fields:

- ``manual.hold``: an account manager set the tier by hand and ``manual_until`` is today or later.
- ``raving-fan.referrals_and_promoter``: a repeat customer or client with enough converted
  referrals and a recent promoter answer.
- ``advocate.promoter`` / ``advocate.converted_referrals``: a repeat customer or client with a
  promoter answer within the advocate window, or a referral converted in the qualification
  window.
- ``hold.open_complaints`` / ``hold.detractor``: someone who would be an advocate or raving fan, but
  has an open complaint or a recent detractor answer, stays at their purchase rung.
- ``client.active_contract`` / ``client.purchases_12m``: an active contract, or enough purchases
  and spend in the last 12 months.
- ``client.tenure``: a repeat buyer who has been a customer (since their first purchase) for at
  least ``client_min_tenure_months``; off while that is 0.
- ``repeat.purchases_12m``: enough purchases in the last 12 months.
- ``first-time.single_purchase``: exactly one purchase ever.
- ``first-time.lapsed``: bought more than once, but not in the last 12 months. A lapsed customer
  steps down to first-time rather than prospect: they know us, but are no longer repeat buyers.
- ``first-time.purchases_12m``: bought more than once, but too few times in the last 12 months.
- ``prospect.no_purchase``: no purchase ever.

Bond stages (Richard Cross), highest first: advocacy (referred someone, or a recent promoter
answer), community (a recent event or user group), relationship (a recent two-way exchange),
identity (stated preferences or a first purchase), awareness (known, one-way contact only). Each
stage is judged on its own evidence: a referral alone reaches advocacy without evidence of the
stages below it, because the referral is the strongest signal we have.

"Within N days" is inclusive: an answer exactly N days old still counts, one N + 1 days old does
not. A date in the future (clock skew) counts as recent. An NPS score without a date never counts,
because we cannot tell whether it is still current.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeGuard

from django.utils.translation import gettext_noop

from customers.sayings import amount, choice, ngettext_noop, quoted, said

DEFAULT_LADDER: tuple[str, ...] = (
    "prospect",
    "first-time",
    "repeat",
    "client",
    "advocate",
    "raving-fan",
)

BOND_STAGES: tuple[str, ...] = ("awareness", "identity", "relationship", "community", "advocacy")

BOND_STAGE_NAMES: dict[str, str] = {
    "awareness": "Awareness",
    "identity": "Identity",
    "relationship": "Relationship",
    "community": "Community",
    "advocacy": "Advocacy",
}


@dataclass(frozen=True)
class Thresholds:
    """Every number the ladder and bond rules use, in one place."""

    # The qualification window: customers/rule_facts.py counts purchases_12m, spend_12m and
    # converted_referrals over settings.LADDER_WINDOW_DAYS (default 365) up to today.
    # Repeat customer: at least this many purchases in the purchase window.
    repeat_min_purchases_12m: int = 2
    # Client without a contract: at least this many purchases in the purchase window...
    client_min_purchases_12m: int = 4
    # ...and at least this much spend in the purchase window (in the account currency).
    client_min_spend_12m: Decimal = Decimal("1000.00")
    # Client by loyalty over time: a repeat buyer who has been a customer this many months
    # (0 switches the rule off).
    client_min_tenure_months: int = 0
    # NPS categories: promoters score 9-10, passives 7-8, detractors 0-6.
    promoter_min_score: int = 9
    passive_min_score: int = 7
    # Advocate: a promoter answer at most this many days old...
    advocate_promoter_days: int = 365
    # ...or at least this many converted referrals.
    advocate_min_converted_referrals: int = 1
    # Raving fan: at least this many converted referrals and a promoter answer this recent.
    raving_fan_min_converted_referrals: int = 2
    raving_fan_promoter_days: int = 180
    # A detractor answer at most this many days old holds a customer below advocate.
    detractor_hold_days: int = 180
    # Bond advocacy: at least this many referrals made (converted or not)...
    bond_advocacy_min_referrals: int = 1
    # ...or a promoter answer at most this many days old.
    bond_promoter_days: int = 365
    # Bond community: an event or user group attended at most this many days ago.
    bond_community_days: int = 365
    # Bond relationship: a two-way exchange at most this many days ago.
    bond_relationship_days: int = 180


THRESHOLDS = Thresholds()


class NpsCategory(StrEnum):
    """The standard NPS bucket of a 0-10 answer."""

    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"


class Direction(StrEnum):
    """Which way a tier change moves a customer."""

    UP = "up"
    DOWN = "down"
    SAME = "same"


@dataclass(frozen=True, kw_only=True)
class LadderFacts:
    """What we know about one customer on ``today``, as the ladder and bond rules need it."""

    today: date
    purchase_count: int = 0
    purchases_12m: int = 0
    spend_12m: Decimal = Decimal("0")
    has_active_contract: bool = False
    latest_nps: int | None = None
    latest_nps_on: date | None = None
    # Referrals converted within the qualification window (what earns a rung).
    converted_referrals: int = 0
    referrals_made: int = 0
    open_complaints: int = 0
    # Chose a preferred channel or answered the preference question.
    stated_preferences: bool = False
    # Latest answered survey, meeting, inbound call or support conversation.
    last_two_way_on: date | None = None
    # Latest event or user-group attendance.
    last_community_on: date | None = None
    # The hand-set hold; the caller computes manual_until from the configured number of days.
    manual_tier_slug: str | None = None
    manual_until: date | None = None
    # When they became a customer: their first purchase (tenure counts from it).
    customer_since: date | None = None

    @property
    def tenure_months(self) -> int:
        """Whole months a customer since `customer_since` (0 before it, or without it)."""
        since = self.customer_since
        if since is None or since > self.today:
            return 0
        months = (self.today.year - since.year) * 12 + self.today.month - since.month
        return months - (self.today.day < since.day)

    def __post_init__(self) -> None:
        # Contradictory facts mean a bug in the caller's queries; fail loudly, not misplace.
        counts = {
            "purchase_count": self.purchase_count,
            "purchases_12m": self.purchases_12m,
            "converted_referrals": self.converted_referrals,
            "referrals_made": self.referrals_made,
            "open_complaints": self.open_complaints,
        }
        for name, value in counts.items():
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if self.purchases_12m > self.purchase_count:
            raise ValueError(
                f"purchases_12m ({self.purchases_12m}) exceeds purchase_count "
                f"({self.purchase_count})"
            )
        if self.spend_12m < 0:
            raise ValueError(f"spend_12m must not be negative, got {self.spend_12m}")
        if self.latest_nps is not None and not 0 <= self.latest_nps <= 10:
            raise ValueError(f"latest_nps must be 0-10, got {self.latest_nps}")


@dataclass(frozen=True)
class Placement:
    """Where a rule puts a customer: the slug, a stable rule id, and the reason in words."""

    slug: str
    rule: str
    # In English; its message id and parameters say it in the reader's language (sayings.py).
    reason: str
    reason_key: str = ""
    reason_args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def why(self) -> dict[str, Any]:
        """The reason's fields (reason, reason_key, reason_args), to store beside a move."""
        return {
            "reason": self.reason,
            "reason_key": self.reason_key,
            "reason_args": self.reason_args,
        }

    @property
    def quoted_reason(self) -> dict[str, Any] | str:
        """The reason as a parameter of another stored text."""
        return quoted(key=self.reason_key, args=self.reason_args, text=self.reason)


def because(msgid: str | tuple[str, str], **args: Any) -> dict[str, Any]:
    """A reason's fields, from its message id (marked where it is written) and parameters."""
    return said(msgid, field="reason", **args)


def _placed(slug: str, rule: str, msgid: str | tuple[str, str], **args: Any) -> Placement:
    return Placement(slug=slug, rule=rule, **because(msgid, **args))


# The number of purchases, in a reason that says more.
PURCHASES = ngettext_noop("%(count)s purchase", "%(count)s purchases")
PURCHASES_EVER = ngettext_noop("%(count)s purchase ever", "%(count)s purchases ever")
CONVERTED_REFERRALS = ngettext_noop("%(count)s converted referral", "%(count)s converted referrals")


def nps_category(*, score: int, thresholds: Thresholds = THRESHOLDS) -> NpsCategory:
    """Return the NPS category of a 0-10 answer."""
    if score >= thresholds.promoter_min_score:
        return NpsCategory.PROMOTER
    if score >= thresholds.passive_min_score:
        return NpsCategory.PASSIVE
    return NpsCategory.DETRACTOR


def place_on_ladder(*, facts: LadderFacts, thresholds: Thresholds = THRESHOLDS) -> Placement:
    """Return the ladder tier the rules (or an active manual hold) give this customer."""
    # A hold needs both a tier and an end date; without an end date the rules apply.
    held, until = facts.manual_tier_slug, facts.manual_until
    if held is not None and until is not None and until >= facts.today:
        return _placed(
            held,
            "manual.hold",
            gettext_noop("set by hand, held until %(until)s"),
            until=until.isoformat(),
        )
    base = _purchase_rung(facts, thresholds)
    loyal = _loyalty_rung(facts, base, thresholds)
    if loyal is None:
        return base
    hold = _hold_reason(facts, thresholds)
    if hold is None:
        return loyal
    return _placed(
        base.slug,
        hold.rule,
        gettext_noop("would be %(would)s, but %(why)s holds them at %(held)s (%(because)s)"),
        would=choice("ladder_rung", loyal.slug),
        why=hold.quoted_reason,
        held=choice("ladder_rung", base.slug),
        because=base.quoted_reason,
    )


def fit_to_ladder(*, slug: str, available: Sequence[str]) -> str:
    """Map a rule's slug onto the tiers that exist, stepping down the default ladder if needed."""
    if not available:
        raise ValueError("the ladder has no tiers")
    if slug in available:
        return slug
    # Step down the default order: a missing "client" falls back to "repeat", and so on.
    if slug in DEFAULT_LADDER:
        for lower in reversed(DEFAULT_LADDER[: DEFAULT_LADDER.index(slug)]):
            if lower in available:
                return lower
    # Nothing at or below: the lowest default rung. Custom tiers mean something the rules cannot
    # know, so they are only chosen when the marketer removed every default rung.
    for tier in available:
        if tier in DEFAULT_LADDER:
            return tier
    return available[0]


def direction(*, old_rank: int | None, new_rank: int) -> Direction:
    """Return whether a move from old_rank to new_rank is up, down or the same; none is up."""
    if old_rank is None or new_rank > old_rank:
        return Direction.UP
    if new_rank < old_rank:
        return Direction.DOWN
    return Direction.SAME


def place_on_bond(*, facts: LadderFacts, thresholds: Thresholds = THRESHOLDS) -> Placement:
    """Return the bonding stage (Richard Cross) the rules give this customer."""
    t = thresholds
    if facts.referrals_made >= t.bond_advocacy_min_referrals:
        return _placed(
            "advocacy",
            "advocacy.referrals_made",
            ngettext_noop("referred %(count)s person", "referred %(count)s people"),
            count=facts.referrals_made,
        )
    if _promoter_within(facts, t.bond_promoter_days, t):
        return _nps_reason(facts, t.bond_promoter_days, t, "advocacy", "advocacy.promoter")
    if _within(facts.last_community_on, facts.today, t.bond_community_days):
        return _placed(
            "community",
            "community.event",
            ngettext_noop(
                "took part in an event or user group on %(on)s (within %(count)s day)",
                "took part in an event or user group on %(on)s (within %(count)s days)",
            ),
            on=facts.last_community_on.isoformat(),
            count=t.bond_community_days,
        )
    if _within(facts.last_two_way_on, facts.today, t.bond_relationship_days):
        return _placed(
            "relationship",
            "relationship.two_way",
            ngettext_noop(
                "two-way exchange on %(on)s (within %(count)s day)",
                "two-way exchange on %(on)s (within %(count)s days)",
            ),
            on=facts.last_two_way_on.isoformat(),
            count=t.bond_relationship_days,
        )
    if facts.stated_preferences:
        return _placed(
            "identity", "identity.stated_preferences", gettext_noop("stated their preferences")
        )
    if facts.purchase_count >= 1:
        return _placed("identity", "identity.purchase", PURCHASES_EVER, count=facts.purchase_count)
    return _placed("awareness", "awareness.known", gettext_noop("known, one-way contact only"))


def _purchase_rung(facts: LadderFacts, t: Thresholds) -> Placement:
    # The rung earned by buying alone, before referrals, NPS and complaints.
    n = facts.purchases_12m
    if facts.has_active_contract:
        return _placed("client", "client.active_contract", gettext_noop("active contract"))
    if n >= t.client_min_purchases_12m and facts.spend_12m >= t.client_min_spend_12m:
        return _placed(
            "client",
            "client.purchases_12m",
            ngettext_noop(
                "%(count)s purchase and %(spend)s spend in the last 12 months",
                "%(count)s purchases and %(spend)s spend in the last 12 months",
            ),
            count=n,
            spend=amount(facts.spend_12m),
        )
    if (
        t.client_min_tenure_months
        and n >= t.repeat_min_purchases_12m
        and facts.tenure_months >= t.client_min_tenure_months
    ):
        return _placed(
            "client",
            "client.tenure",
            gettext_noop("%(purchases)s in the last 12 months and a customer for %(tenure)s"),
            purchases=_quoted(PURCHASES, count=n),
            tenure=_quoted(
                ngettext_noop("%(count)s month", "%(count)s months"), count=facts.tenure_months
            ),
        )
    if n >= t.repeat_min_purchases_12m:
        return _placed(
            "repeat",
            "repeat.purchases_12m",
            ngettext_noop(
                "%(count)s purchase in the last 12 months",
                "%(count)s purchases in the last 12 months",
            ),
            count=n,
        )
    if facts.purchase_count == 0:
        return _placed("prospect", "prospect.no_purchase", gettext_noop("no purchase yet"))
    if facts.purchase_count == 1:
        return _placed("first-time", "first-time.single_purchase", PURCHASES_EVER, count=1)
    if n == 0:
        return _placed(
            "first-time",
            "first-time.lapsed",
            ngettext_noop(
                "%(count)s purchase ever, none in the last 12 months",
                "%(count)s purchases ever, none in the last 12 months",
            ),
            count=facts.purchase_count,
        )
    return _placed(
        "first-time",
        "first-time.purchases_12m",
        ngettext_noop(
            "%(count)s purchase ever, %(recent)s in the last 12 months",
            "%(count)s purchases ever, %(recent)s in the last 12 months",
        ),
        count=facts.purchase_count,
        recent=n,
    )


def _loyalty_rung(facts: LadderFacts, base: Placement, t: Thresholds) -> Placement | None:
    # Advocacy only counts on top of repeat buying: a referral alone does not make a fan.
    if DEFAULT_LADDER.index(base.slug) < DEFAULT_LADDER.index("repeat"):
        return None
    referrals = facts.converted_referrals
    if referrals >= t.raving_fan_min_converted_referrals and _promoter_within(
        facts, t.raving_fan_promoter_days, t
    ):
        return _placed(
            "raving-fan",
            "raving-fan.referrals_and_promoter",
            gettext_noop("%(referrals)s and %(nps)s"),
            referrals=_quoted(CONVERTED_REFERRALS, count=referrals),
            nps=_nps_reason(facts, t.raving_fan_promoter_days, t).quoted_reason,
        )
    if _promoter_within(facts, t.advocate_promoter_days, t):
        return _nps_reason(facts, t.advocate_promoter_days, t, "advocate", "advocate.promoter")
    if referrals >= t.advocate_min_converted_referrals:
        return _placed(
            "advocate", "advocate.converted_referrals", CONVERTED_REFERRALS, count=referrals
        )
    return None


def _hold_reason(facts: LadderFacts, t: Thresholds) -> Placement | None:
    # An unhappy customer is not an advocate, whatever else they have done. (The hold's slug is
    # not a rung: only its rule and reason are used.)
    if facts.open_complaints > 0:
        return _placed(
            "",
            "hold.open_complaints",
            ngettext_noop("%(count)s open complaint", "%(count)s open complaints"),
            count=facts.open_complaints,
        )
    if (
        facts.latest_nps is not None
        and nps_category(score=facts.latest_nps, thresholds=t) is NpsCategory.DETRACTOR
        and _within(facts.latest_nps_on, facts.today, t.detractor_hold_days)
    ):
        return _nps_reason(facts, t.detractor_hold_days, t, "", "hold.detractor")
    return None


def _promoter_within(facts: LadderFacts, days: int, t: Thresholds) -> bool:
    return (
        facts.latest_nps is not None
        and nps_category(score=facts.latest_nps, thresholds=t) is NpsCategory.PROMOTER
        and _within(facts.latest_nps_on, facts.today, days)
    )


def _within(on: date | None, today: date, days: int) -> TypeGuard[date]:
    return on is not None and (today - on).days <= days


def _nps_reason(
    facts: LadderFacts, days: int, t: Thresholds, slug: str = "", rule: str = ""
) -> Placement:
    # Callers call it only once they have seen both the score and its date.
    assert facts.latest_nps is not None and facts.latest_nps_on is not None
    category = nps_category(score=facts.latest_nps, thresholds=t)
    return _placed(
        slug,
        rule,
        ngettext_noop(
            "NPS %(score)s (%(category)s) on %(on)s (within %(count)s day)",
            "NPS %(score)s (%(category)s) on %(on)s (within %(count)s days)",
        ),
        score=facts.latest_nps,
        category=choice("nps_category", category.value),
        on=facts.latest_nps_on.isoformat(),
        count=days,
    )


def _quoted(msgid: str | tuple[str, str], /, **args: Any) -> dict[str, Any] | str:
    # A piece of a reason, itself said in the reader's language.
    piece = said(msgid, **args)
    return quoted(key=piece["title_key"], args=piece["title_args"], text=piece["title"])
