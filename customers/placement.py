"""Ladder placement: the rules' moves, reviews and soft landings (customers/standing.py), and an
account manager's hand moves, with the bond stage."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from customers import announce, ladder, rule_facts, standing, timeline
from customers.models import BondChange, Customer, Tier, TierChange, TimelineEntry
from customers.sayings import choice, english, listed, quoted, said
from customers.signals import tier_at_risk, tier_changed

# A tier move, up (True) or down (False).
MOVED = {
    True: gettext_noop("Moved up to %(tier)s: %(reason)s"),
    False: gettext_noop("Moved down to %(tier)s: %(reason)s"),
}


@transaction.atomic
def set_tier(
    *,
    customer: Customer,
    tier: Tier,
    by: User,
    reason: str,
    hold_days: int | None = None,
    now: datetime | None = None,
) -> TierChange | None:
    """An account manager puts a customer on a rung by hand; the rules then leave them be."""
    if not reason.strip():
        raise ValidationError({"reason": gettext("Say why you move this customer by hand.")})
    now = now or timezone.now()
    hold_days = settings.MANUAL_TIER_HOLD_DAYS if hold_days is None else hold_days
    customer.manual_tier_until = timezone.localdate(now) + timedelta(days=hold_days)
    # A hand-set rung is reviewed the day the hold ends, like any other: short of it then, the
    # customer is at risk for the grace days before dropping one rung.
    customer.tier_review_on = customer.manual_tier_until + timedelta(days=1)
    customer.tier_at_risk_until = None
    Customer.objects.filter(pk=customer.pk).update(
        manual_tier_until=customer.manual_tier_until,
        tier_review_on=customer.tier_review_on,
        tier_at_risk_until=None,
    )
    return _move(customer=customer, to=tier, why={"reason": reason}, rule="manual", by=by, now=now)


def _move(
    *,
    customer: Customer,
    to: Tier,
    why: Mapping[str, Any],
    rule: str,
    now: datetime,
    by: User | None = None,
    also: dict | None = None,
) -> TierChange | None:
    """Move a customer to a tier at `now`, recording the change and telling whoever listens
    (`why`: the reason's fields, ladder.because's or a person's text alone; `also`: more fields
    of the customer to write in the same statement)."""
    old = customer.tier
    if old is not None and old.pk == to.pk:
        if also:
            Customer.objects.filter(pk=customer.pk).update(**also)
        return None
    change = TierChange.objects.create(
        customer=customer,
        from_tier=old,
        to_tier=to,
        **_reason_fields(why),
        rule=rule,
        changed_by=by,
        changed_at=now,
        direction=ladder.direction(old_rank=old.rank if old else None, new_rank=to.rank).value
        if old is None or old.rank != to.rank
        else "up",
    )
    customer.tier, customer.updated_at = to, now
    fields = {"tier": to, "updated_at": now, **(also or {})}
    if customer.highest_tier is None or to.rank > customer.highest_tier.rank:
        customer.highest_tier = to
        fields["highest_tier"] = to
    Customer.objects.filter(pk=customer.pk).update(**fields)
    timeline.note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.TIER,
        **said(MOVED[change.direction == "up"], tier=to.name, reason=_quoted(change)),
        actor=by,
        occurred_at=now,
        source_id=change.pk,
    )
    transaction.on_commit(
        lambda: tier_changed.send(
            sender=Customer, customer=customer, from_tier=old, to_tier=to, change=change
        )
    )
    announce.tier_changes([change], now=now)
    return change


def place_customer(
    *,
    customer: Customer,
    facts: rule_facts.CustomerFacts | None = None,
    now: datetime | None = None,
) -> None:
    """Run the ladder and bond rules for one customer and record any move."""
    now = now or timezone.now()
    if facts is None:
        place_customers(customers=[customer], now=now)
        return
    _place(customer, facts, list(Tier.objects.order_by("rank")), now)


def place_customers(*, customers: list[Customer], now: datetime | None = None) -> None:
    """Run the ladder and bond rules for many customers as of `now`, their facts gathered at
    once, and record each move at that time (the value figures are refresh_customers')."""
    now = now or timezone.now()
    facts = rule_facts.gather_facts(customers, today=timezone.localdate(now))
    tiers = list(Tier.objects.order_by("rank"))
    for customer in customers:
        _place(customer, facts[customer.pk], tiers, now)


def _place(
    customer: Customer, facts: rule_facts.CustomerFacts, tiers: list[Tier], now: datetime
) -> None:
    by_slug = {tier.slug: tier for tier in tiers}
    if customer.manual_tier_until and customer.manual_tier_until < facts.ladder.today:
        # The hold is over: the rules take the customer back.
        Customer.objects.filter(pk=customer.pk).update(manual_tier_until=None)
        customer.manual_tier_until = None
    rules = rule_facts.ladder_thresholds()
    placement = ladder.place_on_ladder(facts=facts.ladder, thresholds=rules)
    if placement.rule != "manual.hold" and tiers:
        slug = ladder.fit_to_ladder(slug=placement.slug, available=[t.slug for t in tiers])
        _review(customer, facts.ladder, placement, earned=by_slug[slug], tiers=tiers, now=now)
    bond = ladder.place_on_bond(facts=facts.ladder, thresholds=rules)
    if bond.slug != customer.bond_stage:
        change = BondChange.objects.create(
            customer=customer,
            from_stage=customer.bond_stage,
            to_stage=bond.slug,
            reason=bond.reason[:300],
            rule=bond.rule,
            changed_at=now,
        )
        Customer.objects.filter(pk=customer.pk).update(bond_stage=bond.slug)
        customer.bond_stage = bond.slug
        timeline.note_on_timeline(
            customer=customer,
            kind=TimelineEntry.Kind.BOND,
            **said(
                gettext_noop("Bond: %(stage)s (%(reason)s)"),
                stage=choice("bond_stage", bond.slug),
                reason=bond.quoted_reason,
            ),
            occurred_at=now,
            source_id=change.pk,
        )


def review_terms(tiers: list[Tier] | None = None) -> standing.ReviewTerms:
    """The review period and grace of the ladder, from settings, and the review period of each
    of `tiers` (bottom first) that has its own."""
    return standing.ReviewTerms(
        review_days=settings.LADDER_REVIEW_DAYS,
        grace_days=settings.LADDER_GRACE_DAYS,
        review_days_at=tuple(tier.review_days for tier in tiers or []),
    )


def _review(
    customer: Customer,
    facts: ladder.LadderFacts,
    placement: ladder.Placement,
    *,
    earned: Tier,
    tiers: list[Tier],
    now: datetime,
) -> None:
    """Move, keep, warn or land the customer as the review of their standing decides."""
    positions = {tier.pk: index for index, tier in enumerate(tiers)}
    held = customer.tier
    verdict = standing.review(
        standing=standing.Standing(
            position=positions.get(held.pk) if held is not None else None,
            review_on=customer.tier_review_on,
            grace_until=customer.tier_at_risk_until,
        ),
        earned=positions[earned.pk],
        today=facts.today,
        terms=review_terms(tiers),
    )
    changed = (verdict.review_on, verdict.grace_until) != (
        customer.tier_review_on,
        customer.tier_at_risk_until,
    )
    customer.tier_review_on, customer.tier_at_risk_until = verdict.review_on, verdict.grace_until
    # The review dates are written with the move, when there is one: one statement, not two.
    also = {"tier_review_on": verdict.review_on, "tier_at_risk_until": verdict.grace_until}
    outcome = verdict.outcome
    if outcome in (standing.Outcome.PLACE, standing.Outcome.PROMOTE):
        _move(
            customer=customer,
            to=earned,
            why=placement.why,
            rule=placement.rule,
            now=now,
            also=also if changed else None,
        )
    elif outcome is standing.Outcome.DROP:
        _move(
            customer=customer,
            to=tiers[verdict.position],
            why=ladder.because(
                gettext_noop("still short of %(tier)s after the grace period (%(because)s)"),
                tier=str(held),
                because=placement.quoted_reason,
            ),
            rule="review.soft_landing",
            now=now,
            also=also if changed else None,
        )
    elif changed:
        Customer.objects.filter(pk=customer.pk).update(**also)
    if outcome is standing.Outcome.AT_RISK and held is not None and verdict.grace_until:
        to_keep = standing.requirements(
            facts=facts, slug=held.slug, thresholds=rule_facts.ladder_thresholds()
        )
        _warn(customer, held, to_keep, verdict, now)


def _warn(
    customer: Customer, tier: Tier, to_keep: list[str], verdict: standing.Verdict, now: datetime
) -> None:
    """Tell the timeline, and whoever listens, that the customer may drop from their rung."""
    until = verdict.grace_until
    assert until is not None  # only an at-risk verdict is warned about
    what = to_keep or [english(gettext_noop("qualify again"))]
    timeline.note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.TIER_AT_RISK,
        **said(
            gettext_noop("At risk of dropping from %(tier)s after %(until)s: to keep it, %(what)s"),
            tier=tier.name,
            until=until.isoformat(),
            what=listed(what),
        ),
        occurred_at=now,
    )
    transaction.on_commit(
        lambda: tier_at_risk.send(
            sender=Customer, customer=customer, tier=tier, until=until, to_keep=to_keep
        )
    )


