"""Celery tasks of the NPS app."""

from celery import shared_task
from django.db import IntegrityError, OperationalError

from nps import mail, theming
from nps.models import Survey


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def tell_owner_about_detractor_task(response_id: int) -> bool:
    """E-mail a detractor's owner the verbatims (after the answer commits)."""
    return mail.tell_owner_about_detractor(response_id=response_id)


@shared_task(bind=True, acks_late=True, max_retries=5)
def send_invitations_task(self, invitation_ids: list[int]) -> int:
    """E-mail a batch of survey invitations over one SMTP connection; retry only what failed."""
    countdown = 30 * 2**self.request.retries
    try:
        outcome = mail.send_invitations(invitation_ids=invitation_ids)
    except OSError as error:  # no connection at all: the whole batch, later
        raise self.retry(exc=error, countdown=countdown) from error
    if outcome.failed:
        raise self.retry(args=[outcome.failed], countdown=countdown)
    return outcome.sent


@shared_task(
    acks_late=True,
    ignore_result=False,
    # A million answers take a few minutes; room to spare on a busy worker.
    time_limit=3600,
    soft_time_limit=3540,
    # An answer deleted while the themes were being fitted fails the swap; the next try
    # reads the answers afresh.
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=True,
    max_retries=3,
)
def refit_themes_task(survey_id: int | None = None) -> dict:
    """Fit the themes of what customers say afresh (nightly, and when a marketer asks)."""
    survey = None if survey_id is None else Survey.objects.filter(pk=survey_id).first()
    if survey_id is not None and survey is None:
        return {"themes": {}, "answers": 0, "assigned": 0}  # the survey is gone
    outcome = theming.refit_themes(survey=survey)
    return {"themes": outcome.themes, "answers": outcome.answers, "assigned": outcome.assigned}
