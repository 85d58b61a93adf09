"""The lift of each program over the page's windows, computed by beat and read as one row.

At a million customers the lift reads every enrollment, purchase and tier change of a program
(minutes per program); like the dashboard's tallies, beat computes it every few minutes and the
page and the API read the stored figures (one query whatever the size). A window no tally holds,
or a program beat has not reached yet, is computed live; the figures say when they were computed.

Each round refreshes the programs whose figures are oldest first and stops once
LIFT_TALLY_BUDGET_SECONDS are spent, so many programs share the rounds instead of one round
overrunning into the next.
"""

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, F, Min, OuterRef, Q, Subquery
from django.utils import timezone

from programs import global_lift
from programs.global_lift import GlobalLift
from programs.lift_figures import (
    DEFAULT_WINDOW_DAYS,
    Lift,
    Outcome,
    Ranked,
    program_lift,
    ranked_order,
    ranking,
)
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


def refresh(
    *,
    now: datetime | None = None,
    budget_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Compute and store the lift of the programs holding anyone out, never tallied or oldest
    first, until the budget is spent (at least one program a round); returns how many rows."""
    now = now or timezone.now()
    budget = settings.LIFT_TALLY_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    held = Enrollment.objects.filter(program=OuterRef("pk"), group=Enrollment.Group.HOLDOUT)
    oldest = (
        LiftTally.objects.filter(program=OuterRef("pk"))
        .values("program")
        .annotate(at=Min("computed_at"))
        .values("at")
    )
    programs = (
        Program.objects.filter(Q(holdout_share__gt=0) | Exists(held))
        .annotate(tallied_at=Subquery(oldest))
        .order_by(F("tallied_at").asc(nulls_first=True), "pk")
    )
    started = clock()
    written = 0
    for program in programs:
        if written and clock() - started >= budget:
            break
        for window in TALLIED_WINDOWS:
            figures = program_lift(program, window_days=window, now=now)
            LiftTally.objects.update_or_create(
                program=program,
                window_days=window,
                defaults={"figures": _stored(figures), "computed_at": now},
            )
            written += 1
    return written


# Held while a round runs: one program alone may outlast beat's period, and two rounds at once
# would compute the same figures twice. A killed worker's key lapses after an hour.
ROUND_KEY = "programs:lift-tally-round"


# All programs against the global control group (the dashboard's line), as the last round
# computed it; kept a day so a stopped beat shows its age rather than old figures for ever.
GLOBAL_KEY = "programs:global-lift"


def refresh_round() -> int:
    """One of beat's rounds, unless the last one is still running (then nothing)."""
    if not cache.add(ROUND_KEY, 1, timeout=3600):
        return 0
    try:
        now = timezone.now()
        cache.set(GLOBAL_KEY, (global_lift.all_programs(now=now), now), timeout=86400)
        return refresh(now=now)
    finally:
        cache.delete(ROUND_KEY)


def global_lift_of() -> tuple[GlobalLift | None, datetime | None]:
    """All programs against the global control group and when that was computed; counted live
    (None: just now) until beat's first round."""
    stored = cache.get(GLOBAL_KEY)
    if stored is None:
        return global_lift.all_programs(), None
    return stored


def lift_of(program: Program, *, window_days: int) -> tuple[Lift, datetime | None]:
    """The program's lift over the window and when it was computed (None: live, just now)."""
    tally = LiftTally.objects.filter(program=program, window_days=window_days).first()
    if tally is None:
        return program_lift(program, window_days=window_days), None
    return _loaded(program, dict(tally.figures)), tally.computed_at


def dashboard_ranking() -> list[Ranked]:
    """The dashboard's ranking of programs by lift (default window): from the tallies, and live
    only for programs beat has not reached yet; three queries whatever the size."""
    tallies = list(
        LiftTally.objects.filter(window_days=DEFAULT_WINDOW_DAYS).select_related("program")
    )
    ranked = []
    for tally in tallies:
        figures = _loaded(tally.program, dict(tally.figures))
        outcomes = {outcome.metric: outcome for outcome in figures.outcomes}
        if figures.control_customers and figures.treated_customers:
            ranked.append(
                Ranked(
                    program=tally.program,
                    treated_customers=figures.treated_customers,
                    control_customers=figures.control_customers,
                    spend=outcomes["spend_per_customer"],
                    promoted=outcomes["promoted_rate"],
                )
            )
    return ranked_order(ranked + ranking(exclude={t.program_id for t in tallies}))
