"""Every write the business does to customers: one function, one transaction each."""

import dataclasses
import json
import logging
import secrets
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from customers import ladder, queries, value
from customers.contact import normalize_email
from customers.models import (
    Account,
    BondChange,
    Channel,
    Complaint,
    ConsentChange,
    Contract,
    Customer,
    FollowUp,
    Interaction,
    Purchase,
    Referral,
    Reward,
    Tier,
    TierChange,
    TimelineEntry,
    ValueModel,
)
from customers.rows import CleanRow, clean_row
from customers.signals import contract_added, customers_merged, follow_up_done, tier_changed

logger = logging.getLogger(__name__)

CUSTOMER_FIELDS = (
    "external_id", "first_name", "last_name", "email", "phone", "postal_address", "account",
    "audience", "relationship", "partner_kind", "owner", "timezone", "preferred_channel",
    "estimated_wallet",
)  # fmt: skip
CONSENT_FIELDS = tuple(f"consent_{channel}" for channel in Channel.values)


def note_on_timeline(
    *,
    customer: Customer,
    kind: str,
    title: str,
    detail: str = "",
    actor: User | None = None,
    occurred_at: datetime | None = None,
    source_id: int | None = None,
) -> TimelineEntry:
    """Add one entry to the customer's timeline (any app may tell of what it did)."""
    return TimelineEntry.objects.create(
        customer=customer,
        kind=kind,
        title=title[:300],
        detail=detail,
        actor=actor,
        occurred_at=occurred_at or timezone.now(),
        source_id=source_id,
    )


def note_many_on_timeline(*, entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """Add many unsaved timeline entries at once (a delivery batch tells of its touches)."""
    for entry in entries:
        entry.title = entry.title[:300]
    return TimelineEntry.objects.bulk_create(entries)


@transaction.atomic
def create_customer(
    *, data: dict[str, Any], by: User | None, consent_source: str = "entered by staff"
) -> Customer:
    """Create a customer from validated-or-not field values; places them on the ladder."""
    customer = Customer(**{k: v for k, v in data.items() if k in CUSTOMER_FIELDS})
    for field in CONSENT_FIELDS:
        setattr(customer, field, bool(data.get(field)))
    customer.tier = Tier.objects.order_by("rank").first()
    customer.highest_tier = customer.tier
    customer.email = normalize_email(customer.email)
    customer.full_clean()
    customer.save()
    for field in CONSENT_FIELDS:
        if data.get(field):
            _record_consent(customer, field.removeprefix("consent_"), True, consent_source, by)
    note_on_timeline(
        customer=customer, kind=TimelineEntry.Kind.NOTE, title="Customer created", actor=by
    )
    place_customer(customer=customer)
    return customer


@transaction.atomic
def update_customer(
    *,
    customer: Customer,
    data: dict[str, Any],
    by: User | None,
    consent_source: str = "edited by staff",
) -> Customer:
    """Change a customer's fields; consent changes are recorded with when and how."""
    previous_owner = customer.owner_id
    for field in CUSTOMER_FIELDS:
        if field in data:
            setattr(customer, field, data[field])
    customer.email = normalize_email(customer.email)
    customer.full_clean()
    customer.updated_at = timezone.now()
    customer.save()
    if customer.owner_id != previous_owner:
        move_open_follow_ups(moves=[(customer.pk, previous_owner, customer.owner_id)])
    for field in CONSENT_FIELDS:
        if field in data and bool(data[field]) != getattr(customer, field):
            set_consent(
                customer=customer,
                channel=field.removeprefix("consent_"),
                granted=bool(data[field]),
                source=consent_source,
                by=by,
            )
    return customer


def move_open_follow_ups(*, moves: list[tuple[int, int | None, int | None]]) -> int:
    """A customer's new owner takes over the open follow-ups their previous owner had for them
    (moves: customer id, previous owner id, new owner id): else a detractor's call waits with
    someone who no longer sees the customer. One UPDATE per pair of owners; returns how many."""
    by_pair: dict[tuple[int | None, int | None], list[int]] = {}
    for customer_id, previous, new in moves:
        if previous != new:
            by_pair.setdefault((previous, new), []).append(customer_id)
    moved = 0
    for (previous, new), customer_ids in by_pair.items():
        moved += FollowUp.objects.filter(
            customer_id__in=customer_ids, assignee_id=previous, done_at__isnull=True
        ).update(assignee_id=new)
    return moved


@transaction.atomic
def delete_customer(*, customer: Customer, by: User | None) -> Customer:
    """Soft delete: the row stays as a tombstone so sync clients learn of it."""
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(deleted_at=now, updated_at=now)
    customer.deleted_at = customer.updated_at = now
    logger.info("customer %s deleted by %s", customer.pk, getattr(by, "pk", None))
    return customer


@transaction.atomic
def save_account(*, account: Account, data: dict[str, Any]) -> Account:
    """Create or change an account (a company)."""
    for field in ("name", "website", "industry", "owner"):
        if field in data:
            setattr(account, field, data[field])
    account.full_clean()
    account.save()
    return account


def _record_consent(
    customer: Customer, channel: str, granted: bool, source: str, by: User | None
) -> ConsentChange:
    change = ConsentChange.objects.create(
        customer=customer, channel=channel, granted=granted, source=source, changed_by=by
    )
    verb = "gave" if granted else "withdrew"
    note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.CONSENT,
        title=f"{verb.capitalize()} consent to {Channel(channel).label} ({source})",
        actor=by,
        source_id=change.pk,
    )
    return change


