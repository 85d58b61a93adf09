"""Writing a batch of enrollments and their touches in one transaction: PostgreSQL's COPY,
from two writer threads beside the caller when the run is big enough."""

import io
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from django.db import connection, transaction

from programs.models import Enrollment


def new_ids(model, count: int) -> list:
    """Ids for rows about to be written, from the table's sequence (PostgreSQL): the touches
    can name their enrollment before either is written."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


class Writer:
    """Stores each batch of enrollments and their touches in one transaction.

    In the background (PostgreSQL outside a transaction), two threads with their own
    connections write with COPY while the caller works out the next batch: the database's
    work (indexes, foreign-key checks) then runs beside Python's instead of after it.
    """

    def __init__(self) -> None:
        self.enrolled: set[int] = set()
        self.background = False
        self.pool: ThreadPoolExecutor | None = None
        self.pending: list[Future] = []
        self.written = 0

    def write(self, program_id: int, enrollments: list, touches: list, now: datetime) -> None:
        if self.pool is None and self.background:
            self.pool = ThreadPoolExecutor(max_workers=2)
        if self.pool is None:
            copy_batch(program_id, enrollments, touches, now)
            return
        while len(self.pending) >= 2:
            self.pending.pop(0).result()  # raises what the writer raised
            self.written += 1
            if self.written & (self.written - 1) == 0:
                # After batches 1, 2, 4, 8...: the tables have doubled since their statistics
                # were taken, and with the old ones the planner read every touch for each
                # batch's look-up of the touches its customers already have.
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE programs_touch, programs_enrollment")
        self.pending.append(
            self.pool.submit(copy_batch, program_id, enrollments, touches, now, background=True)
        )

    def finish(self) -> None:
        if self.pool is None:
            return
        try:
            for future in self.pending:
                future.result()
        finally:
            self.pool.shutdown(wait=True)


def copy_batch(
    program_id: int, enrollments: list, touches: list[str], now: datetime, *, background=False
) -> None:
    """Write enrollments [(id, customer id, group)] and their touches (lines of COPY's text
    format) in one transaction, with PostgreSQL's COPY."""
    active = Enrollment.Status.ACTIVE
    created = now.isoformat()
    enrollment_lines = "".join(
        f"{pk}\t{program_id}\t{customer_id}\t{created}\t{active}\t\t\\N\t{group}\n"
        for pk, customer_id, group in enrollments
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_expert(
                "COPY programs_enrollment"
                " (id, program_id, customer_id, enrolled_at, status, exit_reason, ended_at,"
                ' "group")'
                " FROM STDIN",
                io.StringIO(enrollment_lines),
            )
            cursor.copy_expert(
                f"COPY programs_touch ({', '.join(TOUCH_COLUMNS)}) FROM STDIN",
                io.StringIO("".join(touches)),
            )
    finally:
        if background:
            connection.close()  # this thread's own connection


TOUCH_COLUMNS = (
    "enrollment_id",
    "step_id",
    "customer_id",
    "occurrence",
    "due_at",
    "channel",
    "status",
    "attempts",
    "last_error",
    "lease_expires_at",
    "sent_at",
    "message_id",
    "responded_at",
    "created_at",
)


def copy_text(text: str) -> str:
    """A text value in COPY's text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
