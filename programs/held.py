"""Control enrollments move on like treated ones: a held touch whose date came is withheld.

A treated touch goes out on its date and settles (next year's touch, the enrollment completed
when all are done); a held touch passes the same date here, by beat, so both groups complete,
make their yearly touches and come back to re-entry after the same days.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from programs.models import Touch
from programs.settlement import complete_if_done, schedule_next_occurrences


def withhold_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Held touches whose date came become withheld (final); returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        touches = list(
            Touch.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Touch.Status.HELD, due_at__lte=now)
            .select_related("step", "enrollment", "customer")
            .order_by("due_at", "id")[:limit]
        )
        if not touches:
            return 0
        Touch.objects.filter(pk__in=[t.pk for t in touches]).update(status=Touch.Status.WITHHELD)
        schedule_next_occurrences(touches=[t for t in touches if t.step.is_yearly], now=now)
        complete_if_done({t.enrollment_id for t in touches}, now)
    return len(touches)