@transaction.atomic
def set_consent(
    *,
    customer: Customer,
    channel: str,
    granted: bool,
    source: str,
    by: User | None = None,
) -> bool:
    """Give or withdraw consent on one channel; returns whether anything changed (idempotent)."""
    if channel not in Channel.values:
        raise ValidationError({"channel": f"Unknown channel “{channel}”."})
    field = f"consent_{channel}"
    changed = (
        Customer.objects.filter(pk=customer.pk)
        .exclude(**{field: granted})
        .update(**{field: granted}, updated_at=timezone.now())
    )
    setattr(customer, field, granted)
    if changed:
        _record_consent(customer, channel, granted, source, by)
        place_customer(customer=customer)  # stated preferences count on the bond
    return bool(changed)


@transaction.atomic
def log_interaction(
    *,
    customer: Customer,
    author: User | None,
    channel: str,
    summary: str,
    direction: str = Interaction.Direction.OUTBOUND,
    notes: str = "",
    sentiment: str = Interaction.Sentiment.NEUTRAL,
    occurred_at: datetime | None = None,
    follow_up_on: date | None = None,
) -> Interaction:
    """Log a call, meeting, message or event; a follow-up date becomes a follow-up."""
    interaction = Interaction(
        customer=customer,
        author=author,
        channel=channel,
        direction=direction,
        summary=summary,
        notes=notes,
        sentiment=sentiment,
        occurred_at=occurred_at or timezone.now(),
        follow_up_on=follow_up_on,
    )
    interaction.full_clean()
    interaction.save()
    note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.INTERACTION,
        title=f"{interaction.get_channel_display()} ({interaction.get_direction_display().lower()})"
        f": {summary}",
        detail=notes,
        actor=author,
        occurred_at=interaction.occurred_at,
        source_id=interaction.pk,
    )
    if follow_up_on:
        schedule_follow_up(
            customer=customer,
            assignee=customer.owner or author,
            due_at=_start_of_working_day(follow_up_on),
            reason=f"Follow up: {summary}",
            source="interaction",
        )
    refresh_customer(customer=customer)
    return interaction


def _start_of_working_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(9, 0)))


@transaction.atomic
def schedule_follow_up(
    *,
    customer: Customer,
    assignee: User | None,
    due_at: datetime,
    reason: str,
    source: str = "",
    notes: str = "",
) -> FollowUp:
    """Put something on an account manager's to-do list for this customer."""
    follow_up = FollowUp(
        customer=customer,
        assignee=assignee,
        due_at=due_at,
        reason=reason[:300],
        source=source,
        notes=notes,
    )
    follow_up.full_clean()
    follow_up.save()
    return follow_up


@transaction.atomic
def complete_follow_up(*, follow_up: FollowUp, by: User) -> bool:
    """Mark a follow-up done; returns False when it already was (clicking twice is harmless)."""
    now = timezone.now()
    done = FollowUp.objects.filter(pk=follow_up.pk, done_at__isnull=True).update(
        done_at=now, done_by=by
    )
    if done:
        follow_up.done_at, follow_up.done_by = now, by
        transaction.on_commit(lambda: follow_up_done.send(sender=FollowUp, follow_up=follow_up))
        note_on_timeline(
            customer=follow_up.customer,
            kind=TimelineEntry.Kind.FOLLOW_UP,
            title=f"Follow-up done: {follow_up.reason}",
            actor=by,
            source_id=follow_up.pk,
        )
    return bool(done)


@transaction.atomic
def open_complaint(
    *,
    customer: Customer,
    by: User | None,
    category: str,
    description: str,
    severity: str = Complaint.Severity.MEDIUM,
    owner: User | None = None,
    opened_at: datetime | None = None,
) -> Complaint:
    """Record a complaint (welcome: it is a chance to win the customer back)."""
    complaint = Complaint(
        customer=customer,
        category=category,
        description=description,
        severity=severity,
        owner=owner or customer.owner or by,
        opened_at=opened_at or timezone.now(),
    )
    complaint.full_clean()
    complaint.save()
    note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.COMPLAINT,
        title=f"Complaint ({complaint.get_severity_display().lower()}): {category}",
        detail=description,
        actor=by,
        occurred_at=complaint.opened_at,
        source_id=complaint.pk,
    )
    refresh_customer(customer=customer)
    return complaint


@transaction.atomic
def resolve_complaint(*, complaint: Complaint, by: User | None, resolution: str) -> Complaint:
    """Close a complaint with what was done about it."""
    if not resolution.strip():
        raise ValidationError({"resolution": "Say how the complaint was resolved."})
    now = timezone.now()
    resolved = Complaint.objects.filter(pk=complaint.pk, status=Complaint.Status.OPEN).update(
        status=Complaint.Status.RESOLVED, resolution=resolution, resolved_at=now
    )
    if not resolved:
        raise ValidationError("This complaint is already resolved.")
    complaint.status, complaint.resolution, complaint.resolved_at = (
        Complaint.Status.RESOLVED,
        resolution,
        now,
    )
    note_on_timeline(
        customer=complaint.customer,
        kind=TimelineEntry.Kind.COMPLAINT_RESOLVED,
        title=f"Complaint resolved: {complaint.category}",
        detail=resolution,
        actor=by,
        source_id=complaint.pk,
    )
    refresh_customer(customer=complaint.customer)
    return complaint


