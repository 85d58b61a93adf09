"""The Celery app: one per process, configured from Django settings (the CELERY_* names)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bonding.settings")

# How often beat hands due touches to the workers (seconds). A minute is the product's promise;
# a shorter period only adds empty dispatch rounds, but lets a test see beat at work quickly.
DISPATCH_EVERY_SECONDS = float(os.environ.get("DISPATCH_EVERY_SECONDS", "60"))

app = Celery("bonding")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # A task is acknowledged after it ran, so a worker that dies mid-task hands it back.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # One message at a time per process: long tasks never hold short ones hostage.
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_time_limit=15 * 60,
    task_soft_time_limit=14 * 60,
    broker_connection_retry_on_startup=True,
    broker_pool_limit=10,
    worker_send_task_events=False,
    worker_hijack_root_logger=False,
    timezone="UTC",
    enable_utc=True,
    # Beat's schedule lives here, in code.
    beat_schedule={
        "dispatch-touches": {
            "task": "programs.tasks.dispatch_touches_task",
            "schedule": DISPATCH_EVERY_SECONDS,
        },
        "sweep-touches": {"task": "programs.tasks.sweep_touches_task", "schedule": 60.0},
        # Each program's lift, read by its page and the API instead of every enrollment.
        "refresh-lift-tallies": {
            "task": "programs.tasks.refresh_lift_tallies_task",
            "schedule": 600.0,
        },
        "withhold-due-touches": {
            "task": "programs.tasks.withhold_due_touches_task",
            "schedule": 60.0,
        },
        # Webhooks: often, so subscribers hear of a change within seconds.
        "dispatch-webhooks": {"task": "webhooks.tasks.dispatch_webhooks_task", "schedule": 5.0},
        "sweep-webhooks": {"task": "webhooks.tasks.sweep_webhooks_task", "schedule": 60.0},
        "purge-webhooks": {
            "task": "webhooks.tasks.purge_webhooks_task",
            "schedule": crontab(hour=3, minute=25),
        },
        "sweep-sms-events": {"task": "programs.tasks.sweep_sms_events_task", "schedule": 60.0},
        "forget-stale-uploads": {
            "task": "customers.tasks.forget_stale_uploads_task",
            "schedule": crontab(hour=3, minute=15),
        },
        # The dashboard's tallies: the page reads them instead of a million rows.
        "refresh-ladder-tally": {
            "task": "bonding.tasks.refresh_ladder_tally_task",
            "schedule": 60.0,
        },
        "refresh-touch-tally": {"task": "bonding.tasks.refresh_touch_tally_task", "schedule": 60.0},
        "refresh-customer-values": {
            "task": "customers.tasks.refresh_values_task",
            "schedule": crontab(hour=2, minute=30),
        },
        "expire-rewards": {
            "task": "customers.tasks.expire_rewards_task",
            "schedule": crontab(hour=3, minute=5),
        },
        # Programs enrolling a segment continuously take in its newcomers.
        "enroll-segment-newcomers": {
            "task": "programs.tasks.enroll_segment_newcomers_task",
            "schedule": 300.0,
        },
        # A point a day of each saved segment's trend.
        "record-segment-counts": {
            "task": "customers.tasks.record_segment_counts_task",
            "schedule": crontab(hour=4, minute=5),
        },
        # Events: the day-before reminder to those who said yes.
        "remind-event-attendees": {
            "task": "events.tasks.remind_attendees_task",
            "schedule": crontab(minute=5),
        },
        # Invitation runs whose worker died mid-run go on where they stopped.
        "resume-invite-runs": {
            "task": "events.tasks.resume_invite_runs_task",
            "schedule": 60.0,
        },
        # Themes in what customers say, fitted afresh over every answer each night.
        "refit-themes": {
            "task": "nps.tasks.refit_themes_task",
            "schedule": crontab(hour=3, minute=45),
        },
    },
)
app.autodiscover_tasks()
