"""Real `celery beat` runs the dispatcher on its schedule: a due touch goes out with nobody
calling it."""

import subprocess
import sys
import threading

import pytest

from bonding.celery import app
from programs.models import Touch
from tests.conftest import ROOT, stop_worker, worker_env
from tests.programs.conftest import message_ids, wait_until


def _start_beat(schedule_file: str) -> subprocess.Popen:
    """`celery -A bonding beat` on the test database and broker, its output kept in `.log`."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bonding",
            "beat",
            "--loglevel",
            "info",
            "--schedule",
            schedule_file,
            "--pidfile",
            "",
        ],
        cwd=ROOT,
        # Every 2 seconds rather than every minute: the same schedule entry, sooner.
        env=worker_env(DISPATCH_EVERY_SECONDS="2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    process.log = []

    def drain() -> None:
        for line in process.stdout:
            process.log.append(line)

    threading.Thread(target=drain, daemon=True).start()
    return process


def test_the_dispatcher_runs_every_minute_in_production():
    entry = app.conf.beat_schedule["dispatch-touches"]

    assert entry["task"] == "programs.tasks.dispatch_touches_task"
    assert entry["schedule"] == 60.0


@pytest.mark.slow
def test_beat_sends_a_due_touch_with_nobody_calling_the_dispatcher(
    transactional_db, tmp_path, smtp_sink, make_touches, workers
):
    (touch,) = make_touches(1)
    workers.start("mailer")
    beat = _start_beat(str(tmp_path / "beat-schedule"))
    try:
        # Beat first runs an interval task one interval after it starts.
        wait_until(
            lambda: Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENT).exists(),
            timeout=90,
            interval=0.5,
            what="beat's dispatcher to send the touch",
            detail=lambda: "".join(beat.log[-20:]) + workers.log(),
        )
    finally:
        stop_worker(beat)
    assert smtp_sink.counts() == dict.fromkeys(message_ids([touch]).values(), 1)
    assert any(
        "Sending due task dispatch-touches (programs.tasks.dispatch_touches_task)" in line
        for line in beat.log
    ), "".join(beat.log)
