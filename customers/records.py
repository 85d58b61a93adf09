"""The customer record: create, change, delete, accounts and consent."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from customers import activity, announce, placement, rule_facts, timeline
from customers.contact import normalize_email
from customers.models import Account, Channel, ConsentChange, Customer, Tier, TimelineEntry
from customers.sayings import choice, said

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
    "language",
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
                tell_subscribers=False,
            )
    announce.customers_changed("customer.updated", [customer], now=customer.updated_at)
    return customer


@transaction.atomic
def delete_customer(*, customer: Customer, by: User | None) -> Customer:
    """Soft delete: the row stays as a tombstone so sync clients learn of it."""
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(deleted_at=now, updated_at=now)
    customer.deleted_at = customer.updated_at = now
    announce.customers_deleted([(customer.pk, customer.external_id)], now=now)
    logger.info("customer %s deleted by %s", customer.pk, getattr(by, "pk", None))
    return customer


# Bulk writes go in chunks: each chunk's rows are locked, written and announced together.
CHUNK = 2000


@transaction.atomic
def delete_customers(*, customers: QuerySet[Customer], by: User | None) -> int:
    """Soft delete many at once, a customer.deleted each; returns how many were deleted."""
    now = timezone.now()
    ids = list(customers.filter(deleted_at__isnull=True).values_list("pk", flat=True))
    deleted = 0
    for start in range(0, len(ids), CHUNK):
        # Locked first, so the events name exactly the rows this statement deletes.
        rows = list(
            Customer.objects.select_for_update()
            .filter(pk__in=ids[start : start + CHUNK], deleted_at__isnull=True)
            .values_list("pk", "external_id")
        )
        Customer.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            deleted_at=now, updated_at=now
        )
        announce.customers_deleted(rows, now=now)
        deleted += len(rows)
    logger.info("%s customers deleted by %s", deleted, getattr(by, "pk", None))
    return deleted


@transaction.atomic
def assign_owner(*, customers: QuerySet[Customer], owner: User, by: User | None) -> int:
    """Give many customers one owner, a customer.updated each; returns how many changed."""
    if not owner.is_active:
        raise ValidationError({"owner": [gettext("This person cannot own customers.")]})
    now = timezone.now()
    ids = list(customers.exclude(owner=owner).values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), CHUNK):
        chunk = list(
            Customer.objects.select_for_update()
            .filter(pk__in=ids[start : start + CHUNK])
            .exclude(owner=owner)
        )
        Customer.objects.filter(pk__in=[c.pk for c in chunk]).update(owner=owner, updated_at=now)
        for customer in chunk:
            customer.owner, customer.updated_at = owner, now
        announce.customers_changed("customer.updated", chunk, now=now)
        changed += len(chunk)
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
    message = (
        gettext_noop("Gave consent to %(channel)s (%(source)s)")
        if granted
        else gettext_noop("Withdrew consent to %(channel)s (%(source)s)")
    )
    timeline.note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.CONSENT,
        **said(message, channel=choice("channel", channel), source=source),
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
    tell_subscribers: bool = True,
) -> bool:
    """Give or withdraw consent on one channel; returns whether anything changed (idempotent).
    A change is a customer.updated, unless the caller announces the customer itself."""
    if channel not in Channel.values:
        raise ValidationError(
            {"channel": gettext("Unknown channel “%(channel)s”.") % {"channel": channel}}
        )
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
        if tell_subscribers:
            customer.updated_at = now
            announce.customers_changed("customer.updated", [customer], now=now)
    return bool(changed)
