"""Reads of a step's A/B test: each variant's sends and responses, and the verdict."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q
from django.db.models.functions import TruncDate

from customers.models import Purchase
from programs import variants
from programs.models import SENT_STATES, Step, StepVariant, Touch


@dataclass(frozen=True)
class VariantRow:
    variant: StepVariant
    tally: variants.Tally
    standing: variants.Standing


@dataclass(frozen=True)
class VariantTest:
    rows: list[VariantRow]
    winner: StepVariant | None
    promoted: StepVariant | None
    collecting: bool
    minimum: int


def minimum_sends() -> int:
    return settings.AB_TEST_MINIMUM_SENDS


def variant_test(step: Step, all_variants: list[StepVariant] | None = None) -> VariantTest:
    """Each variant's funnel (2 queries, 1 given the variants, whatever the number of touches).

    A response is a click, a survey answer or a logged reply (the touch's responded_at), or a
    purchase from the day of the send to the step's response window after it."""
    if all_variants is None:
        all_variants = list(step.variants.order_by("position"))
    window = timedelta(days=step.response_window_days)
    bought = Purchase.objects.filter(
        customer_id=OuterRef("customer_id"),
        purchased_on__gte=OuterRef("sent_on"),
        purchased_on__lte=OuterRef("window_ends_on"),
    )
    counted = (
        Touch.objects.filter(step=step, status__in=SENT_STATES, variant__isnull=False)
        .alias(
            sent_on=TruncDate("sent_at"),
            window_ends_on=TruncDate(
                ExpressionWrapper(F("sent_at") + window, output_field=DateTimeField())
            ),
        )
        .values("variant_id")
        .annotate(
            sends=Count("id"),
            responses=Count("id", filter=Q(responded_at__isnull=False) | Q(Exists(bought))),
        )
    )
    by_variant = {row["variant_id"]: row for row in counted}
    tallies = [
        variants.Tally(
            sends=by_variant.get(v.pk, {}).get("sends", 0),
            responses=by_variant.get(v.pk, {}).get("responses", 0),
        )
        for v in all_variants
    ]
    minimum = minimum_sends()
    judged = variants.verdict(tallies, minimum=minimum)
    rows = [
        VariantRow(v, t, s) for v, t, s in zip(all_variants, tallies, judged.standings, strict=True)
    ]
    promoted = next((v for v in all_variants if v.promoted_at), None)
    winner = all_variants[judged.winner] if judged.winner is not None else None
    return VariantTest(rows, winner, promoted, judged.collecting, minimum)
