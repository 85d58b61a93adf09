"""A task goes through the real Redis broker to a real worker process and back."""

import pytest

from bonding.celery import app
from bonding.tasks import ping_task


def test_the_celery_app_is_configured_for_reliable_delivery():
    conf = app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit


@pytest.mark.slow
def test_a_task_round_trips_through_redis_and_a_real_worker(celery_worker_process):
    result = ping_task.delay()

    assert result.get(timeout=30) == "pong"
    assert any("bonding.tasks.ping_task" in line for line in celery_worker_process.log)