@transaction.atomic
def record_purchase(
    *,
    customer: Customer,
    amount: Decimal,
    purchased_on: date,
    currency: str = "EUR",
    product_category: str = "",
    external_id: str | None = None,
    by: User | None = None,
) -> Purchase:
    """Record a purchase (a negative amount is a refund)."""
    purchase = Purchase(
        customer=customer,
        amount=amount,
        currency=currency.upper(),
        purchased_on=purchased_on,
        product_category=product_category,
        external_id=external_id or None,
    )
    purchase.full_clean()
    purchase.save()
    what = f" — {product_category}" if product_category else ""
    note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.PURCHASE,
        title=f"Purchase: {Decimal(purchase.amount):.2f} {purchase.currency}{what}",
        actor=by,
        occurred_at=_start_of_working_day(purchased_on),
        source_id=purchase.pk,
    )
    refresh_customer(customer=customer)
    return purchase


@transaction.atomic
def add_contract(
    *,
    customer: Customer,
    title: str,
    starts_on: date,
    ends_on: date,
    value: Decimal = Decimal(0),
    by: User | None = None,
) -> Contract:
    """Record a contract; its end is what the renewal step of a program is anchored to."""
    contract = Contract(
        customer=customer, title=title, starts_on=starts_on, ends_on=ends_on, value=value
    )
    contract.full_clean()
    contract.save()
    transaction.on_commit(lambda: contract_added.send(sender=Contract, contract=contract))
    note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.CONTRACT,
        title=f"Contract: {title} ({starts_on:%Y-%m-%d} to {ends_on:%Y-%m-%d})",
        actor=by,
        source_id=contract.pk,
    )
    refresh_customer(customer=customer)
    return contract


def new_referral_code() -> str:
    """Short enough to read out on the phone, random enough not to be guessed."""
    return secrets.token_hex(5).upper()


@transaction.atomic
def record_referral(
    *,
    referrer: Customer,
    referred_name: str = "",
    referred_email: str = "",
    by: User | None = None,
) -> Referral:
    """Record that a customer referred someone, with a code to recognise them by."""
    referral = Referral(
        referrer=referrer,
        referred_name=referred_name,
        referred_email=referred_email.strip().lower(),
        code=new_referral_code(),
    )
    referral.full_clean()
    referral.save()
    who = referred_name or referred_email
    note_on_timeline(
        customer=referrer,
        kind=TimelineEntry.Kind.REFERRAL,
        title=f"Referred {who} (code {referral.code})"
        if who
        else f"Was given referral code {referral.code} to pass on",
        actor=by,
        source_id=referral.pk,
    )
    refresh_customer(customer=referrer)
    return referral


@transaction.atomic
def hand_out_referral_codes(*, customers: list[Customer]) -> dict[int, str]:
    """Give each customer an open referral code to pass on, at once (a program's refer-a-friend
    touches). An open code is not a referral yet, so the ladder and value stay as they are."""
    referrals = Referral.objects.bulk_create(
        Referral(referrer=customer, code=new_referral_code()) for customer in customers
    )
    note_many_on_timeline(
        entries=[
            TimelineEntry(
                customer_id=referral.referrer_id,
                kind=TimelineEntry.Kind.REFERRAL,
                title=f"Was given referral code {referral.code} to pass on",
                source_id=referral.pk,
            )
            for referral in referrals
        ]
    )
    return {referral.referrer_id: referral.code for referral in referrals}


@transaction.atomic
def convert_referral(*, referral: Referral, referred_customer: Customer | None = None) -> Referral:
    """The referred person became a customer: the referrer's advocacy counts."""
    now = timezone.now()
    converted = Referral.objects.filter(pk=referral.pk, status=Referral.Status.INVITED).update(
        status=Referral.Status.CONVERTED, converted_at=now, referred_customer=referred_customer
    )
    if converted:
        referral.status, referral.converted_at = Referral.Status.CONVERTED, now
        referral.referred_customer = referred_customer
        note_on_timeline(
            customer=referral.referrer,
            kind=TimelineEntry.Kind.REFERRAL,
            title=f"Referral {referral.code} converted",
            source_id=referral.pk,
        )
        refresh_customer(customer=referral.referrer)
    return referral


@transaction.atomic
def give_reward(
    *,
    customer: Customer,
    kind: str,
    reason: str,
    value: Decimal = Decimal(0),
    by: User | None = None,
    given_at: datetime | None = None,
) -> Reward:
    """Record a gift, discount, trial or survey premium given to the customer."""
    reward = Reward(
        customer=customer,
        kind=kind,
        reason=reason,
        value=value,
        given_at=given_at or timezone.now(),
    )
    reward.full_clean()
    reward.save()
    note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.REWARD,
        title=f"{reward.get_kind_display()}: {reason}" + (f" ({value})" if value else ""),
        actor=by,
        occurred_at=reward.given_at,
        source_id=reward.pk,
    )
    return reward


