"""Writes of the marketers' program pages: retry or dismiss a failed touch, edit programs and
their steps. Plain services like those of services.py, into which they are to be folded."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from customers import rewards
from programs import content
from programs.models import Enrollment, Program, Step, Touch

REWARD_FIELDS = ("kind", "value", "unit")
NEEDS_ATTENTION = [Touch.Status.FAILED, Touch.Status.REVIEW]
# A step whose touches are all in these states can go: nothing was sent or is in flight.
REMOVABLE = [Touch.Status.SCHEDULED, Touch.Status.CANCELLED, Touch.Status.SKIPPED]


@transaction.atomic
def retry_touch(*, touch: Touch) -> bool:
    """Send a failed or review touch again: back to scheduled, due now, with fresh attempts.

    Only from failed or review, by a conditional update: 0 rows means someone else already
    retried or dismissed it. A touch whose enrollment ended cannot be retried (the dispatcher
    would skip it).
    """
    if not Enrollment.objects.filter(
        pk=touch.enrollment_id, status=Enrollment.Status.ACTIVE
    ).exists():
        raise ValidationError(
            gettext("The customer's enrollment has ended: this touch cannot be retried.")
        )
    return bool(
        Touch.objects.filter(pk=touch.pk, status__in=NEEDS_ATTENTION).update(
            status=Touch.Status.SCHEDULED,
            due_at=timezone.now(),
            attempts=0,
            lease_expires_at=None,
        )
    )


@transaction.atomic
def dismiss_touch(*, touch: Touch) -> bool:
    """Give up on a failed or review touch: it is cancelled and leaves the failures list."""
    return bool(
        Touch.objects.filter(pk=touch.pk, status__in=NEEDS_ATTENTION).update(
            status=Touch.Status.CANCELLED
        )
    )


@transaction.atomic
def save_program(*, program: Program, data: dict[str, Any]) -> Program:
    """Create or change a program's settings (name, audience, re-entry, exit rules)."""
    data = dict(data)
    tiers = data.pop("tiers", None)
    for name, value in data.items():
        setattr(program, name, value)
    if program.reentry == Program.Reentry.AFTER_DAYS and not program.reentry_days:
        raise ValidationError(
            {"reentry_days": gettext("Say after how many days a customer may rejoin.")}
        )
    if program.reentry == Program.Reentry.ONCE:
        program.reentry_days = None
    program.full_clean()
    program.save()
    if tiers is not None:
        program.tiers.set(tiers)
    return program


@transaction.atomic
def save_step(*, step: Step, data: dict[str, Any]) -> Step:
    """Create or change a step whose content can be sent on every channel it may use; a new
    one goes last. `reward_kind`, `reward_value` and `reward_unit` (if given) set the step's
    reward rule: no kind and no value switch it off."""
    data = dict(data)
    reward = {
        name: data.pop(f"reward_{name}") for name in REWARD_FIELDS if f"reward_{name}" in data
    }
    for name, value in data.items():
        setattr(step, name, value)
    if step.channel_mode == Step.ChannelMode.FIXED and not step.channel:
        raise ValidationError({"channel": gettext("Choose the channel this step always uses.")})
    problems = content.content_problems(step)
    if problems:
        raise ValidationError(problems)
    if step.pk is None:
        # Lock the program row: two steps added at once must not take the same place.
        Program.objects.select_for_update().filter(pk=step.program_id).first()
        last = Step.objects.filter(program_id=step.program_id).aggregate(last=Max("order"))
        step.order = (last["last"] or 0) + 1
    step.full_clean()
    step.save()
    if reward:
        step.reward_rule = rewards.set_step_rule(rule=step.reward_rule, **reward)
        step.save(update_fields=["reward_rule"])
    return step


@transaction.atomic
def delete_step(*, step: Step) -> int:
    """Remove a step nothing was sent for; its scheduled touches go with it (returns how many).

    The touches are locked first, so the dispatcher (SKIP LOCKED) cannot claim one meanwhile.
    """
    statuses = list(
        Touch.objects.select_for_update().filter(step=step).values_list("status", flat=True)
    )
    started = sum(1 for status in statuses if status not in REMOVABLE)
    if started:
        raise ValidationError(
            ngettext(
                "%(count)s touch of this step was sent or is in flight: the step stays so its "
                "history does. Change its content instead.",
                "%(count)s touches of this step were sent or are in flight: the step stays so "
                "its history does. Change its content instead.",
                started,
            )
            % {"count": started}
        )
    Touch.objects.filter(step=step).delete()  # only unsent ones are left, by the check above
    step.delete()
    return len(statuses)


@transaction.atomic
def delete_program(*, program: Program) -> tuple[int, int]:
    """Delete a program nothing was sent for: its enrollments end and its scheduled touches go
    with it. Returns (active enrollments ended, touches removed).

    The touches are locked first, so the dispatcher (SKIP LOCKED) cannot claim one meanwhile.
    """
    statuses = list(
        Touch.objects.select_for_update()
        .filter(step__program=program)
        .values_list("status", flat=True)
    )
    started = sum(1 for status in statuses if status not in REMOVABLE)
    if started:
        raise ValidationError(
            ngettext(
                "%(count)s touch of this program was sent or is in flight: the program stays so "
                "its history does. Pause it instead (untick Active).",
                "%(count)s touches of this program were sent or are in flight: the program stays "
                "so its history does. Pause it instead (untick Active).",
                started,
            )
            % {"count": started}
        )
    active = Enrollment.objects.filter(program=program, status=Enrollment.Status.ACTIVE).count()
    Touch.objects.filter(step__program=program).delete()  # only unsent ones, by the check above
    program.delete()  # its steps and enrollments go with it
    return active, len(statuses)


@transaction.atomic
def move_step(*, step: Step, up: bool) -> bool:
    """Swap a step with its neighbour above or below; False when it is already at that end."""
    steps = list(
        Step.objects.select_for_update().filter(program_id=step.program_id).order_by("order", "id")
    )
    index = next(i for i, s in enumerate(steps) if s.pk == step.pk)
    other_index = index - 1 if up else index + 1
    if not 0 <= other_index < len(steps):
        return False
    this, other = steps[index], steps[other_index]
    # (program, order) is unique and checked per statement: park one step out of the way.
    parking = max(s.order for s in steps) + 1
    Step.objects.filter(pk=this.pk).update(order=parking)
    Step.objects.filter(pk=other.pk).update(order=this.order)
    Step.objects.filter(pk=this.pk).update(order=other.order)
    return True