def record_imported_moves(
    *, moves: list[tuple[Customer, Tier | None, Tier]], by: User | None, source: str
) -> None:
    """Record the tiers an import set (customer, from, to), all at once: a TierChange and a
    timeline entry each, as for a move by hand (`source`: what set them, as "CSV import x.csv").

    tier_changed is not sent: a file's tiers say where customers stand already, not that a
    thousand of them just arrived there for programs to greet.
    """
    if not moves:
        return
    now = timezone.now()
    why = _reason_fields(ladder.because(gettext_noop("set by %(source)s"), source=source))
    changes = TierChange.objects.bulk_create(
        TierChange(
            customer=customer,
            from_tier=old,
            to_tier=new,
            **why,
            rule="import",
            changed_by=by,
            direction=ladder.direction(old_rank=old.rank if old else None, new_rank=new.rank).value,
            changed_at=now,
        )
        for customer, old, new in moves
    )
    timeline.note_many_on_timeline(
        entries=[
            TimelineEntry(
                customer=change.customer,
                kind=TimelineEntry.Kind.TIER,
                **said(MOVED[change.direction == "up"], tier=new.name, reason=_quoted(change)),
                actor=by,
                occurred_at=now,
                source_id=change.pk,
            )
            for change, (_, _, new) in zip(changes, moves, strict=True)
        ]
    )
    announce.tier_changes(changes, now=now)


def _reason_fields(why: Mapping[str, Any]) -> dict[str, Any]:
    # A person's text has no message id: it is shown as written.
    return {
        "reason": why["reason"][:300],
        "reason_key": why.get("reason_key", ""),
        "reason_args": why.get("reason_args", {}),
    }


def _quoted(change: TierChange) -> dict[str, Any] | str:
    # The move's reason, inside its timeline line, said in the reader's language too.
    return quoted(key=change.reason_key, args=change.reason_args, text=change.reason)
