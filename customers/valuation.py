"""The value refresh: value figures, tier and bond stage for one customer, a batch or everyone."""

import json
import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from customers import announce, churn, placement, rule_facts, value
from customers.models import Customer, Tier, ValueModel

logger = logging.getLogger(__name__)


def _value_fields(
    customer: Customer, facts: rule_facts.CustomerFacts, forecast: value.ValueForecast, index: int
) -> dict[str, Any]:
    """The stored value figures for one customer, from its facts and the forecast row."""
    alive = forecast.probability_alive[index]
    alive = None if np.isnan(alive) else float(alive)
    churn_facts = facts.churn
    if alive is not None:
        churn_facts = churn.ChurnFacts(**{**churn_facts.__dict__, "probability_alive": alive})
    risk = churn.churn_risk(churn_facts)
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


def _histories(facts: list[rule_facts.CustomerFacts], today: date) -> dict[str, np.ndarray]:
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


def refresh_customer(*, customer: Customer, now: datetime | None = None) -> None:
    """Re-run the ladder rules and recompute the value figures for one customer after an event
    (as of `now`: its day counts for the rules, its time for the moves)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    facts = rule_facts.gather_facts([customer], today=today)[customer.pk]
    model = ValueModel.objects.order_by("-fitted_at").first()
    forecast = value.predicted_value_12m(
        **_histories([facts], today),
        bg_nbd=model.bg_nbd if model else None,
        gamma_gamma=model.gamma_gamma if model else None,
        min_repeat_customers=0 if model else value.MIN_REPEAT_CUSTOMERS,
    )
    fields = _value_fields(customer, facts, forecast, 0)
    fields["value_refreshed_at"] = now
    before = announce.refreshed_state(customer)
    Customer.objects.filter(pk=customer.pk).update(**fields)
    for name, field_value in fields.items():
        setattr(customer, name, field_value)
    placement._place(customer, facts, list(Tier.objects.order_by("rank")), now)
    if announce.refreshed_state(customer) != before:
        announce.customers_changed("customer.updated", [customer], now=now)


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
            # The owner's and account's names are in hand for the events of those who move.
            .select_related("tier", "highest_tier", "owner", "account")
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
    facts = rule_facts.gather_facts(batch, today=today)
    ordered = [facts[c.pk] for c in batch]
    forecast = value.predicted_value_12m(
        **_histories(ordered, today),
        bg_nbd=model.bg_nbd if model else None,
        gamma_gamma=model.gamma_gamma if model else None,
        min_repeat_customers=0 if model else value.MIN_REPEAT_CUSTOMERS,
    )
    now = timezone.now()
    before = {customer.pk: announce.refreshed_state(customer) for customer in batch}
    for index, customer in enumerate(batch):
        for name, field_value in _value_fields(customer, ordered[index], forecast, index).items():
            setattr(customer, name, field_value)
        customer.value_refreshed_at = now
    _store_values(batch)
    for customer in batch:
        placement._place(customer, facts[customer.pk], tiers, now)
    # Subscribers hear of the customers whose figures, tier or bond stage moved, in one insert.
    changed = [c for c in batch if announce.refreshed_state(c) != before[c.pk]]
    announce.customers_changed("customer.updated", changed, now=now)


VALUE_FIELDS = (
    "lifetime_value",
    "predicted_value_12m",
    "probability_alive",
    "share_of_wallet",
    "churn_risk",
    "churn_reasons",
    "value_method",
    "first_purchase_on",
    "last_purchase_on",
    "value_refreshed_at",
)


def _store_values(batch: list[Customer]) -> None:
    """Write the value figures of a batch in one statement.

    On PostgreSQL an UPDATE ... FROM (VALUES ...) is one pass; bulk_update's CASE per field
    and row grows quadratically and took seconds per 2,000 customers.
    """
    if connection.vendor != "postgresql":
        Customer.objects.bulk_update(batch, VALUE_FIELDS)
        return
    casts = {
        "lifetime_value": "numeric",
        "predicted_value_12m": "numeric",
        "probability_alive": "double precision",
        "share_of_wallet": "numeric",
        "churn_risk": "smallint",
        "churn_reasons": "jsonb",
        "value_method": "varchar",
        "first_purchase_on": "date",
        "last_purchase_on": "date",
        "value_refreshed_at": "timestamptz",
    }
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
    histories = rule_facts.purchase_histories(today=today)
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


def refresh_customers(*, customer_ids: list[int]) -> int:
    """Refresh value, tier and bond stage for these customers, in one batch."""
    today = timezone.localdate()
    batch = list(
        Customer.objects.filter(pk__in=customer_ids, deleted_at__isnull=True).select_related(
            "tier", "highest_tier", "owner", "account"
        )
    )
    if batch:
        model = ValueModel.objects.order_by("-fitted_at").first()
        _refresh_batch(batch, today=today, model=model, tiers=list(Tier.objects.order_by("rank")))
    return len(batch)
