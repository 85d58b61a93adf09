"""A/B variants of a step: saving them, the content a send takes, and promoting the winner."""

import copy
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from programs import variant_figures, variants
from programs.models import Step, StepVariant

CONTENT_FIELDS = ("email_subject", "email_body", "sms_body")


class AlreadyPromoted(Exception):
    """The step's test is over: a winner was promoted before."""


@dataclass(frozen=True)
class VariantData:
    """What a marketer sets for one variant."""

    label: str
    weight: int
    email_subject: str = ""
    email_body: str = ""
    sms_body: str = ""


def content_for(*, step: Step, customer_id: int) -> tuple[Step, int | None]:
    """The step as this customer's variant says it, and the variant's id (the step itself and
    None when no variant is running)."""
    running = list(step.variants.filter(stopped_at__isnull=True).order_by("position"))
    if len(running) < variants.MIN_VARIANTS:
        return step, None
    index = variants.choose(
        [v.weight for v in running],
        salt=step.program.holdout_salt,
        step_id=step.pk,
        customer_id=customer_id,
    )
    chosen = running[index]
    shown = copy.copy(step)
    for name in CONTENT_FIELDS:
        if getattr(chosen, name):
            setattr(shown, name, getattr(chosen, name))
    return shown, chosen.pk


@transaction.atomic
def save_variants(*, step: Step, rows: list[VariantData]) -> list[StepVariant]:
    """Replace the step's running variants with these (none, or 2 to 4).

    Variants that went out keep their rows (and their touches); a variant is matched by its
    position, so editing its content changes what later sends say."""
    step = Step.objects.select_for_update().get(pk=step.pk)
    existing = {v.position: v for v in step.variants.all()}
    if any(v.promoted_at for v in existing.values()):
        raise ValidationError(gettext("A winner was promoted: this step's test is over."))
    if rows and not variants.MIN_VARIANTS <= len(rows) <= variants.MAX_VARIANTS:
        raise ValidationError(
            gettext("A test has %(least)s to %(most)s variants, not %(count)s.")
            % {"least": variants.MIN_VARIANTS, "most": variants.MAX_VARIANTS, "count": len(rows)}
        )
    kept = []
    for position, row in enumerate(rows, start=1):
        variant = existing.pop(position, None) or StepVariant(step=step, position=position)
        for name in ("label", "weight", *CONTENT_FIELDS):
            setattr(variant, name, getattr(row, name))
        variant.stopped_at = None
        variant.full_clean(exclude=["step"])
        variant.save()
        kept.append(variant)
    for leftover in existing.values():
        if leftover.touches.exists():
            leftover.stopped_at = leftover.stopped_at or timezone.now()
            leftover.save(update_fields=["stopped_at"])
        else:
            leftover.delete()
    Step.objects.filter(pk=step.pk).update(testing_variants=bool(kept))
    return kept


@transaction.atomic
def promote(*, step: Step, variant_id: int, force: bool = False) -> StepVariant:
    """The winner's content becomes the step's; the other variants stop, their history kept.

    Only the variant the test names as winner, unless `force`: the page and the API share
    this rule, so a marketer overrides the statistics knowingly, never by a stale form."""
    step = Step.objects.select_for_update().get(pk=step.pk)
    every = list(step.variants.order_by("position"))
    if any(v.promoted_at for v in every):
        raise AlreadyPromoted(
            gettext("A variant of “%(step)s” was promoted already.") % {"step": step.name}
        )
    winner = next((v for v in every if v.pk == variant_id and v.stopped_at is None), None)
    if winner is None:
        raise ValidationError(gettext("No running variant of this step has that id."))
    if not force:
        named = variant_figures.variant_test(step, every).winner
        if named is None or named.pk != winner.pk:
            raise ValidationError(
                gettext("“%(label)s” is not the test's named winner; promote it anyway with force.")
                % {"label": winner.label}
            )
    now = timezone.now()
    step.variants.filter(stopped_at__isnull=True).exclude(pk=winner.pk).update(stopped_at=now)
    winner.promoted_at = winner.stopped_at = now
    winner.save(update_fields=["promoted_at", "stopped_at"])
    for name in CONTENT_FIELDS:
        if getattr(winner, name):
            setattr(step, name, getattr(winner, name))
    step.testing_variants = False
    step.save(update_fields=[*CONTENT_FIELDS, "testing_variants"])
    return winner
