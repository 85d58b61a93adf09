"""Project-wide Celery tasks."""

from celery import shared_task


@shared_task(ignore_result=False)
def ping_task() -> str:
    """Answer "pong": lets operators and tests see a worker take a task through the broker."""
    return "pong"
