"""Celery tasks of the NPS app."""

from celery import shared_task

from nps import services


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def tell_owner_about_detractor_task(response_id: int) -> bool:
    """E-mail a detractor's owner the verbatims (after the answer commits)."""
    return services.tell_owner_about_detractor(response_id=response_id)
