"""Merging two records of one customer into one."""

import logging

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from customers import activity, announce, timeline, valuation
from customers.models import (
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
    StaticListMember,
    TierChange,
    TimelineEntry,
    ValueAnswer,
)
from customers.sayings import said
from customers.signals import customers_merged
from webhooks import outbox

logger = logging.getLogger(__name__)


# Fields a merge fills on the survivor from the merged record when the survivor has none.
MERGE_FILLED_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "postal_address",
    "account_id",
    "owner_id",
    "timezone",
    "language",
    "partner_kind",
    "external_id",
)


# Every table of this app that points at a customer, and the column that does.
MERGE_MOVED = (
    (Interaction, "customer"),
    (Complaint, "customer"),
    (Purchase, "customer"),
    (Contract, "customer"),
    (Referral, "referrer"),
    (Referral, "referred_customer"),
    (Reward, "customer"),
    (FollowUp, "customer"),
    (ConsentChange, "customer"),
    (TierChange, "customer"),
    (BondChange, "customer"),
    (TimelineEntry, "customer"),
    (ValueAnswer, "customer"),
)


@transaction.atomic
def merge_customers(*, survivor: Customer, merged: Customer, by: User | None) -> Customer:
    """Fold `merged` into `survivor`: every record moves, blanks are filled from the richer
    record, and `merged` stays as a tombstone pointing at the survivor so sync clients learn it."""
    survivor, merged = (
        Customer.objects.select_for_update().get(pk=survivor.pk),
        Customer.objects.select_for_update().get(pk=merged.pk),
    )
    if survivor.pk == merged.pk:
        raise ValidationError(gettext("A customer cannot be merged with itself."))
    if survivor.deleted_at:
        raise ValidationError(gettext("The surviving customer must be a live one."))
    if merged.merged_into_id:
        raise ValidationError(gettext("That record was already merged into another customer."))
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
        # Records that sync clients page by update time tell them they changed hands.
        stamp = {"updated_at": now} if hasattr(model, "updated_at") else {}
        model.objects.filter(**{column: merged}).update(**{column: survivor}, **stamp)
    # The merged record's open follow-ups (and, when the survivor takes its owner, the
    # survivor's unassigned ones) go to the survivor's owner.
    owner = filled.get("owner_id", survivor.owner_id)
    activity.move_open_follow_ups(
        moves=[(survivor.pk, merged.owner_id, owner), (survivor.pk, survivor.owner_id, owner)]
    )
    # The topics either record chose: the survivor wants news about all of them.
    survivor.topics.add(*merged.topics.all())
    # On the merged record's static lists the survivor takes its place (once on each list).
    on_lists = StaticListMember.objects.filter(customer=survivor).values("static_list")
    StaticListMember.objects.filter(customer=merged).exclude(static_list__in=on_lists).update(
        customer=survivor
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
    timeline.note_on_timeline(
        customer=survivor,
        kind=TimelineEntry.Kind.MERGE,
        **said(gettext_noop("Merged with %(name)s (#%(id)s)"), name=merged, id=merged.pk),
        detail="Filled from the merged record: " + (", ".join(sorted(filled)) or "nothing"),
        actor=by,
        source_id=merged.pk,
    )
    logger.info("customer %s merged into %s", merged.pk, survivor.pk)
    valuation.refresh_customer(customer=survivor)
    survivor.refresh_from_db()
    outbox.publish(
        "customer.merged",
        {
            "survivor": announce.customer_data(survivor),
            "merged": {"id": merged.pk, "external_id": merged.external_id},
        },
        customer_id=survivor.pk,
        now=now,
    )
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
