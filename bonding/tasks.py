"""Project-wide Celery tasks."""

from celery import shared_task

from bonding import services


@shared_task(ignore_result=False)
def ping_task() -> str:
    """Answer "pong": lets operators and tests see a worker take a task through the broker."""
    return "pong"


@shared_task
def refresh_ladder_tally_task() -> int:
    """Every minute: the dashboard's ladder and touch-state counts, as of now."""
    return services.refresh_ladder_tally()


@shared_task
def refresh_touch_tally_task() -> int:
    """Every minute: tally the closed days, and again any whose touches changed since."""
    return services.refresh_touch_tally()
