"""What the customers app tells webhook subscribers: each record as the API shows it, written
to the outbox (webhooks.outbox) inside the transaction of the change, so the two commit together.

Plain functions rather than the API's serializers: the services call these, and the API module
imports the services.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model

from customers.models import Customer
from webhooks import outbox

# The customer as the API shows it (customers/api.py: CustomerSerializer).
CUSTOMER_FIELDS = (
    "id",
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "audience",
    "relationship",
    "partner_kind",
    "bond_stage",
    "preferred_channel",
    "timezone",
    "email_suspended_reason",
    "email_suspended_at",
    "estimated_wallet",
    "postal_address",
    "lifetime_value",
    "predicted_value_12m",
    "share_of_wallet",
    "churn_risk",
    "churn_reasons",
    "nps_latest",
    "created_at",
    "updated_at",
)

# The other records, each as its API shows it.
RECORD_FIELDS = {
    "interaction": (
        "id",
        "customer",
        "author",
        "channel",
        "direction",
        "occurred_at",
        "summary",
        "notes",
        "sentiment",
        "follow_up_on",
        "created_at",
    ),
    "complaint": (
        "id",
        "customer",
        "category",
        "severity",
        "description",
        "owner",
        "status",
        "opened_at",
        "resolution",
        "resolved_at",
        "updated_at",
    ),
    "purchase": (
        "id",
        "customer",
        "external_id",
        "amount",
        "currency",
        "purchased_on",
        "product_category",
        "created_at",
    ),
    "follow_up": (
        "id",
        "customer",
        "assignee",
        "due_at",
        "reason",
        "notes",
        "source",
        "done_at",
        "done_by",
        "created_at",
        "updated_at",
    ),
}


def customer_data(customer: Customer) -> dict[str, Any]:
    """A customer as GET /api/v1/customers/{id}/ shows it."""
    data = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
    data["account"] = customer.account.name if customer.account_id else None
    data["tier"] = customer.tier.slug if customer.tier_id else None
    data["owner"] = customer.owner.username if customer.owner_id else None
    data["consents"] = customer.consents()
    return data


def record_data(kind: str, record: Model) -> dict[str, Any]:
    """An interaction, complaint, purchase or follow-up as its API shows it: people by
    username, other links by id."""
    data: dict[str, Any] = {}
    for name in RECORD_FIELDS[kind]:
        field = record._meta.get_field(name)
        if field.is_relation and field.related_model is get_user_model():
            person = getattr(record, name)
            data[name] = person.username if person is not None else None
        elif field.is_relation:
            data[name] = getattr(record, field.attname)
        else:
            data[name] = getattr(record, name)
    return data


def customers_changed(
    type: str, customer_ids: Iterable[int], *, now: datetime | None = None
) -> None:
    """customer.created / customer.updated for each customer as it now stands: one read with
    what the API shows of its links, one insert."""
    written = Customer.objects.select_related("account", "tier", "owner").filter(
        pk__in=list(customer_ids)
    )
    outbox.publish_many(type, [(c.pk, customer_data(c)) for c in written.order_by("pk")], now=now)


def records_logged(
    type: str, kind: str, records: Sequence[Model], *, now: datetime | None = None
) -> None:
    """interaction.logged, complaint.opened, purchase.recorded, follow_up.created …"""
    outbox.publish_many(
        type,
        [(getattr(record, "customer_id", None), record_data(kind, record)) for record in records],
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
