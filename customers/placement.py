"""Ladder placement: the rules' moves and an account manager's hand moves, with the bond stage."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers import announce, ladder, rule_facts, timeline
from customers.models import BondChange, Customer, Tier, TierChange, TimelineEntry
from customers.signals import tier_changed


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
        raise ValidationError({"reason": "Say why you move this customer by hand."})
    now = now or timezone.now()
    hold_days = settings.MANUAL_TIER_HOLD_DAYS if hold_days is None else hold_days
    customer.manual_tier_until = timezone.localdate(now) + timedelta(days=hold_days)
    Customer.objects.filter(pk=customer.pk).update(manual_tier_until=customer.manual_tier_until)
    return _move(customer=customer, to=tier, reason=reason, rule="manual", by=by, now=now)


def _move(
    *,
    customer: Customer,
    to: Tier,
    reason: str,
    rule: str,
    now: datetime,
    by: User | None = None,
) -> TierChange | None:
    """Move a customer to a tier at `now`, recording the change and telling whoever listens."""
    old = customer.tier
    if old is not None and old.pk == to.pk:
        return None
    change = TierChange.objects.create(
        customer=customer,
        from_tier=old,
        to_tier=to,
        reason=reason[:300],
        rule=rule,
        changed_by=by,
        changed_at=now,
        direction=ladder.direction(old_rank=old.rank if old else None, new_rank=to.rank).value
        if old is None or old.rank != to.rank
        else "up",
    )
    customer.tier = to
    fields = {"tier": to, "updated_at": now}
    if customer.highest_tier is None or to.rank > customer.highest_tier.rank:
        customer.highest_tier = to
        fields["highest_tier"] = to
    Customer.objects.filter(pk=customer.pk).update(**fields)
    arrow = "up" if change.direction == "up" else "down"
    timeline.note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.TIER,
        title=f"Moved {arrow} to {to.name}: {reason}",
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
    placement = ladder.place_on_ladder(facts=facts.ladder)
    if placement.rule != "manual.hold" and tiers:
        slug = ladder.fit_to_ladder(slug=placement.slug, available=[t.slug for t in tiers])
        _move(
            customer=customer,
            to=by_slug[slug],
            reason=placement.reason,
            rule=placement.rule,
            now=now,
        )
    bond = ladder.place_on_bond(facts=facts.ladder)
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
            title=f"Bond: {ladder.BOND_STAGE_NAMES[bond.slug]} ({bond.reason})",
            occurred_at=now,
            source_id=change.pk,
        )


def record_imported_moves(
    *, moves: list[tuple[Customer, Tier | None, Tier]], by: User | None, reason: str
) -> None:
    """Record the tiers an import set (customer, from, to), all at once: a TierChange and a
    timeline entry each, as for a move by hand.

    tier_changed is not sent: a file's tiers say where customers stand already, not that a
    thousand of them just arrived there for programs to greet.
    """
    if not moves:
        return
    now = timezone.now()
    changes = TierChange.objects.bulk_create(
        TierChange(
            customer=customer,
            from_tier=old,
            to_tier=new,
            reason=reason[:300],
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
                title=f"Moved {change.direction} to {new.name}: {reason}",
                actor=by,
                occurred_at=now,
                source_id=change.pk,
            )
            for change, (_, _, new) in zip(changes, moves, strict=True)
        ]
    )
    announce.tier_changes(changes, now=now)
