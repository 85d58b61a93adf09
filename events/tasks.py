"""Celery tasks of the events app (thin)."""

from celery import shared_task

from events import invite_runs
from events.messages import remind_attendees


@shared_task
def remind_attendees_task() -> int:
    """Hourly: the day-before reminder for everyone seated at the events of the next two days
    (each reminded once; the touch goes out in their send window the day before)."""
    return remind_attendees()


@shared_task
def invite_run_task(run_id: int) -> None:
    """Invite a run's customers in batches, noting progress (events.invite_runs)."""
    invite_runs.carry_out(run_id)


@shared_task
def resume_invite_runs_task() -> list[int]:
    """Every minute: resume the invitation runs whose worker stopped mid-run
    (events.invite_runs.resume_stale)."""
    return invite_runs.resume_stale()
