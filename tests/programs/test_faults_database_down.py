"""After a PostgreSQL outage, delivery resumes within a minute of its return, not after the
lease: batches that hit the lost connection retry with backoff; none is sent twice."""

import os
import shlex
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from programs import tasks
from programs.models import Touch
from tests.programs.conftest import message_ids, statuses, unfinished, wait_until

OUTAGE = 8


def _pg_ctl(*args: str) -> None:
    """Run pg_ctl on the cluster of bin/with-test-services (as postgres when we are root)."""
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    command = [*as_postgres, f"{os.environ['PGBIN']}/pg_ctl", "-D", os.environ["PGDATA"], *args]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def _server_options() -> str:
    """The options the server runs with (port, socket dir...), to start it the same way."""
    words = shlex.split(Path(os.environ["PGDATA"], "postmaster.opts").read_text())
    options = words[1:]  # the first word is the server binary
    if "-D" in options:
        at = options.index("-D")
        del options[at : at + 2]
    return shlex.join(options)


@pytest.mark.slow
def test_touches_go_out_within_a_minute_of_a_database_outage_and_none_twice(
    transactional_db, smtp_sink, make_touches, workers
):
    if not (os.environ.get("PGBIN") and os.environ.get("PGDATA")):
        pytest.fail("needs the throwaway PostgreSQL of bin/with-test-services (PGBIN, PGDATA)")
    assert settings.TOUCH_LEASE_SECONDS == 600  # the default: recovery must not wait for it
    smtp_sink.delay = 0.05  # a slow provider, so the outage lands in the middle of batches
    touches = make_touches(300)
    late = make_touches(30, due_at=timezone.now() + timedelta(days=1))
    expected = message_ids(touches + late)
    workers.start("mailer", concurrency=2, DELIVERY_BATCH_SIZE="25")
    tasks.dispatch_touches_task.delay()  # beat's dispatcher, run by the worker
    wait_until(lambda: smtp_sink.total() >= 30, timeout=30, what="mail", detail=workers.log)
    options = _server_options()
    # These fall due while the database is down (dated from the stop, not from a start whose
    # time varies with the machine's load): the dispatcher finds them after.
    Touch.objects.filter(pk__in=[touch.pk for touch in late]).update(
        due_at=timezone.now() + timedelta(seconds=OUTAGE / 2)
    )

    _pg_ctl("stop", "-m", "fast")
    try:
        time.sleep(2)
        tasks.dispatch_touches_task.delay()  # fails in the worker: no database
        time.sleep(OUTAGE - 2)
        during = smtp_sink.total()
    finally:
        _pg_ctl("start", "-w", "-l", str(Path(os.environ["PGDATA"], "log")), "-o", options)
    connection.close()  # this test's own connection died with the server

    assert during < len(expected)  # the outage held touches back
    tasks.dispatch_touches_task.delay()  # beat's next run: the worker's dispatcher works again
    wait_until(
        lambda: unfinished() == 0,
        timeout=60,
        interval=0.5,
        what="every touch sent within a minute of the restart",
        detail=workers.log,
    )
    assert statuses() == {"sent": len(expected)}
    assert smtp_sink.counts() == dict.fromkeys(expected.values(), 1)
    sent = dict(Touch.objects.values_list("pk", "message_id"))
    assert sent == expected
    # The batches caught mid-send by the outage were retried, not dropped.
    assert any("DeliveryInterrupted" in line for line in workers.processes[0].log), workers.log()