@transaction.atomic
def set_tier(
    *,
    customer: Customer,
    tier: Tier,
    by: User,
    reason: str,
    hold_days: int | None = None,
) -> TierChange | None:
    """An account manager puts a customer on a rung by hand; the rules then leave them be."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why you move this customer by hand."})
    hold_days = settings.MANUAL_TIER_HOLD_DAYS if hold_days is None else hold_days
    customer.manual_tier_until = timezone.localdate() + timedelta(days=hold_days)
    Customer.objects.filter(pk=customer.pk).update(manual_tier_until=customer.manual_tier_until)
    return _move(customer=customer, to=tier, reason=reason, rule="manual", by=by)


def _move(
    *,
    customer: Customer,
    to: Tier,
    reason: str,
    rule: str,
    by: User | None = None,
) -> TierChange | None:
    """Move a customer to a tier, recording the change and telling whoever listens."""
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
        direction=ladder.direction(old_rank=old.rank if old else None, new_rank=to.rank).value
        if old is None or old.rank != to.rank
        else "up",
    )
    customer.tier = to
    fields = {"tier": to, "updated_at": timezone.now()}
    if customer.highest_tier is None or to.rank > customer.highest_tier.rank:
        customer.highest_tier = to
        fields["highest_tier"] = to
    Customer.objects.filter(pk=customer.pk).update(**fields)
    arrow = "up" if change.direction == "up" else "down"
    note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.TIER,
        title=f"Moved {arrow} to {to.name}: {reason}",
        actor=by,
        source_id=change.pk,
    )
    transaction.on_commit(
        lambda: tier_changed.send(
            sender=Customer, customer=customer, from_tier=old, to_tier=to, change=change
        )
    )
    return change


def place_customer(*, customer: Customer, facts: queries.CustomerFacts | None = None) -> None:
    """Run the ladder and bond rules for one customer and record any move."""
    if facts is None:
        facts = queries.gather_facts([customer], today=timezone.localdate())[customer.pk]
    tiers = list(Tier.objects.order_by("rank"))
    _place(customer, facts, tiers)


def _place(customer: Customer, facts: queries.CustomerFacts, tiers: list[Tier]) -> None:
    by_slug = {tier.slug: tier for tier in tiers}
    if customer.manual_tier_until and customer.manual_tier_until < facts.ladder.today:
        # The hold is over: the rules take the customer back.
        Customer.objects.filter(pk=customer.pk).update(manual_tier_until=None)
        customer.manual_tier_until = None
    placement = ladder.place_on_ladder(facts=facts.ladder)
    if placement.rule != "manual.hold" and tiers:
        slug = ladder.fit_to_ladder(slug=placement.slug, available=[t.slug for t in tiers])
        _move(customer=customer, to=by_slug[slug], reason=placement.reason, rule=placement.rule)
    bond = ladder.place_on_bond(facts=facts.ladder)
    if bond.slug != customer.bond_stage:
        change = BondChange.objects.create(
            customer=customer,
            from_stage=customer.bond_stage,
            to_stage=bond.slug,
            reason=bond.reason[:300],
            rule=bond.rule,
        )
        Customer.objects.filter(pk=customer.pk).update(bond_stage=bond.slug)
        customer.bond_stage = bond.slug
        note_on_timeline(
            customer=customer,
            kind=TimelineEntry.Kind.BOND,
            title=f"Bond: {ladder.BOND_STAGE_NAMES[bond.slug]} ({bond.reason})",
            source_id=change.pk,
        )


def _value_fields(
    customer: Customer, facts: queries.CustomerFacts, forecast: value.ValueForecast, index: int
) -> dict[str, Any]:
    """The stored value figures for one customer, from its facts and the forecast row."""
    alive = forecast.probability_alive[index]
    alive = None if np.isnan(alive) else float(alive)
    churn_facts = facts.churn
    if alive is not None:
        churn_facts = value.ChurnFacts(**{**churn_facts.__dict__, "probability_alive": alive})
    risk = value.churn_risk(churn_facts)
    return {
        "lifetime_value": facts.lifetime_value,
        "predicted_value_12m": Decimal(str(round(float(forecast.value_12m[index]), 2))),
        "probability_alive": alive,
        "share_of_wallet": value.share_of_wallet(
            spend_12m=facts.spend_12m, wallet=customer.estimated_wallet
        ),
        "churn_risk": risk.score,
        "churn_reasons": risk.reasons,
        "value_method": str(forecast.method[index]),
        "first_purchase_on": facts.first_purchase_on,
        "last_purchase_on": facts.last_purchase_on,
    }


def _histories(facts: list[queries.CustomerFacts], today: date) -> dict[str, np.ndarray]:
    """BG/NBD inputs in weeks: repeat buying occasions, their recency, and customer age."""
    first = [f.first_purchase_on for f in facts]
    last = [f.last_purchase_on for f in facts]
    return {
        "frequency": np.array([max(f.purchase_days - 1, 0) for f in facts], dtype=float),
        "recency": np.array(
            [(b - a).days / 7 if a and b else 0.0 for a, b in zip(first, last, strict=True)]
        ),
        "age": np.array([(today - a).days / 7 if a else 0.0 for a in first]),
        "mean_value": np.array([f.mean_value for f in facts]),
        "spend_12m": np.array([float(f.spend_12m) for f in facts]),
    }


def refresh_customer(*, customer: Customer) -> None:
    """Re-run the ladder rules and recompute the value figures for one customer after an event."""
    today = timezone.localdate()
    facts = queries.gather_facts([customer], today=today)[customer.pk]
    model = ValueModel.objects.order_by("-fitted_at").first()
    forecast = value.predicted_value_12m(
        **_histories([facts], today),
        bg_nbd=model.bg_nbd if model else None,
        gamma_gamma=model.gamma_gamma if model else None,
        min_repeat_customers=0 if model else value.MIN_REPEAT_CUSTOMERS,
    )
    fields = _value_fields(customer, facts, forecast, 0)
    fields["value_refreshed_at"] = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(**fields)
    for name, field_value in fields.items():
        setattr(customer, name, field_value)
    _place(customer, facts, list(Tier.objects.order_by("rank")))


def refresh_everyone(*, batch_size: int = 2000, today: date | None = None) -> dict[str, Any]:
    """Nightly: refit the value model on the whole base, then refresh every customer in batches.

    The fit reads one grouped query over all purchases; the refresh works in batches of
    `batch_size` customers, each a handful of grouped queries and one bulk update.
    """
    today = today or timezone.localdate()
    model = fit_value_model(today=today)
    tiers = list(Tier.objects.order_by("rank"))
    refreshed = 0
    last_id = 0
    while True:
        batch = list(
            Customer.objects.filter(deleted_at__isnull=True, pk__gt=last_id)
            .select_related("tier", "highest_tier")
            .order_by("pk")[:batch_size]
        )
        if not batch:
            break
        last_id = batch[-1].pk
        _refresh_batch(batch, today=today, model=model, tiers=tiers)
        refreshed += len(batch)
    logger.info("value refresh: %s customers, model %s", refreshed, "fitted" if model else "none")
    return {"customers": refreshed, "model": model.pk if model else None}


@transaction.atomic
def _refresh_batch(
    batch: list[Customer], *, today: date, model: ValueModel | None, tiers: list[Tier]
) -> None:
    """Value figures for a batch in one bulk update, then the ladder and bond rules for each."""
    facts = queries.gather_facts(batch, today=today)
    ordered = [facts[c.pk] for c in batch]
    forecast = value.predicted_value_12m(
        **_histories(ordered, today),
        bg_nbd=model.bg_nbd if model else None,
        gamma_gamma=model.gamma_gamma if model else None,
        min_repeat_customers=0 if model else value.MIN_REPEAT_CUSTOMERS,
    )
    now = timezone.now()
    for index, customer in enumerate(batch):
        for name, field_value in _value_fields(customer, ordered[index], forecast, index).items():
            setattr(customer, name, field_value)
        customer.value_refreshed_at = now
    _store_values(batch)
    for customer in batch:
        _place(customer, facts[customer.pk], tiers)


VALUE_FIELDS = (
    "lifetime_value", "predicted_value_12m", "probability_alive", "share_of_wallet",
    "churn_risk", "churn_reasons", "value_method", "first_purchase_on", "last_purchase_on",
    "value_refreshed_at",
)  # fmt: skip


def _store_values(batch: list[Customer]) -> None:
    """Write the value figures of a batch in one statement.

    On PostgreSQL an UPDATE ... FROM (VALUES ...) is one pass; bulk_update's CASE per field
    and row grows quadratically and took seconds per 2,000 customers.
    """
    if connection.vendor != "postgresql":
        Customer.objects.bulk_update(batch, VALUE_FIELDS)
        return
    casts = {
        "lifetime_value": "numeric", "predicted_value_12m": "numeric",
        "probability_alive": "double precision", "share_of_wallet": "numeric",
        "churn_risk": "smallint", "churn_reasons": "jsonb", "value_method": "varchar",
        "first_purchase_on": "date", "last_purchase_on": "date",
        "value_refreshed_at": "timestamptz",
    }  # fmt: skip
    row = "(%s, " + ", ".join(f"%s::{casts[name]}" for name in VALUE_FIELDS) + ")"
    params: list[Any] = []
    for customer in batch:
        params.append(customer.pk)
        for name in VALUE_FIELDS:
            value = getattr(customer, name)
            params.append(json.dumps(value) if name == "churn_reasons" else value)
    assignments = ", ".join(f"{name} = v.{name}" for name in VALUE_FIELDS)
    sql = (
        f"UPDATE customers_customer AS c SET {assignments} "  # noqa: S608 - names are ours
        f"FROM (VALUES {', '.join([row] * len(batch))}) AS v(id, {', '.join(VALUE_FIELDS)}) "
        "WHERE c.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def fit_value_model(*, today: date) -> ValueModel | None:
    """Fit BG/NBD and Gamma-Gamma on every customer's purchase history; None when too thin."""
    histories = queries.purchase_histories(today=today)
    if not histories["frequency"].size:
        return None
    forecast = value.predicted_value_12m(**histories)
    if forecast.bg_nbd is None or forecast.gamma_gamma is None:
        logger.info("value model not fitted: %s", forecast.fallback_reason)
        return None
    return ValueModel.objects.create(
        customers=int(histories["frequency"].size),
        bg_nbd_params=forecast.bg_nbd.__dict__,
        gamma_gamma_params=forecast.gamma_gamma.__dict__,
    )


