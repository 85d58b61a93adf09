"""Contracts: what a customer signed, and how each one ended; each one transaction, each on
the timeline (a contract's end anchors a program's renewal step)."""

from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from customers import timeline, valuation
from customers.models import Contract, Customer, TimelineEntry
from customers.sayings import choice, said
from customers.signals import contract_added


@transaction.atomic
def add_contract(
    *,
    customer: Customer,
    title: str,
    starts_on: date,
    ends_on: date,
    value: Decimal = Decimal(0),
    by: User | None = None,
    now: datetime | None = None,
) -> Contract:
    """Record a contract; its end is what the renewal step of a program is anchored to."""
    now = now or timezone.now()
    contract = Contract(
        customer=customer, title=title, starts_on=starts_on, ends_on=ends_on, value=value
    )
    contract.full_clean()
    contract.save()
    transaction.on_commit(lambda: contract_added.send(sender=Contract, contract=contract))
    timeline.note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.CONTRACT,
        **said(
            gettext_noop("Contract: %(title)s (%(starts_on)s to %(ends_on)s)"),
            title=title,
            starts_on=f"{starts_on:%Y-%m-%d}",
            ends_on=f"{ends_on:%Y-%m-%d}",
        ),
        actor=by,
        occurred_at=now,
        source_id=contract.pk,
    )
    valuation.refresh_customer(customer=customer, now=now)
    return contract


@transaction.atomic
def settle_renewal(
    *, contract: Contract, status: str, by: User | None = None, now: datetime | None = None
) -> bool:
    """Record how a pending contract ended: renewed, lapsed or cancelled. False when it was
    settled before (settling twice changes nothing)."""
    if status == Contract.Renewal.PENDING or status not in Contract.Renewal.values:
        raise ValidationError(
            {"status": gettext("Say whether it was renewed, lapsed or cancelled.")}
        )
    now = now or timezone.now()
    settled = Contract.objects.filter(
        pk=contract.pk, renewal_status=Contract.Renewal.PENDING
    ).update(renewal_status=status)
    if not settled:
        return False
    contract.renewal_status = status
    timeline.note_on_timeline(
        customer=contract.customer,
        kind=TimelineEntry.Kind.CONTRACT,
        **said(
            gettext_noop("Contract %(renewal)s: %(title)s"),
            renewal=choice("renewal", status),
            title=contract.title,
        ),
        actor=by,
        occurred_at=now,
        source_id=contract.pk,
    )
    if status == Contract.Renewal.CANCELLED:
        # A cancelled contract no longer counts as active on the ladder.
        valuation.refresh_customer(customer=contract.customer, now=now)
    return True
