"""With Redis down while touches fall due, nothing is lost: they go out once it is back."""

import os
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from programs import tasks
from programs.dispatch import sweep_leases
from programs.models import Touch
from tests.programs.conftest import message_ids, statuses, unfinished, wait_until

LEASE = 3


def _redis_up(port: str) -> bool:
    ping = subprocess.run(["redis-cli", "-p", port, "ping"], capture_output=True, text=True)
    return ping.stdout.strip() == "PONG"


@pytest.mark.slow
def test_touches_due_while_redis_is_down_go_out_once_it_is_back(
    transactional_db, settings, smtp_sink, make_touches, workers
):
    port = os.environ.get("REDIS_PORT")
    if not port:
        pytest.fail("needs the throwaway Redis of bin/with-test-services (REDIS_PORT)")
    settings.TOUCH_LEASE_SECONDS = LEASE
    settings.DISPATCH_BATCH_SIZE = 50
    touches = make_touches(120, due_at=timezone.now() + timedelta(seconds=1))
    workers.start("survivor", concurrency=2, TOUCH_LEASE_SECONDS=str(LEASE))
    try:
        subprocess.run(["redis-cli", "-p", port, "shutdown", "nosave"], capture_output=True)
        wait_until(lambda: not _redis_up(port), timeout=10, what="Redis to stop")
        wait_until(
            lambda: not Touch.objects.filter(due_at__gt=timezone.now()).exists(),
            timeout=10,
            what="the touches to fall due",
        )

        # The dispatcher claims a batch, then cannot hand it to the broker.
        with pytest.raises(OperationalError):
            tasks.dispatch_touches_task()

        assert statuses() == {"claimed": 50, "scheduled": 70}
        assert smtp_sink.total() == 0
        # The claim's lease runs out and the sweeper puts the batch back.
        started = time.monotonic()
        wait_until(
            lambda: sweep_leases()["reclaimed"],
            timeout=LEASE + 10,
            what="the sweeper to take the claimed batch back",
        )
        assert time.monotonic() - started > LEASE - 1
        assert statuses() == {"scheduled": 120}
    finally:
        if not _redis_up(port):
            subprocess.run(
                [
                    "redis-server",
                    "--port",
                    port,
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "yes",
                ],
                check=True,
            )
        wait_until(lambda: _redis_up(port), timeout=10, what="Redis to start again")

    def dispatched() -> bool:
        sweep_leases()
        tasks.dispatch_touches_task()
        return unfinished() == 0

    wait_until(dispatched, timeout=60, interval=0.5, what="every touch sent", detail=workers.log)
    arrived = smtp_sink.counts()
    expected = message_ids(touches)
    assert arrived == dict.fromkeys(expected.values(), 1)
    sent = dict(Touch.objects.filter(status=Touch.Status.SENT).values_list("pk", "message_id"))
    assert sent == expected
