"""The customer record: create, change, delete, accounts and consent."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from customers import activity, announce, placement, rule_facts, timeline
from customers.contact import normalize_email
from customers.models import Account, Channel, ConsentChange, Customer, Tier, TimelineEntry
from webhooks import outbox

logger = logging.getLogger(__name__)


CUSTOMER_FIELDS = (
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "postal_address",
    "account",
    "audience",
    "relationship",
    "partner_kind",
    "owner",
    "timezone",
    "preferred_channel",
    "frequency",
    "estimated_wallet",
)


CONSENT_FIELDS = tuple(f"consent_{channel}" for channel in Channel.values)


@transaction.atomic
def create_customer(
    *,
    data: dict[str, Any],
    by: User | None,
    consent_source: str = "entered by staff",
    now: datetime | None = None,
) -> Customer:
    """Create a customer from validated-or-not field values; places them on the ladder."""
    now = now or timezone.now()
    customer = Customer(**{k: v for k, v in data.items() if k in CUSTOMER_FIELDS})
    for field in CONSENT_FIELDS:
        setattr(customer, field, bool(data.get(field)))
    customer.tier = Tier.objects.order_by("rank").first()
    customer.highest_tier = customer.tier
    # The bottom rung is reviewed like any other, a period after it was reached.
    customer.tier_review_on = timezone.localdate(now) + timedelta(
        days=placement.review_terms([customer.tier] if customer.tier else None).days_at(0)
    )
    customer.email = normalize_email(customer.email)
    customer.created_at = customer.updated_at = now
    # The tiers were read just above: no query to check they exist.
    customer.full_clean(exclude=["tier", "highest_tier"])
    customer.save()
    if data.get("topics"):
        customer.topics.set(data["topics"])
    for field in CONSENT_FIELDS:
        if data.get(field):
            _record_consent(
                customer, field.removeprefix("consent_"), True, consent_source, by, at=now
            )
    timeline.note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.NOTE,
        title="Customer created",
        actor=by,
        occurred_at=now,
    )
    # Nothing has happened to a new customer yet but the consents above: no facts to read.
    facts = rule_facts.new_customer_facts(
        customer,
        today=timezone.localdate(now),
        consented=any(data.get(field) for field in CONSENT_FIELDS),
    )
    placement.place_customer(customer=customer, facts=facts, now=now)
    announce.customers_changed("customer.created", [customer], now=now)
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
    previous_owner, previous_email = customer.owner_id, customer.email
    for field in CUSTOMER_FIELDS:
        if field in data:
            setattr(customer, field, data[field])
    customer.email = normalize_email(customer.email)
    if customer.email != previous_email:
        # The suspension was of the old address: a new one gets its chance.
        customer.email_suspended_reason, customer.email_suspended_at = "", None
    customer.full_clean()
    customer.updated_at = timezone.now()
    customer.save()
    if "topics" in data:
        customer.topics.set(data["topics"])
    if customer.owner_id != previous_owner:
        activity.move_open_follow_ups(moves=[(customer.pk, previous_owner, customer.owner_id)])
    for field in CONSENT_FIELDS:
        if field in data and bool(data[field]) != getattr(customer, field):
            set_consent(
                customer=customer,
                channel=field.removeprefix("consent_"),
                granted=bool(data[field]),
                source=consent_source,
                by=by,
            )
    announce.customers_changed("customer.updated", [customer], now=customer.updated_at)
    return customer


@transaction.atomic
def delete_customer(*, customer: Customer, by: User | None) -> Customer:
    """Soft delete: the row stays as a tombstone so sync clients learn of it."""
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(deleted_at=now, updated_at=now)
    customer.deleted_at = customer.updated_at = now
    outbox.publish(
        "customer.deleted",
        {"id": customer.pk, "external_id": customer.external_id, "deleted_at": now},
        customer_id=customer.pk,
        now=now,
    )
    logger.info("customer %s deleted by %s", customer.pk, getattr(by, "pk", None))
    return customer


def delete_customers(*, customers: QuerySet[Customer], by: User | None) -> int:
    """Soft delete many at once (one statement); returns how many were deleted."""
    now = timezone.now()
    deleted = customers.filter(deleted_at__isnull=True).update(deleted_at=now, updated_at=now)
    logger.info("%s customers deleted by %s", deleted, getattr(by, "pk", None))
    return deleted


def assign_owner(*, customers: QuerySet[Customer], owner: User, by: User | None) -> int:
    """Give many customers one owner (one statement); returns how many were changed."""
    if not owner.is_active:
        raise ValidationError({"owner": ["This person cannot own customers."]})
    now = timezone.now()
    changed = customers.exclude(owner=owner).update(owner=owner, updated_at=now)
    logger.info("%s customers given to %s by %s", changed, owner.pk, getattr(by, "pk", None))
    return changed


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
    customer: Customer,
    channel: str,
    granted: bool,
    source: str,
    by: User | None,
    at: datetime | None = None,
) -> ConsentChange:
    at = at or timezone.now()
    change = ConsentChange.objects.create(
        customer=customer,
        channel=channel,
        granted=granted,
        source=source,
        changed_by=by,
        changed_at=at,
    )
    verb = "gave" if granted else "withdrew"
    timeline.note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.CONSENT,
        title=f"{verb.capitalize()} consent to {Channel(channel).label} ({source})",
        actor=by,
        occurred_at=at,
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
    now: datetime | None = None,
) -> bool:
    """Give or withdraw consent on one channel; returns whether anything changed (idempotent)."""
    if channel not in Channel.values:
        raise ValidationError({"channel": f"Unknown channel “{channel}”."})
    now = now or timezone.now()
    field = f"consent_{channel}"
    changed = (
        Customer.objects.filter(pk=customer.pk)
        .exclude(**{field: granted})
        .update(**{field: granted}, updated_at=now)
    )
    setattr(customer, field, granted)
    if changed:
        _record_consent(customer, channel, granted, source, by, at=now)
        placement.place_customer(customer=customer, now=now)  # stated preferences count on the bond
    return bool(changed)
