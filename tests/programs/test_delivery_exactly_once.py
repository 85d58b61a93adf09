"""A thousand due touches through two real workers on Redis: each e-mail arrives exactly once."""

import pytest

from programs import tasks
from programs.models import Touch
from programs.tasks import deliver_touches_task
from tests.programs.conftest import message_ids, unfinished, wait_until


class PublishedTwice:
    """Stands in for the delivery task in this process's dispatcher: the broker hands every
    batch over twice (at-least-once delivery), so two workers race for the same touches."""

    def delay(self, touch_ids: list[int]) -> None:
        deliver_touches_task.apply_async((touch_ids,))
        deliver_touches_task.apply_async((touch_ids,))


@pytest.mark.slow
def test_a_thousand_touches_through_two_workers_arrive_exactly_once(
    transactional_db, settings, monkeypatch, smtp_sink, make_touches, workers
):
    settings.DISPATCH_BATCH_SIZE = 100
    touches = make_touches(1000)
    workers.start("alpha", concurrency=2, DISPATCH_BATCH_SIZE="100")
    workers.start("beta", concurrency=2, DISPATCH_BATCH_SIZE="100")

    # Three dispatchers claim at once: one in each worker and one here, whose batches the
    # broker delivers twice.
    tasks.dispatch_touches_task.delay()
    tasks.dispatch_touches_task.delay()
    monkeypatch.setattr(tasks, "deliver_touches_task", PublishedTwice())
    tasks.dispatch_touches_task()
    monkeypatch.undo()
    wait_until(lambda: unfinished() == 0, timeout=120, what="every touch final", detail=workers.log)

    expected = message_ids(touches)
    arrived = smtp_sink.counts()
    assert len(arrived) == 1000
    assert {mid: n for mid, n in arrived.items() if n != 1} == {}
    assert set(arrived) == set(expected.values())
    rows = Touch.objects.values_list("pk", "status", "message_id", "attempts")
    assert {(pk, status, mid, attempts) for pk, status, mid, attempts in rows} == {
        (pk, "sent", mid, 1) for pk, mid in expected.items()
    }
