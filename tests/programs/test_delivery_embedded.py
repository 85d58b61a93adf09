"""The embedded default's worker: Celery's filesystem broker carries dispatch and delivery to a
real worker process, which sends each touch once to a real SMTP server."""

from pathlib import Path

import pytest
from kombu import Connection

from programs.models import Touch
from programs.tasks import dispatch_touches_task
from tests.conftest import start_worker, stop_worker
from tests.programs.conftest import message_ids, unfinished, wait_until


def filesystem_broker(var_dir: Path) -> Connection:
    """A connection to the broker folders `make run` uses, under `var_dir` (as settings.py)."""
    broker = var_dir / "broker"
    for name in ("out", "processed", "control"):
        (broker / name).mkdir(parents=True, exist_ok=True)
    return Connection(
        "filesystem://",
        transport_options={
            "data_folder_in": str(broker / "out"),
            "data_folder_out": str(broker / "out"),
            "processed_folder": str(broker / "processed"),
            "store_processed": False,
            "control_folder": str(broker / "control"),
        },
    )


@pytest.mark.slow
def test_a_worker_on_the_filesystem_broker_delivers_due_touches(
    transactional_db, tmp_path, smtp_sink, make_touches
):
    touches = make_touches(30)
    worker = start_worker(
        name="embedded",
        CELERY_BROKER_URL="filesystem://",
        VAR_DIR=str(tmp_path),
        EMAIL_URL=smtp_sink.url,
        DELIVERY_BATCH_SIZE="10",
    )
    try:
        with filesystem_broker(tmp_path) as connection:
            dispatch_touches_task.apply_async(connection=connection)
        wait_until(
            lambda: unfinished() == 0,
            timeout=60,
            what="every touch sent",
            detail=lambda: "".join(worker.log[-40:]),
        )
    finally:
        stop_worker(worker)

    assert dict(smtp_sink.counts()) == dict.fromkeys(message_ids(touches).values(), 1)
    assert set(Touch.objects.values_list("status", flat=True)) == {"sent"}
    assert any("programs.tasks.deliver_touches_task" in line for line in worker.log)
