"""The lift of each program over the page's windows, computed by beat and read as one row.

At a million customers the lift reads every enrollment, purchase and tier change of a program
(seconds); like the dashboard's tallies, beat computes it every few minutes and the page and
the API read the stored figures (one query whatever the size). A window no tally holds, or a
program beat has not reached yet, is computed live; the figures say when they were computed.
"""

import dataclasses
from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from programs.lift_figures import Lift, Outcome, program_lift
from programs.models import Enrollment, LiftTally, Program

# The windows the Lift page offers.
TALLIED_WINDOWS = (30, 60, 90, 180, 365)


def _stored(figures: Lift) -> dict:
    data = dataclasses.asdict(figures)
    data.pop("program")
    return data


def _loaded(program: Program, data: dict) -> Lift:
    outcomes = [Outcome(**outcome) for outcome in data.pop("outcomes")]
    return Lift(program=program, outcomes=outcomes, **data)


def refresh(*, now: datetime | None = None) -> int:
    """Compute and store the lift of every program holding anyone out; returns how many rows."""
    now = now or timezone.now()
    held = Enrollment.objects.filter(program=OuterRef("pk"), group=Enrollment.Group.HOLDOUT)
    programs = Program.objects.filter(Q(holdout_share__gt=0) | Exists(held))
    written = 0
    for program in programs:
        for window in TALLIED_WINDOWS:
            figures = program_lift(program, window_days=window, now=now)
            LiftTally.objects.update_or_create(
                program=program,
                window_days=window,
                defaults={"figures": _stored(figures), "computed_at": now},
            )
            written += 1
    return written


def lift_of(program: Program, *, window_days: int) -> tuple[Lift, datetime | None]:
    """The program's lift over the window and when it was computed (None: live, just now)."""
    tally = LiftTally.objects.filter(program=program, window_days=window_days).first()
    if tally is None:
        return program_lift(program, window_days=window_days), None
    return _loaded(program, dict(tally.figures)), tally.computed_at