@transaction.atomic
def save_tier(*, tier: Tier, data: dict[str, Any]) -> Tier:
    """Create or change a rung of the ladder (name, colour, rank, description)."""
    for field in ("rank", "name", "slug", "colour", "description"):
        if field in data:
            setattr(tier, field, data[field])
    tier.full_clean()
    tier.save()
    return tier


@transaction.atomic
def remove_tier(*, tier: Tier, by: User | None) -> int:
    """Take a rung off the ladder; its customers step down to the rung below (or up, at the
    bottom), each move recorded. Returns how many customers moved."""
    target = queries.tier_taking_over(tier)
    if target is None:
        raise ValidationError("The ladder needs at least one rung.")
    reason = f"{tier.name} was removed from the ladder"
    moved = 0
    while True:
        batch = list(Customer.objects.filter(tier=tier).values_list("pk", flat=True)[:5000])
        if not batch:
            break
        now = timezone.now()
        direction = "down" if target.rank < tier.rank else "up"
        TierChange.objects.bulk_create(
            TierChange(
                customer_id=pk,
                from_tier=tier,
                to_tier=target,
                reason=reason,
                rule="ladder.removed",
                changed_by=by,
                direction=direction,
                changed_at=now,
            )
            for pk in batch
        )
        Customer.objects.filter(pk__in=batch).update(tier=target, updated_at=now)
        moved += len(batch)
    Customer.objects.filter(highest_tier=tier).update(highest_tier=target)
    tier.delete()
    return moved


