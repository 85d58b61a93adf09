"""Celery tasks of the programs app: the dispatcher, delivery, the sweeper and the SMS
provider's events (thin)."""

import contextlib
import random
from datetime import timedelta

from celery import shared_task
from django.db import connection

from programs.delivery import DeliveryInterrupted, deliver
from programs.dispatch import dispatch_due, sweep_leases
from programs.enrollment import enroll
from programs.segment_enrollment import enroll_newcomers
from programs.sms_events import LATER, drain, pending_events, work_event


@shared_task
def dispatch_touches_task() -> int:
    """Every minute: claim what is due and hand it to delivery tasks, a batch each."""
    claimed = 0
    for _ in range(50):  # bounded: a backlog is worked off over the next runs
        batches = dispatch_due()
        if not batches:
            break
        for ids in batches:
            deliver_touches_task.delay(ids)
            claimed += len(ids)
    return claimed


@shared_task(bind=True, acks_late=True, max_retries=40)
def deliver_touches_task(self, touch_ids: list[int], resume: dict | None = None) -> dict:
    """Send a small batch of claimed touches over one connection; safe to run twice; retried
    with backoff while the database is away."""
    try:
        return deliver(touch_ids=touch_ids, resume=resume)
    except DeliveryInterrupted as error:
        # Drop the broken connection so the retry opens a new one.
        with contextlib.suppress(Exception):
            connection.close()
        # 1, 2, 4, 8 s, then every 10 s or so: a restart is noticed within seconds of it.
        delay = min(2**self.request.retries, 10) * (0.5 + random.random())
        raise self.retry(
            kwargs={"touch_ids": touch_ids, "resume": error.resume}, countdown=delay, exc=error
        ) from error


@shared_task
def withhold_due_touches_task() -> int:
    """Control enrollments' held touches pass their date (programs.held)."""
    from programs.held import withhold_due

    return withhold_due()


@shared_task
def refresh_lift_tallies_task() -> int:
    """Each program's lift over the page's windows, for the page and the API to read."""
    from programs.lift_tally import refresh_round

    return refresh_round()


@shared_task
def sweep_touches_task() -> dict:
    """Take back claimed touches whose lease ran out; send stuck sending ones to review; settle
    sent touches a dead batch left unsettled."""
    return sweep_leases()


@shared_task(bind=True, acks_late=True, max_retries=10)
def drain_provider_events_task(self) -> dict:
    """Work the stored provider events (SMS reports and texts, e-mail events and replies) in
    batches; safe to run twice or side by side. Events of a touch still being sent are looked
    at again a little later (then by the sweeper)."""
    worked, waiting = drain()
    if waiting and self.request.retries < self.max_retries:
        raise self.retry(countdown=min(2**self.request.retries, 30))
    return {"worked": worked, "waiting": waiting}


@shared_task
def sweep_sms_events_task() -> int:
    """Every minute: work the provider events (SMS and e-mail) no worker took (the broker
    was down, retries ran out); returns how many were worked."""
    worked = 0
    for event_id in pending_events(older_than=timedelta(minutes=1)):
        if work_event(event_id=event_id) != LATER:
            worked += 1
    return worked


@shared_task(acks_late=True)
def enroll_segment_task(program_id: int, customer_ids: list[int], by_id: int | None) -> dict:
    """Enroll a big segment off the request: the page shows progress."""
    from django.contrib.auth import get_user_model

    from customers.models import Customer
    from programs.models import Program

    by = get_user_model().objects.filter(pk=by_id).first() if by_id else None
    outcome = enroll(
        program=Program.objects.get(pk=program_id),
        customers=Customer.objects.filter(pk__in=customer_ids).order_by("id"),
        by=by,
    )
    return {
        "enrolled": outcome.enrolled,
        "held_out": outcome.held_out,
        "skipped": len(outcome.skipped),
        "touches_scheduled": outcome.scheduled,
        "touches_skipped": outcome.touches_skipped.total(),
        "touches_held": outcome.touches_held.total(),
    }


@shared_task
def enroll_segment_newcomers_task() -> int:
    """Every few minutes: enroll the customers who entered a segment a program follows."""
    return enroll_newcomers()
