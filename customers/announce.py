"""What the customers app tells webhook subscribers: each record as the API shows it, written
to the outbox (webhooks.outbox) inside the transaction of the change, so the two commit together.

Plain functions rather than the API's serializers: the services call these, and the API module
imports the services.
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from operator import attrgetter
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import DateTimeField, DecimalField, Model
from django.utils import timezone

from customers.models import Channel, Customer
from customers.shapes import CUSTOMER_FIELDS, RECORD_FIELDS
from webhooks import outbox


def customer_data(
    customer: Customer, names: "LinkNames | None" = None, shown: dict | None = None
) -> dict[str, Any]:
    """A customer as GET /api/v1/customers/{id}/ shows it. `shown` keeps the times and amounts
    already written between the calls of a batch, whose rows mostly share them (a sync's
    created_at and updated_at, zero values)."""
    names = names or LinkNames.of([customer])
    shown = {} if shown is None else shown
    values = list(_customer_values(customer))
    for i, places in _customer_formats():
        value = values[i]
        if value is None:
            continue
        # Equal times with equal offsets are written alike; equal decimals of one field too.
        key = (i, value, value.utcoffset() if places is None else None)
        found = shown.get(key)
        if found is None:
            found = shown[key] = (
                outbox.api_time(value) if places is None else format(Decimal(value), f".{places}f")
            )
        values[i] = found
    data = dict(zip(CUSTOMER_FIELDS, values, strict=True))
    data["account"] = names.accounts.get(customer.account_id)
    data["tier"] = names.tiers.get(customer.tier_id)
    data["owner"] = names.owners.get(customer.owner_id)
    # As Customer.consents() has it, without working out the channels again for every row.
    data["consents"] = dict(zip(_CHANNELS, _consent_values(customer), strict=True))
    data["topics"] = names.topics.get(customer.pk, [])
    return data


class LinkNames:
    """What the API shows of customers' links (account name, tier slug, owner username), read
    from the rows in hand where they are loaded and in one small query per kind where not."""

    def __init__(self) -> None:
        self.accounts: dict[int | None, str] = {}
        self.tiers: dict[int | None, str] = {}
        self.owners: dict[int | None, str] = {}
        self.topics: dict[int, list[int]] = {}

    @classmethod
    def of(cls, customers: Sequence[Customer]) -> "LinkNames":
        names = cls()
        missing: dict[str, set[int]] = {"account": set(), "tier": set(), "owner": set()}
        known = {"account": names.accounts, "tier": names.tiers, "owner": names.owners}
        shown = {"account": "name", "tier": "slug", "owner": "username"}
        fields = {link: Customer._meta.get_field(link) for link in known}
        for customer in customers:
            for link, found in known.items():
                pk = getattr(customer, f"{link}_id")
                if pk is None or pk in found:
                    continue
                if fields[link].is_cached(customer):
                    found[pk] = getattr(getattr(customer, link), shown[link])
                else:
                    missing[link].add(pk)
        for link, pks in missing.items():
            if pks:
                model = Customer._meta.get_field(link).related_model
                rows = model._default_manager.filter(pk__in=pks).values_list("pk", shown[link])
                known[link].update(rows)
        for customer_id, topic_id in _chosen_topics([c.pk for c in customers]):
            names.topics.setdefault(customer_id, []).append(topic_id)
        return names


def _chosen_topics(customer_ids: list[int]) -> list[tuple[int, int]]:
    """(customer id, topic id) of the topics these customers chose, in the API's order (by
    name), in one query. On PostgreSQL the ids go as one array: Django's IN of 1,000
    parameters took longer to build than the query took to run."""
    through = Customer.topics.through
    if connection.vendor != "postgresql":
        chosen = through.objects.filter(customer_id__in=customer_ids)
        return list(
            chosen.order_by("topic__name", "topic_id").values_list("customer_id", "topic_id")
        )
    topics = Customer.topics.field.related_model._meta.db_table
    sql = (
        f"SELECT c.customer_id, c.topic_id FROM {through._meta.db_table} c "  # noqa: S608 - names are ours
        f"JOIN {topics} t ON t.id = c.topic_id WHERE c.customer_id = ANY(%s) "
        "ORDER BY t.name, c.topic_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [customer_ids])
        return [(customer_id, topic_id) for customer_id, topic_id in cursor.fetchall()]


def record_data(kind: str, record: Model, fields: Sequence[str] | None = None) -> dict[str, Any]:
    """An interaction, complaint, purchase, follow-up, reward line or referral (or another
    app's record, its `fields` given) as its API shows it: people by username, other links by
    id."""
    data: dict[str, Any] = {}
    for name in fields or RECORD_FIELDS[kind]:
        field = record._meta.get_field(name)
        if field.is_relation and field.related_model is get_user_model():
            person = getattr(record, name)
            data[name] = person.username if person is not None else None
        elif field.is_relation:
            data[name] = getattr(record, field.attname)
        else:
            data[name] = _shown(type(record), name, getattr(record, name))
    return data


_CHANNELS = tuple(Channel.values)

# What a value refresh may change of the customer as the API shows it.
REFRESHED_FIELDS = (
    "lifetime_value",
    "predicted_value_12m",
    "share_of_wallet",
    "churn_risk",
    "churn_reasons",
    "bond_stage",
    "tier_id",
)


def refreshed_state(customer: Customer) -> tuple:
    """The customer's refreshed figures as the API shows them (decimals to their places), to
    tell whether a refresh changed what a subscriber sees."""
    places = _customer_decimals()
    return tuple(
        format(Decimal(value), f".{places[name]}f")
        if name in places and value is not None
        else value
        for name in REFRESHED_FIELDS
        for value in [getattr(customer, name)]
    )


_customer_values = attrgetter(*CUSTOMER_FIELDS)
_consent_values = attrgetter(*(f"consent_{channel}" for channel in _CHANNELS))


@cache
def _customer_formats() -> list[tuple[int, int | None]]:
    """The positions in CUSTOMER_FIELDS of the values written otherwise than JSON would: a
    decimal with its places, a time (None) as the API writes it."""
    formats: list[tuple[int, int | None]] = []
    for i, name in enumerate(CUSTOMER_FIELDS):
        field = Customer._meta.get_field(name)
        if isinstance(field, DecimalField):
            formats.append((i, field.decimal_places))
        elif isinstance(field, DateTimeField):
            formats.append((i, None))
    return formats


@cache
def _customer_decimals() -> dict[str, int]:
    """The customer's decimal fields the payload shows and their places, looked up once."""
    fields = (Customer._meta.get_field(name) for name in CUSTOMER_FIELDS)
    return {f.name: f.decimal_places for f in fields if isinstance(f, DecimalField)}


def _shown(model: type[Model], name: str, value: Any) -> Any:
    """A decimal with its column's places, as the API writes it (0 is "0.00")."""
    field = model._meta.get_field(name)
    if isinstance(field, DecimalField) and value is not None:
        return format(Decimal(value), f".{field.decimal_places}f")
    return value


def customers_changed(
    type: str, customers: Sequence[Customer], *, now: datetime | None = None
) -> None:
    """customer.created / customer.updated for each customer as it now stands, in one insert
    (and a small read of the links' names that are not in hand)."""
    if not customers:
        return
    names = LinkNames.of(customers)
    shown: dict = {}
    # A generator, not a list: each record is encoded and let go before the next is built, so
    # a batch never holds all its dicts at once.
    outbox.publish_many(type, ((c.pk, customer_data(c, names, shown)) for c in customers), now=now)


def customers_deleted(
    rows: Sequence[tuple[int, str | None]], *, now: datetime | None = None
) -> None:
    """customer.deleted for each (id, external id) deleted at `now`, in one insert."""
    now = now or timezone.now()
    outbox.publish_many(
        "customer.deleted",
        [
            (pk, {"id": pk, "external_id": external_id, "deleted_at": now})
            for pk, external_id in rows
        ],
        now=now,
    )


def records_logged(
    type: str, kind: str, records: Sequence[Model], *, now: datetime | None = None
) -> None:
    """interaction.logged, complaint.opened, purchase.recorded, follow_up.created …"""
    outbox.publish_many(
        type,
        [(getattr(record, "customer_id", None), record_data(kind, record)) for record in records],
        now=now,
    )


def reward_written(entry: Model, *, now: datetime | None = None) -> None:
    """reward.earned, .redeemed, .expired or .reversed for a new line of the ledger."""
    outbox.publish(
        f"reward.{entry.movement}",  # type: ignore[attr-defined]
        record_data("reward", entry),
        customer_id=entry.customer_id,  # type: ignore[attr-defined]
        now=now,
    )


def referral_moved(type: str, referral: Model, *, now: datetime | None = None) -> None:
    """referral.signed_up or referral.converted, in the referrer's run of events."""
    outbox.publish(
        type,
        record_data("referral", referral),
        customer_id=referral.referrer_id,  # type: ignore[attr-defined]
        now=now,
    )


def tier_changes(changes: Sequence[Any], *, now: datetime | None = None) -> None:
    """tier.changed for each TierChange (its tiers loaded)."""
    outbox.publish_many(
        "tier.changed",
        [
            (
                change.customer_id,
                {
                    "id": change.pk,
                    "customer": change.customer_id,
                    "from_tier": change.from_tier.slug if change.from_tier else None,
                    "to_tier": change.to_tier.slug,
                    "direction": change.direction,
                    "reason": change.reason,
                    "rule": change.rule,
                    "changed_at": change.changed_at,
                },
            )
            for change in changes
        ],
        now=now,
    )