@dataclasses.dataclass
class UpsertOutcome:
    """What a bulk upsert did: counts, the rows refused (by index) and the customers touched."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    purchases_created: int = 0
    # index in the request -> customer id, for every row that landed (or was already there)
    customer_ids: dict[int, int] = dataclasses.field(default_factory=dict)


# Fields a sync row may set, in the order the upsert writes them.
SYNCED_FIELDS = (
    "first_name", "last_name", "email", "phone", "postal_address", "account_id", "audience",
    "relationship", "partner_kind", "owner_id", "timezone", "preferred_channel",
    "estimated_wallet",
)  # fmt: skip
NEW_CUSTOMER_DEFAULTS = {
    "first_name": "", "last_name": "", "email": "", "phone": "", "postal_address": "",
    "account_id": None, "audience": "retail", "relationship": "prospect", "partner_kind": "",
    "owner_id": None, "timezone": "", "preferred_channel": "email", "estimated_wallet": None,
}  # fmt: skip


def upsert_customers(
    *,
    rows: list[Any],
    by: User | None,
    source: str = "API sync",
) -> UpsertOutcome:
    """Create or update customers by external_id, many at once, in one set-based statement.

    Every row is checked first; the good ones land together and the bad ones come back by
    index with their field errors. A row equal to what is stored is counted unchanged and its
    updated_at is left alone. Nested purchases are added once, keyed by their own external_id.
    """
    outcome = UpsertOutcome()
    cleaned = [clean_row(raw, phone_region=settings.PHONE_REGION) for raw in rows]
    _refuse_repeats(cleaned)
    with transaction.atomic():
        candidates = {i: row for i, row in enumerate(cleaned) if not row.errors}
        existing = {
            customer.external_id: customer
            for customer in Customer.objects.select_for_update().filter(
                external_id__in=[row.values["external_id"] for row in candidates.values()]
            )
        }
        owners = _owners_by_username(candidates.values())
        _check_rows_against_database(candidates, existing, owners, by)
        account_ids = _account_ids(
            {row.values["account"] for row in candidates.values() if row.values.get("account")}
            if candidates
            else set(),
            ready=[row for row in candidates.values() if not row.errors],
        )
        now = timezone.now()
        lowest = Tier.objects.order_by("rank").first()
        to_write: list[tuple[int, Customer, bool]] = []
        existing_owners = {customer.pk: customer.owner_id for customer in existing.values()}
        owner_moves: dict[int, tuple[int | None, int | None]] = {}
        consent_changes: list[ConsentChange] = []
        for index, row in candidates.items():
            if row.errors:
                continue
            values = dict(row.values)
            external_id = values.pop("external_id")
            values.pop("account", None)
            if "account" in row.values:
                values["account_id"] = account_ids.get(row.values["account"])
            if "owner" in row.values:
                username = values.pop("owner")
                values["owner_id"] = owners[username].pk if username else None
            elif external_id not in existing and by is not None and not queries.sees_everyone(by):
                values["owner_id"] = by.pk  # an account manager owns what they send
            customer = existing.get(external_id)
            if customer is None:
                merged = {**NEW_CUSTOMER_DEFAULTS, **values}
                if not (merged["first_name"] or merged["last_name"] or merged["email"]):
                    row.fail("non_field_errors", "A customer needs a name or an e-mail address.")
                    continue
                customer = Customer(
                    external_id=external_id,
                    **merged,
                    **{f"consent_{c}": row.consents.get(c, False) for c in Channel.values},
                    tier=lowest,
                    highest_tier=lowest,
                    created_at=now,
                    updated_at=now,
                )
                to_write.append((index, customer, True))
                consent_changes += [
                    ConsentChange(
                        customer=customer,
                        channel=c,
                        granted=True,
                        source=source,
                        changed_by=by,
                        changed_at=now,
                    )  # fmt: skip
                    for c, granted in row.consents.items()
                    if granted
                ]
                continue
            changed = {
                name: value for name, value in values.items() if getattr(customer, name) != value
            }
            consents = {
                c: granted
                for c, granted in row.consents.items()
                if getattr(customer, f"consent_{c}") != granted
            }
            outcome.customer_ids[index] = customer.pk
            if not changed and not consents:
                outcome.unchanged += 1
                continue
            for name, value in changed.items():
                setattr(customer, name, value)
            for c, granted in consents.items():
                setattr(customer, f"consent_{c}", granted)
                consent_changes.append(
                    ConsentChange(
                        customer=customer,
                        channel=c,
                        granted=granted,
                        source=source,
                        changed_by=by,
                        changed_at=now,
                    )  # fmt: skip
                )
            customer.updated_at = now
            to_write.append((index, customer, False))
            if "owner_id" in changed:
                owner_moves[customer.pk] = (existing_owners[customer.pk], customer.owner_id)

        written = _write_customers([customer for _, customer, _ in to_write])
        for index, customer, is_new in to_write:
            if customer.pk is None or customer.pk not in written:
                cleaned[index].fail(
                    "non_field_errors", "Conflicts with another customer (e-mail or external_id)."
                )
                continue
            outcome.customer_ids[index] = customer.pk
            if is_new:
                outcome.created += 1
            else:
                outcome.updated += 1
        ConsentChange.objects.bulk_create(
            [change for change in consent_changes if change.customer.pk in written]
        )
        move_open_follow_ups(
            moves=[(pk, *owners) for pk, owners in owner_moves.items() if pk in written]
        )
        outcome.purchases_created = _insert_purchases(
            {outcome.customer_ids[i]: cleaned[i].purchases for i in outcome.customer_ids}
        )
        touched = list(outcome.customer_ids.values())
        if outcome.purchases_created or consent_changes:
            transaction.on_commit(lambda: _refresh_later(touched))

    for index, row in enumerate(cleaned):
        if row.errors:
            raw = rows[index] if isinstance(rows[index], dict) else {}
            outcome.errors.append(
                {"index": index, "external_id": raw.get("external_id"), "errors": row.errors}
            )
    return outcome


def _refresh_later(customer_ids: list[int]) -> None:
    from customers.tasks import refresh_customers_task

    for start in range(0, len(customer_ids), 500):
        refresh_customers_task.delay(customer_ids[start : start + 500])


def _refuse_repeats(rows: list[CleanRow]) -> None:
    """The same external_id or e-mail twice in one request: the later rows are refused."""
    seen_ids: set[str] = set()
    seen_emails: set[str] = set()
    for row in rows:
        external_id = row.values.get("external_id")
        if external_id in seen_ids:
            row.fail("external_id", "Appears more than once in this batch.")
        elif external_id:
            seen_ids.add(external_id)
        email = row.values.get("email")
        if email and email in seen_emails:
            row.fail("email", "Appears more than once in this batch.")
        elif email:
            seen_emails.add(email)


def _owners_by_username(rows) -> dict[str, User]:
    from django.contrib.auth import get_user_model

    names = {row.values["owner"] for row in rows if row.values.get("owner")}
    if not names:
        return {}
    return {user.username: user for user in get_user_model().objects.filter(username__in=names)}


def _check_rows_against_database(
    candidates: dict[int, CleanRow],
    existing: dict[str | None, Customer],
    owners: dict[str, User],
    by: User | None,
) -> None:
    """Owners that exist, e-mails not taken by another live customer, and the ownership rule."""
    # None when the caller may change every customer, else the one owner they may act as.
    limited_to = None if by is None or queries.sees_everyone(by) else by
    for row in candidates.values():
        customer = existing.get(row.values["external_id"])
        username = row.values.get("owner")
        # Checked first: an account manager learns nothing of which other usernames exist.
        if username and limited_to and username != limited_to.get_username():
            row.fail("owner", "You may only assign customers to yourself.")
        elif username and username not in owners:
            row.fail("owner", f"No user “{username}”.")
        if customer is not None and customer.deleted_at is not None:
            row.fail("external_id", "This customer was deleted; restore it in Bonding first.")
        elif customer is not None and limited_to and customer.owner_id != limited_to.pk:
            row.fail("external_id", "Belongs to a customer you cannot change.")
    emails = {row.values["email"] for row in candidates.values() if row.values.get("email")}
    taken = dict(
        Customer.objects.filter(deleted_at__isnull=True, email__in=emails)
        .order_by()
        .values_list("email", "external_id")
    )
    for row in candidates.values():
        email = row.values.get("email")
        if email in taken and taken[email] != row.values["external_id"]:
            row.fail("email", "Another customer already has this e-mail address.")


def _account_ids(names: set[str], *, ready: list[CleanRow]) -> dict[str, int]:
    """Accounts by name, creating the ones a good row names for the first time."""
    if not names:
        return {}
    found = dict(Account.objects.filter(name__in=names).values_list("name", "id"))
    wanted = {row.values["account"] for row in ready if row.values.get("account")}
    missing = sorted(wanted - set(found))
    if missing:
        Account.objects.bulk_create([Account(name=name) for name in missing])
        found.update(Account.objects.filter(name__in=missing).values_list("name", "id"))
    return found


def _write_customers(customers: list[Customer]) -> set[int]:
    """One INSERT ... ON CONFLICT (external_id) DO UPDATE for all; row by row only on a race."""
    if not customers:
        return set()
    fields = [*SYNCED_FIELDS, *CONSENT_FIELDS, "updated_at"]
    try:
        with transaction.atomic():
            Customer.objects.bulk_create(
                customers,
                update_conflicts=True,
                unique_fields=["external_id"],
                update_fields=fields,
            )
        return {customer.pk for customer in customers}
    except IntegrityError:
        # Another writer took an e-mail between our check and the write: find the rows it hit.
        written = set()
        for customer in customers:
            is_new = customer._state.adding
            try:
                with transaction.atomic():
                    Customer.objects.bulk_create(
                        [customer],
                        update_conflicts=True,
                        unique_fields=["external_id"],
                        update_fields=fields,
                    )
                written.add(customer.pk)
            except IntegrityError:
                if is_new:
                    customer.pk = None
        return written


@transaction.atomic
def add_purchases(*, by_customer: dict[int, list[dict[str, Any]]]) -> int:
    """Add many purchases at once (by customer id); known external_ids are left alone.

    The customers' value figures and tiers are refreshed by a worker after commit.
    """
    created = _insert_purchases(by_customer)
    if created:
        customer_ids = list(by_customer)
        transaction.on_commit(lambda: _refresh_later(customer_ids))
    return created


def _insert_purchases(by_customer: dict[int, list[dict[str, Any]]]) -> int:
    """Insert the purchases not yet known by external_id; returns how many were new."""
    wanted = {
        purchase["external_id"]: (customer_id, purchase)
        for customer_id, purchases in by_customer.items()
        for purchase in purchases
    }
    if not wanted:
        return 0
    known = set(
        Purchase.objects.filter(external_id__in=list(wanted)).values_list("external_id", flat=True)
    )
    new = [
        Purchase(customer_id=customer_id, **purchase)
        for external_id, (customer_id, purchase) in wanted.items()
        if external_id not in known
    ]
    Purchase.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def refresh_customers(*, customer_ids: list[int]) -> int:
    """Refresh value, tier and bond stage for these customers, in one batch."""
    today = timezone.localdate()
    batch = list(
        Customer.objects.filter(pk__in=customer_ids, deleted_at__isnull=True).select_related(
            "tier", "highest_tier"
        )
    )
    if batch:
        model = ValueModel.objects.order_by("-fitted_at").first()
        _refresh_batch(batch, today=today, model=model, tiers=list(Tier.objects.order_by("rank")))
    return len(batch)


# Fields a merge fills on the survivor from the merged record when the survivor has none.
MERGE_FILLED_FIELDS = (
    "first_name", "last_name", "email", "phone", "postal_address", "account_id", "owner_id",
    "timezone", "partner_kind", "external_id",
)  # fmt: skip
# Every table of this app that points at a customer, and the column that does.
MERGE_MOVED = (
    (Interaction, "customer"), (Complaint, "customer"), (Purchase, "customer"),
    (Contract, "customer"), (Referral, "referrer"), (Referral, "referred_customer"),
    (Reward, "customer"), (FollowUp, "customer"), (ConsentChange, "customer"),
    (TierChange, "customer"), (BondChange, "customer"), (TimelineEntry, "customer"),
)  # fmt: skip


@transaction.atomic
def merge_customers(*, survivor: Customer, merged: Customer, by: User | None) -> Customer:
    """Fold `merged` into `survivor`: every record moves, blanks are filled from the richer
    record, and `merged` stays as a tombstone pointing at the survivor so sync clients learn it."""
    survivor, merged = (
        Customer.objects.select_for_update().get(pk=survivor.pk),
        Customer.objects.select_for_update().get(pk=merged.pk),
    )
    if survivor.pk == merged.pk:
        raise ValidationError("A customer cannot be merged with itself.")
    if survivor.deleted_at:
        raise ValidationError("The surviving customer must be a live one.")
    if merged.merged_into_id:
        raise ValidationError("That record was already merged into another customer.")
    now = timezone.now()
    filled = {
        name: getattr(merged, name)
        for name in MERGE_FILLED_FIELDS
        if not getattr(survivor, name) and getattr(merged, name)
    }
    # The tombstone lets go of what must stay unique among live customers before the survivor
    # takes it over.
    Customer.objects.filter(pk=merged.pk).update(
        deleted_at=now, updated_at=now, merged_into=survivor
    )
    if "external_id" in filled:
        Customer.objects.filter(pk=merged.pk).update(external_id=None)
    for model, column in MERGE_MOVED:
        model.objects.filter(**{column: merged}).update(**{column: survivor})
    # The merged record's open follow-ups (and, when the survivor takes its owner, the
    # survivor's unassigned ones) go to the survivor's owner.
    owner = filled.get("owner_id", survivor.owner_id)
    move_open_follow_ups(
        moves=[(survivor.pk, merged.owner_id, owner), (survivor.pk, survivor.owner_id, owner)]
    )
    consents = _merged_consents(survivor, merged)
    if survivor.estimated_wallet is None or (
        merged.estimated_wallet is not None and merged.estimated_wallet > survivor.estimated_wallet
    ):
        filled["estimated_wallet"] = merged.estimated_wallet
    if merged.nps_latest_at and (
        survivor.nps_latest_at is None or merged.nps_latest_at > survivor.nps_latest_at
    ):
        filled["nps_latest"], filled["nps_latest_at"] = merged.nps_latest, merged.nps_latest_at
    if (
        merged.tier
        and survivor.tier
        and merged.highest_tier
        and (survivor.highest_tier is None or merged.highest_tier.rank > survivor.highest_tier.rank)
    ):
        filled["highest_tier"] = merged.highest_tier
    Customer.objects.filter(pk=survivor.pk).update(**filled, **consents, updated_at=now)
    customers_merged.send(sender=Customer, survivor=survivor, merged=merged)
    survivor.refresh_from_db()
    note_on_timeline(
        customer=survivor,
        kind=TimelineEntry.Kind.MERGE,
        title=f"Merged with {merged} (#{merged.pk})",
        detail="Filled from the merged record: " + (", ".join(sorted(filled)) or "nothing"),
        actor=by,
        source_id=merged.pk,
    )
    logger.info("customer %s merged into %s", merged.pk, survivor.pk)
    refresh_customer(customer=survivor)
    return survivor


def _merged_consents(survivor: Customer, merged: Customer) -> dict[str, bool]:
    """Per channel, the most recent decision of the two wins; without any, the survivor's."""
    latest: dict[str, tuple] = {}
    for change in ConsentChange.objects.filter(customer__in=[survivor, merged]).order_by(
        "changed_at", "id"
    ):
        latest[change.channel] = (change.changed_at, change.granted)
    return {
        f"consent_{channel}": latest[channel][1]
        if channel in latest
        else getattr(survivor, f"consent_{channel}")
        for channel in Channel.values
    }
