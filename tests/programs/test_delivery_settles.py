"""A batch that dies mid-way leaves its sent touches unsettled; the sweeper writes what they
leave behind (timeline, reward, next anniversary) exactly once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Reward, TimelineEntry
from programs import delivery
from programs.dispatch import sweep_leases
from programs.models import Step, Touch
from programs.settlement import SETTLE_AFTER
from tests.programs.test_delivery_every_step import deliver_all, due_touches, locmem  # noqa: F401

pytestmark = pytest.mark.django_db


def left_behind(touches: list[Touch]) -> tuple[dict, int, int]:
    ids = [touch.pk for touch in touches]
    lines = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.TOUCH, source_id__in=ids)
    per_touch = {pk: lines.filter(source_id=pk).count() for pk in ids}
    rewards = Reward.objects.filter(customer_id__in=[t.customer_id for t in touches]).count()
    next_years = Touch.objects.filter(
        enrollment_id__in=[t.enrollment_id for t in touches], occurrence=2
    ).count()
    return per_touch, rewards, next_years


def test_the_sweeper_settles_what_a_dead_batch_sent_exactly_once(locmem, monkeypatch):  # noqa: F811
    touches = due_touches(16)  # two of each step, gift and anniversary among them
    claims = 0
    real_claim = delivery._claim_to_send

    def claim_then_die(*args):
        nonlocal claims
        claims += 1
        if claims == 12:
            raise RuntimeError("time limit")  # as a task's time limit would, mid-batch
        return real_claim(*args)

    monkeypatch.setattr(delivery, "_claim_to_send", claim_then_die)
    with pytest.raises(RuntimeError):
        deliver_all()
    monkeypatch.undo()

    sent = list(
        Touch.objects.filter(pk__in=[t.pk for t in touches], status=Touch.Status.SENT)
        .select_related("step")
        .order_by("id")
    )
    assert len(sent) == 11
    assert all(touch.unsettled for touch in sent)
    assert left_behind(sent) == ({t.pk: 0 for t in sent}, 0, 0)
    gifts = sum(touch.step.kind == Step.Kind.GIFT for touch in sent)
    yearly = sum(touch.step.is_yearly for touch in sent)
    assert gifts and yearly

    # Not yet: the batch may still be settling them itself.
    assert sweep_leases()["settled"] == 0
    later = timezone.now() + SETTLE_AFTER + timedelta(seconds=1)
    assert sweep_leases(now=later)["settled"] == 11
    assert left_behind(sent) == ({t.pk: 1 for t in sent}, gifts, yearly)
    assert not Touch.objects.filter(unsettled=True).exists()

    # Again: nothing more.
    assert sweep_leases(now=later)["settled"] == 0
    assert left_behind(sent) == ({t.pk: 1 for t in sent}, gifts, yearly)


def test_a_whole_batch_settles_itself_and_the_sweeper_finds_nothing(locmem):  # noqa: F811
    touches = due_touches(8)
    assert deliver_all() == {"sent": 8}
    assert not Touch.objects.filter(unsettled=True).exists()
    later = timezone.now() + SETTLE_AFTER + timedelta(seconds=1)
    assert sweep_leases(now=later)["settled"] == 0
    per_touch, _, _ = left_behind(touches)
    assert per_touch == {t.pk: 1 for t in touches}
