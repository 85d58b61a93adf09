"""The lift of all programs together against the organization's global control group.

Each customer counts once, from their first enrollment in any program: those treated in it
against those in the global control group (who get no program touches at all), on spend per
customer and promotions over the window after it. Customers held out of their first program
only are left out: they may be treated by the next.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from programs import lift
from programs.lift_figures import (
    DEFAULT_WINDOW_DAYS,
    Outcome,
    group_sums,
    rate,
    spend_by_welch,
    summed_by,
    sums_as_counts,
)
from programs.models import Enrollment

TREATED = Enrollment.Group.TREATED
GLOBAL_CONTROL = Enrollment.Group.GLOBAL_CONTROL


@dataclass(frozen=True)
class GlobalLift:
    window_days: int
    treated_customers: int
    control_customers: int
    spend: Outcome
    promoted: Outcome


def all_programs(
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
    minimum: int = lift.MINIMUM_PER_GROUP,
) -> GlobalLift | None:
    """Two queries; None while nobody is in the global control group with an ended window."""
    now = now or timezone.now()
    window = timedelta(days=window_days)
    ended = Enrollment.objects.filter(group=GLOBAL_CONTROL, enrolled_at__lte=now - window)
    if not ended.exists():
        # No control group to compare with: one probe of the held-out index, not a pass
        # over every treated customer's purchases.
        return None
    earlier = Enrollment.objects.filter(customer_id=OuterRef("customer_id")).filter(
        Q(enrolled_at__lt=OuterRef("enrolled_at"))
        | Q(enrolled_at=OuterRef("enrolled_at"), pk__lt=OuterRef("pk"))
    )
    firsts = Enrollment.objects.filter(
        ~Exists(earlier),
        group__in=[TREATED, GLOBAL_CONTROL],
        enrolled_at__lte=now - window,
    )
    by_group = {row["group"]: row for row in summed_by(group_sums(firsts, window), "group")}
    treated, control = by_group.get(TREATED), by_group.get(GLOBAL_CONTROL)
    if treated is None or control is None:
        return None
    counts = sums_as_counts(treated, control)
    return GlobalLift(
        window_days=window_days,
        treated_customers=treated["n"],
        control_customers=control["n"],
        spend=spend_by_welch(counts, minimum),
        promoted=rate("promoted_rate", counts, "promoted", minimum),
    )
