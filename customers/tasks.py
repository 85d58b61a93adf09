"""Celery tasks of the customers app: thin wrappers over services."""

from celery import shared_task

from customers import services


@shared_task(ignore_result=False, time_limit=4 * 3600, soft_time_limit=4 * 3600 - 60)
def refresh_values_task() -> dict:
    """Nightly: refit the value model and refresh every customer's value, tier and bond stage."""
    return services.refresh_everyone()
