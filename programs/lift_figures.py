"""Reads for a program's lift: treated against its holdout, per outcome, over a window after
each enrollment. The arithmetic is in programs/lift.py; this module only counts, in SQL.

Each enrollment is one unit, its window running from the enrollment for `window` days. Only
enrollments whose window has ended count; those still in it are counted apart. The global
control group is left out of a program's lift: it also misses every other program.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext_noop

from customers.models import Purchase, Referral, TierChange
from nps.models import Response
from programs import lift
from programs.models import Enrollment, Program

DEFAULT_WINDOW_DAYS = 90
MAX_WINDOW_DAYS = 730
# The churn risk band the customer list calls high (customers/filters.py RISK_BANDS).
HIGH_CHURN_RISK = 67
TREATED = Enrollment.Group.TREATED
CONTROL = Enrollment.Group.HOLDOUT
# Where an outcome comes from and how its interval was made, as the page says it.
# Kept in English (the CSV and the cache hold them); marked so the page can translate them.
NOTES = {
    "purchase_rate": gettext_noop("share with at least one purchase in the window"),
    "spend_per_customer": gettext_noop("mean spend in the window, zeros included"),
    "promoted_rate": gettext_noop(
        "share who moved up at least one rung of the ladder in the window"
    ),
    "churn_rate": gettext_noop(
        "share whose churn risk is in the high band now (no history of it is kept)"
    ),
    "referral_rate": gettext_noop("share who referred someone in the window"),
    "nps": gettext_noop(
        "from relationship surveys sent outside the program, answered in the window"
    ),
}
METHODS = {
    "newcombe": gettext_noop("Newcombe's hybrid score interval"),
    "welch": gettext_noop("Welch's interval"),
    "bootstrap": gettext_noop("percentile bootstrap (skewed and small)"),
}


@dataclass(frozen=True)
class Outcome:
    """One outcome: both groups' values, the difference, its 95 % interval and state."""

    metric: str
    treated: float | None
    control: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    state: str
    method: str
    note: str

    def as_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "treated": self.treated,
            "control": self.control,
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "state": self.state,
        }


@dataclass(frozen=True)
class Lift:
    """A program's lift over a window: who counts, who is still in it, and each outcome."""

    program: Program
    window_days: int
    treated_customers: int
    treated_in_window: int
    control_customers: int
    control_in_window: int
    outcomes: list[Outcome]

    def as_json(self) -> dict[str, Any]:
        return {
            "program": self.program.pk,
            "window_days": self.window_days,
            "holdout_share": self.program.holdout_share,
            "treated": {"customers": self.treated_customers, "in_window": self.treated_in_window},
            "control": {"customers": self.control_customers, "in_window": self.control_in_window},
            "outcomes": [outcome.as_json() for outcome in self.outcomes],
        }


def _in_window(field: str, window: timedelta) -> Q:
    """`field` falls within the window after the outer enrollment."""
    start = OuterRef("enrolled_at")
    return Q(**{f"{field}__gte": start, f"{field}__lt": start + window})


