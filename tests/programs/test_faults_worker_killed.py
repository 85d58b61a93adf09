"""A worker killed mid-batch delays its touches; it loses none and sends none twice."""

import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import TimelineEntry
from programs import tasks
from programs.dispatch import sweep_leases
from programs.models import Touch
from programs.settlement import SETTLE_AFTER
from tests.conftest import stop_worker
from tests.programs.conftest import message_ids, statuses, unfinished, wait_until

LEASE = 3


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_nothing_and_resends_nothing(
    transactional_db, settings, smtp_sink, make_touches, workers
):
    settings.TOUCH_LEASE_SECONDS = LEASE
    smtp_sink.delay = 0.05  # a slow provider, so the kill lands in the middle of a batch
    touches = make_touches(200)
    expected = message_ids(touches)
    victim = workers.start("victim", concurrency=2, TOUCH_LEASE_SECONDS=str(LEASE))
    tasks.dispatch_touches_task()
    wait_until(lambda: smtp_sink.total() >= 30, timeout=30, what="mail", detail=workers.log)

    stop_worker(victim, signal.SIGKILL)  # the whole process group: parent and pool

    in_flight = set(Touch.objects.filter(status=Touch.Status.SENDING).values_list("pk", flat=True))
    # The sink may still be handling a message whose data arrived before the kill (it waits
    # `delay` before answering): let it finish, so this is what the provider had at the kill.
    time.sleep(smtp_sink.delay * 4)
    at_kill = smtp_sink.counts()
    assert len(in_flight) <= 2, statuses()
    workers.start("rescuer", concurrency=2, TOUCH_LEASE_SECONDS=str(LEASE))

    def swept_and_dispatched() -> bool:
        sweep_leases()
        tasks.dispatch_touches_task()
        return unfinished() == 0

    wait_until(
        swept_and_dispatched, timeout=60, interval=0.5, what="every touch final", detail=workers.log
    )

    arrived = smtp_sink.counts()
    review = set(Touch.objects.filter(status=Touch.Status.REVIEW).values_list("pk", flat=True))
    # Only what the provider had in hand at the kill needs a person; nothing was resent.
    assert review == in_flight
    assert {pk: arrived[expected[pk]] for pk in review} == {
        pk: at_kill[expected[pk]] for pk in review
    }
    assert all(arrived[expected[pk]] <= 1 for pk in review)
    # Everything else arrived exactly once and is sent with its Message-ID.
    others = {pk: mid for pk, mid in expected.items() if pk not in review}
    assert {pk: arrived[mid] for pk, mid in others.items() if arrived[mid] != 1} == {}
    sent = dict(Touch.objects.filter(status=Touch.Status.SENT).values_list("pk", "message_id"))
    assert sent == others
    assert set(arrived) <= set(expected.values())

    # What the victim sent before the kill is left unsettled (its batch never ended); the
    # sweeper writes it, once: every sent touch is on its customer's timeline exactly once.
    workers.stop_all()  # a warm shutdown: the rescuer's batches end and settle themselves
    later = timezone.now() + SETTLE_AFTER + timedelta(seconds=1)
    assert sweep_leases(now=later)["settled"] > 0
    assert sweep_leases(now=later)["settled"] == 0
    lines = Counter(
        TimelineEntry.objects.filter(kind=TimelineEntry.Kind.TOUCH).values_list(
            "source_id", flat=True
        )
    )
    assert lines == dict.fromkeys(sent, 1)
