"""Tier administration: the rungs of the ladder."""

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from customers import ladder, queries
from customers.models import Customer, Tier, TierChange


@transaction.atomic
def save_tier(*, tier: Tier, data: dict[str, Any]) -> Tier:
    """Create or change a rung of the ladder (name, colour, rank, description, and its own
    review period: blank keeps the ladder's LADDER_REVIEW_DAYS)."""
    for field in ("rank", "name", "slug", "colour", "description", "review_days"):
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
        raise ValidationError(gettext("The ladder needs at least one rung."))
    why = ladder.because(gettext_noop("%(tier)s was removed from the ladder"), tier=tier.name)
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
                **why,
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
