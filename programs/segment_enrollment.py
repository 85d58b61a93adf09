"""Programs that enroll a saved segment continuously: who enters the segment is enrolled by beat
every few minutes, through `enroll`, so audience, tiers, consent, quiet hours and the frequency
cap are honoured as for any enrollment."""

import logging
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext

from customers.filters import segment_customers
from customers.models import Segment
from programs.enrollment import enroll
from programs.models import Enrollment, Program, SegmentFollow

logger = logging.getLogger(__name__)


def follow_segment(*, program: Program, segment: Segment, by: User | None) -> SegmentFollow:
    """Keep enrolling the segment's newcomers in the program (once per program and segment)."""
    if not program.is_active:
        raise ValidationError(gettext("This program is paused: activate it before enrolling."))
    follow, _ = SegmentFollow.objects.get_or_create(
        program=program, segment=segment, defaults={"started_by": by}
    )
    return follow


def stop_following(*, follow: SegmentFollow) -> None:
    follow.delete()


def enroll_newcomers(
    *, now: datetime | None = None, follows: list[SegmentFollow] | None = None
) -> int:
    """For every active program following a segment, enroll the segment's customers never
    enrolled in it (a customer who finished or left the program is not enrolled again); returns
    how many were enrolled."""
    now = now or timezone.now()
    enrolled = 0
    if follows is None:
        follows = list(
            SegmentFollow.objects.filter(program__is_active=True).select_related(
                "program", "segment__owner", "started_by"
            )
        )
    for follow in follows:
        before = Enrollment.objects.filter(program=follow.program, customer=OuterRef("pk"))
        newcomers = segment_customers(follow.segment).filter(~Exists(before)).order_by("id")
        outcome = enroll(program=follow.program, customers=newcomers, by=follow.started_by, now=now)
        SegmentFollow.objects.filter(pk=follow.pk).update(last_run_at=now)
        if outcome.enrolled:
            logger.info(
                "program %s: %s newcomers of segment %s enrolled",
                follow.program_id,
                outcome.enrolled,
                follow.segment_id,
            )
        enrolled += outcome.enrolled
    return enrolled
