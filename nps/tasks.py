"""Celery tasks of the NPS app."""

from celery import shared_task

from nps import mail


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
