"""Celery tasks of the customers app: thin wrappers over services."""

from celery import shared_task

from customers import imports, rewards, segments, valuation


@shared_task(ignore_result=False, time_limit=4 * 3600, soft_time_limit=4 * 3600 - 60)
def refresh_values_task() -> dict:
    """Nightly: refit the value model and refresh every customer's value, tier and bond stage."""
    return valuation.refresh_everyone()


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def refresh_customers_task(customer_ids: list[int]) -> None:
    """Refresh the value figures, tier and bond of customers a bulk write touched."""
    valuation.refresh_customers(customer_ids=customer_ids)


# No autoretry: a failure is recorded on the job, and "Resume" on its page queues it again.
@shared_task(acks_late=True, time_limit=4 * 3600, soft_time_limit=4 * 3600 - 60)
def import_customers_task(job_id: int) -> None:
    """Import an uploaded CSV file; a done job is left alone, a running one goes on where it was."""
    imports.run_import(job_id=job_id, refresh_later=refresh_customers_task.delay)


@shared_task
def forget_stale_uploads_task() -> int:
    """Nightly: free the stored chunks of CSV uploads nobody started."""
    return imports.forget_stale_uploads()


@shared_task
def expire_rewards_task() -> int:
    """Nightly: write off what is left of earned rewards past their expiry."""
    return rewards.expire_due()


@shared_task
def record_segment_counts_task() -> int:
    """Daily: note every saved segment's count, the points of its trend."""
    return segments.record_counts()
