"""What other apps tell programs: an answer, a logged call, posted letters, a promoter."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from customers.models import Channel, FollowUp
from programs.models import LetterBatch, Touch
from programs.promoter_ask import ask_promoter
from programs.settlement import settle

logger = logging.getLogger(__name__)


def mark_waiting_done(*, touch: Touch, how: str, now: datetime | None = None) -> bool:
    """A call was logged or a letter posted: the waiting touch counts as sent."""
    return bool(_waiting_done([touch.pk], how=how, now=now or timezone.now()))


def _waiting_done(touch_ids: list[int], *, how: str, now: datetime) -> int:
    """Those of these touches still waiting count as sent from `now`, settled together."""
    done = Touch.objects.filter(pk__in=touch_ids, status=Touch.Status.WAITING).update(
        status=Touch.Status.SENT, sent_at=now, unsettled=True
    )
    if done:
        touches = Touch.objects.filter(pk__in=touch_ids, status=Touch.Status.SENT, unsettled=True)
        settle(list(touches.select_related("step", "enrollment", "customer")), now=now)
        logger.info("touches %s done: %s", touch_ids, how)
    return done


def follow_up_done(*, follow_up: FollowUp, now: datetime | None = None) -> None:
    """The owner made the call a phone touch asked for."""
    if follow_up.source.startswith("touch:"):
        touch_id = int(follow_up.source.split(":", 1)[1])
        _waiting_done([touch_id], how="call logged", now=now or timezone.now())


@transaction.atomic
def mark_letters_posted(*, batch: LetterBatch, now: datetime | None = None) -> int:
    """The printed letters went out: their touches are sent."""
    now = now or timezone.now()
    if not LetterBatch.objects.filter(pk=batch.pk, posted_at__isnull=True).update(posted_at=now):
        return 0
    waiting = batch.touches.filter(status=Touch.Status.WAITING).values_list("pk", flat=True)
    return _waiting_done(list(waiting), how="letter posted", now=now)


def record_response(*, touch: Touch, now: datetime | None = None) -> bool:
    """The customer answered (a survey, a reply): the touch counts as responded."""
    return bool(
        Touch.objects.filter(pk=touch.pk, responded_at__isnull=True).update(
            responded_at=now or timezone.now()
        )
    )


def survey_answered(*, response) -> None:
    """An answer marks its touch responded; a promoter is asked for a referral at once."""
    touch_id = response.invitation.touch_id
    if touch_id:
        touch = Touch.objects.filter(pk=touch_id).first()
        if touch is not None:
            record_response(touch=touch)
    if response.category == "promoter":
        ask_promoter(customer=response.customer)


def record_click(*, touch_id: int, now: datetime | None = None) -> bool:
    """A customer followed a tracked link of an e-mail touch: a response (the first counts)."""
    return bool(
        Touch.objects.filter(pk=touch_id, channel=Channel.EMAIL, responded_at__isnull=True).update(
            responded_at=now or timezone.now()
        )
    )