def program_lift(
    program: Program,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
    minimum: int = lift.MINIMUM_PER_GROUP,
) -> Lift:
    """Treated against held out on each outcome, in three queries whatever the size."""
    now = now or timezone.now()
    window = timedelta(days=window_days)
    enrollments = Enrollment.objects.filter(program=program, group__in=[TREATED, CONTROL])
    waiting = dict(
        enrollments.filter(enrolled_at__gt=now - window)
        .order_by()
        .values_list("group")
        .annotate(n=Count("id"))
    )
    ended = enrollments.filter(enrolled_at__lte=now - window)
    purchases = Purchase.objects.filter(
        customer=OuterRef("customer_id"),
        purchased_on__gte=OuterRef("enrolled_at__date"),
        purchased_on__lt=OuterRef("window_end__date"),
    )
    spend = Subquery(
        purchases.order_by().values("customer").annotate(total=Sum("amount")).values("total"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    measured = ended.annotate(
        window_end=F("enrolled_at") + window,
        spend=Cast(Coalesce(spend, Value(0), output_field=DecimalField()), FloatField()),
        bought=Exists(purchases),
        promoted=Exists(
            TierChange.objects.filter(
                _in_window("changed_at", window), customer=OuterRef("customer_id"), direction="up"
            )
        ),
        referred=Exists(
            Referral.objects.filter(
                _in_window("created_at", window), referrer=OuterRef("customer_id")
            )
        ),
        churning=Q(customer__churn_risk__gte=HIGH_CHURN_RISK),
    )
    figures: dict[str, Any] = {}
    for group in (TREATED, CONTROL):
        mine = Q(group=group)
        figures.update(
            {
                f"{group}_n": Count("id", filter=mine),
                f"{group}_bought": Count("id", filter=mine & Q(bought=True)),
                f"{group}_promoted": Count("id", filter=mine & Q(promoted=True)),
                f"{group}_referred": Count("id", filter=mine & Q(referred=True)),
                f"{group}_churning": Count("id", filter=mine & Q(churning=True)),
                f"{group}_spend": Sum("spend", filter=mine),
                f"{group}_spend2": Sum(F("spend") * F("spend"), filter=mine),
                f"{group}_spend3": Sum(F("spend") * F("spend") * F("spend"), filter=mine),
            }
        )
    counts = measured.aggregate(**figures)
    scores = _survey_scores(ended, window)
    outcomes = [
        rate(name, counts, key, minimum)
        for name, key in (
            ("purchase_rate", "bought"),
            ("promoted_rate", "promoted"),
            ("churn_rate", "churning"),
            ("referral_rate", "referred"),
        )
    ]
    outcomes.insert(1, _spend(program, counts, ended, window, minimum))
    outcomes.append(_nps(scores, minimum))
    return Lift(
        program=program,
        window_days=window_days,
        treated_customers=counts[f"{TREATED}_n"],
        treated_in_window=waiting.get(TREATED, 0),
        control_customers=counts[f"{CONTROL}_n"],
        control_in_window=waiting.get(CONTROL, 0),
        outcomes=outcomes,
    )


def rate(name: str, counts: dict[str, Any], key: str, minimum: int) -> Outcome:
    n1, n2 = counts[f"{TREATED}_n"], counts[f"{CONTROL}_n"]
    if not n1 or not n2:
        return _nothing(name, "collecting", NOTES[name])
    x1, x2 = counts[f"{TREATED}_{key}"], counts[f"{CONTROL}_{key}"]
    interval = lift.proportion_difference(
        treated_successes=x1, treated_n=n1, control_successes=x2, control_n=n2
    )
    return _outcome(name, x1 / n1, x2 / n2, interval, n1, n2, minimum)


def _spend(
    program: Program, counts: dict[str, Any], ended, window: timedelta, minimum: int
) -> Outcome:
    name = "spend_per_customer"
    treated, control = (
        lift.Moments(
            n=counts[f"{group}_n"],
            total=counts[f"{group}_spend"] or 0.0,
            total_squares=counts[f"{group}_spend2"] or 0.0,
            total_cubes=counts[f"{group}_spend3"] or 0.0,
        )
        for group in (TREATED, CONTROL)
    )
    if treated.n < 2 or control.n < 2:
        return _nothing(name, "collecting", NOTES[name])
    if lift.needs_bootstrap(treated, control):
        # Only small groups get here (Cochran's rule), so reading their values is cheap.
        values = _spends(ended, window)
        interval = lift.bootstrap(
            np.array(values.get(TREATED, []), dtype=np.float64),
            np.array(values.get(CONTROL, []), dtype=np.float64),
            seed=program.pk,
        )
    else:
        interval = lift.welch(treated, control)
    return _outcome(name, treated.mean, control.mean, interval, treated.n, control.n, minimum)


def _spends(ended, window: timedelta) -> dict[str, list[float]]:
    """Each ended enrollment's spend in its window, by group (for the bootstrap)."""
    purchases = Purchase.objects.filter(
        customer=OuterRef("customer_id"),
        purchased_on__gte=OuterRef("enrolled_at__date"),
        purchased_on__lt=OuterRef("window_end__date"),
    )
    spend = Subquery(
        purchases.order_by().values("customer").annotate(total=Sum("amount")).values("total"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    rows = ended.annotate(
        window_end=F("enrolled_at") + window,
        spend=Coalesce(spend, Value(0), output_field=DecimalField()),
    ).values_list("group", "spend")
    values: dict[str, list[float]] = {}
    for group, amount in rows:
        values.setdefault(group, []).append(float(amount))
    return values


def _survey_scores(ended, window: timedelta) -> dict[str, dict[str, int]]:
    """Answers to surveys sent outside any program touch, in each enrollment's window, by
    group: count, promoters and detractors."""
    answers = Response.objects.filter(
        _in_window("answered_at", window),
        customer=OuterRef("customer_id"),
        invitation__touch_id__isnull=True,
    )
    score = Subquery(
        answers.order_by("-answered_at").values("score")[:1], output_field=IntegerField()
    )
    rows = (
        ended.annotate(score=score)
        .filter(score__isnull=False)
        .order_by()
        .values("group")
        .annotate(
            n=Count("id"),
            promoters=Count("id", filter=Q(score__gte=9)),
            detractors=Count("id", filter=Q(score__lte=6)),
        )
    )
    return {row["group"]: row for row in rows}


def _nps(scores: dict[str, dict[str, int]], minimum: int) -> Outcome:
    name = "nps"
    if TREATED not in scores or CONTROL not in scores:
        return _nothing(name, "collecting", "no survey both groups could answer: nothing shown")
    groups = []
    for group in (TREATED, CONTROL):
        row = scores[group]
        # Each answer scores +100, 0 or -100: the NPS is their mean.
        groups.append(
            lift.Moments(
                n=row["n"],
                total=100.0 * (row["promoters"] - row["detractors"]),
                total_squares=10_000.0 * (row["promoters"] + row["detractors"]),
            )
        )
    treated, control = groups
    if treated.n < 2 or control.n < 2:
        return _nothing(name, "collecting", NOTES[name])
    interval = lift.welch(treated, control)
    return _outcome(name, treated.mean, control.mean, interval, treated.n, control.n, minimum)


def _outcome(
    name: str,
    treated: float,
    control: float,
    interval: lift.Interval,
    n1: int,
    n2: int,
    minimum: int,
) -> Outcome:
    return Outcome(
        metric=name,
        treated=treated,
        control=control,
        difference=interval.difference,
        ci_low=interval.low,
        ci_high=interval.high,
        state=lift.state_of(interval, treated_n=n1, control_n=n2, minimum=minimum),
        method=METHODS[interval.method],
        note=NOTES[name],
    )


def _nothing(name: str, state: str, note: str) -> Outcome:
    return Outcome(name, None, None, None, None, None, state, "", note)


@dataclass(frozen=True)
class Ranked:
    """A program's lift in spend and in promotions, for the dashboard's ranking."""

    program: Program
    treated_customers: int
    control_customers: int
    spend: Outcome
    promoted: Outcome


def ranking(
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
    minimum: int = lift.MINIMUM_PER_GROUP,
    exclude: Collection[int] = (),
) -> list[Ranked]:
    """Every program with a holdout (but those in `exclude`), ranked by its lift in spend per
    customer, then in promotions; at most three queries whatever the number of programs and
    customers."""
    now = now or timezone.now()
    window = timedelta(days=window_days)
    # Only programs holding someone out have a lift: found by probing the held-out index, so
    # a program without a control group costs no pass over its treated customers' purchases.
    holding_out = list(
        Program.objects.filter(
            Exists(Enrollment.objects.filter(program=OuterRef("pk"), group=CONTROL))
        )
        .exclude(pk__in=list(exclude))
        .values_list("pk", flat=True)
    )
    if not holding_out:
        return []
    enrollments = Enrollment.objects.filter(
        group__in=[TREATED, CONTROL], enrolled_at__lte=now - window, program_id__in=holding_out
    )
    rows = group_sums(enrollments, window).values("program_id", "group")
    by_program: dict[int, dict[str, dict[str, Any]]] = {}
    for row in _summed(rows):
        by_program.setdefault(row["program_id"], {})[row["group"]] = dict(row)
    programs = Program.objects.in_bulk([pk for pk, g in by_program.items() if CONTROL in g])
    ranked = []
    for pk, program in programs.items():
        treated, control = by_program[pk].get(TREATED), by_program[pk][CONTROL]
        if treated is None:
            continue
        counts = sums_as_counts(treated, control)
        ranked.append(
            Ranked(
                program=program,
                treated_customers=treated["n"],
                control_customers=control["n"],
                spend=spend_by_welch(counts, minimum),
                promoted=rate("promoted_rate", counts, "promoted", minimum),
            )
        )
    return ranked_order(ranked)


def ranked_order(ranked: list[Ranked]) -> list[Ranked]:
    """Best lift in spend first, then in promotions."""
    return sorted(
        ranked,
        key=lambda r: (-(r.spend.difference or 0.0), -(r.promoted.difference or 0.0), r.program.pk),
    )


def group_sums(enrollments, window: timedelta):
    """These enrollments with their spend and promotion in the window after each, to be
    grouped by the caller's .values() and then _summed."""
    purchases = Purchase.objects.filter(
        customer=OuterRef("customer_id"),
        purchased_on__gte=OuterRef("enrolled_at__date"),
        purchased_on__lt=OuterRef("window_end__date"),
    )
    spend = Subquery(
        purchases.order_by().values("customer").annotate(total=Sum("amount")).values("total"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    return enrollments.annotate(
        window_end=F("enrolled_at") + window,
        spend=Cast(Coalesce(spend, Value(0), output_field=DecimalField()), FloatField()),
        promoted=Exists(
            TierChange.objects.filter(
                _in_window("changed_at", window),
                customer=OuterRef("customer_id"),
                direction="up",
            )
        ),
    ).order_by()


def _summed(rows):
    return rows.annotate(
        n=Count("id"),
        promoted_n=Count("id", filter=Q(promoted=True)),
        total=Sum("spend"),
        squares=Sum(F("spend") * F("spend")),
        cubes=Sum(F("spend") * F("spend") * F("spend")),
    )


def summed_by(rows, *fields: str):
    """group_sums' rows grouped by these fields, with their counts and sums of spend."""
    return _summed(rows.values(*fields))


def sums_as_counts(treated: dict[str, Any], control: dict[str, Any]) -> dict[str, Any]:
    """Two groups' summed rows as the counts the outcomes read (control in the holdout's
    place, whichever group it is)."""
    return {
        f"{group}_{key}": row[field] or 0
        for group, row in ((TREATED, treated), (CONTROL, control))
        for key, field in (
            ("n", "n"),
            ("promoted", "promoted_n"),
            ("spend", "total"),
            ("spend2", "squares"),
            ("spend3", "cubes"),
        )
    }


def spend_by_welch(counts: dict[str, Any], minimum: int) -> Outcome:
    """Spend per customer from the sums alone (the ranking reads no single customer's spend)."""
    name = "spend_per_customer"
    treated, control = (
        lift.Moments(
            n=counts[f"{group}_n"],
            total=float(counts[f"{group}_spend"]),
            total_squares=float(counts[f"{group}_spend2"]),
            total_cubes=float(counts[f"{group}_spend3"]),
        )
        for group in (TREATED, CONTROL)
    )
    if treated.n < 2 or control.n < 2:
        return _nothing(name, "collecting", NOTES[name])
    interval = lift.welch(treated, control)
    return _outcome(name, treated.mean, control.mean, interval, treated.n, control.n, minimum)
