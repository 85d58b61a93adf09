"""The survey invitation e-mail: eleven one-click score links, sent in batches over one SMTP
connection."""

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection, send_mail
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from customers import preferences, reply_addresses
from customers.languages import speaking_to, speaking_to_staff
from customers.models import Channel
from nps import links
from nps.models import Invitation, Response
from nps.questions import questions_of

logger = logging.getLogger(__name__)

# A detractor's owner is asked to act within this long (the follow-up is due then).
DETRACTOR_FOLLOW_UP_HOURS = 48
# Invitations per task: each task sends its batch over one SMTP connection.
EMAIL_BATCH = 100

# The one-click unsubscribe tokens belong to the programs app, above this one: it hands over
# the function that makes them (from its AppConfig.ready), so nps never imports programs.
UnsubscribeTokens = Callable[..., dict[tuple[int, str], str]]
_unsubscribe_tokens: list[UnsubscribeTokens] = []


def provide_unsubscribe_tokens(function: UnsubscribeTokens) -> None:
    """Register `function(pairs={(customer_id, channel)}) -> {pair: token}` for the footers."""
    _unsubscribe_tokens[:] = [function]


def unsubscribe_urls(invitations: list[Invitation]) -> dict[int, str]:
    """The e-mail one-click unsubscribe URL of each invitation's customer, made in one go."""
    if not _unsubscribe_tokens:
        # Never send a marketing e-mail without its unsubscribe link.
        raise RuntimeError("No app provides unsubscribe tokens (is programs installed?)")
    pairs = {(invitation.customer_id, Channel.EMAIL.value) for invitation in invitations}
    tokens = _unsubscribe_tokens[0](pairs=pairs)
    return {
        invitation.pk: f"{settings.SITE_URL}/u/{tokens[invitation.customer_id, Channel.EMAIL]}/"
        for invitation in invitations
    }


def would_email(invitation: Invitation) -> bool:
    """An invitation goes out by e-mail when that is its channel and the customer agreed to
    e-mail at an address we have (the same rule as `emailable`, for rows already loaded)."""
    customer = invitation.customer
    return (
        invitation.channel == Channel.EMAIL
        and customer.consent_email
        and bool(customer.email)
        and customer.deleted_at is None
    )


def emailable(invitation_ids: list[int]) -> QuerySet[Invitation]:
    """The invitations among these still to be e-mailed: open, unanswered, e-mail consented."""
    return (
        Invitation.objects.filter(
            pk__in=invitation_ids,
            channel=Channel.EMAIL,
            expires_at__gt=timezone.now(),
            response__isnull=True,
            customer__consent_email=True,
            customer__deleted_at__isnull=True,
            emailed_at__isnull=True,
        )
        .exclude(customer__email="")
        .select_related("customer", "survey")
        .order_by("id")
    )


def message_id_for(invitation: Invitation) -> str:
    """Deterministic per invitation: a resend after a crash is recognisable as the same mail."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<nps-invitation-{invitation.pk}@{domain}>"


def send_invitation_email(
    invitation: Invitation, *, unsubscribe_url: str, preferences_url: str = "", connection=None
) -> None:
    """E-mail one invitation: the score question with a button per score, 0 to 10, and the
    same one-click unsubscribe (RFC 8058), preference link and postal-address footer as
    program e-mails."""
    if not preferences_url:
        token = preferences.preference_token(customer=invitation.customer)
        preferences_url = f"{settings.SITE_URL}/p/{token}/"
    with speaking_to(invitation.customer):
        _send(invitation, unsubscribe_url, preferences_url, connection)


def _send(invitation: Invitation, unsubscribe_url: str, preferences_url: str, connection) -> None:
    context = {
        "customer": invitation.customer,
        "survey": invitation.survey,
        "questions": questions_of(invitation.survey),
        "scores": [
            {"value": value, "url": links.link(invitation, score_value=value)}
            for value in range(11)
        ],
        "survey_url": links.link(invitation),
        "expires_at": invitation.expires_at,
        "organization": settings.ORGANIZATION_NAME,
        "address": settings.ORGANIZATION_ADDRESS,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
    }
    subject = " ".join(render_to_string("emails/nps_invitation_subject.txt", context).split())
    headers = {
        "Message-ID": message_id_for(invitation),
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    # A reply (the customer may answer the e-mail instead of the survey) lands on the timeline.
    reply_to = reply_addresses.reply_to(reply_addresses.INVITATION, invitation.pk)
    if reply_to:
        headers["Reply-To"] = reply_to
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/nps_invitation_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.customer.email],
        connection=connection,
        headers=headers,
    )
    message.attach_alternative(
        render_to_string("emails/nps_invitation_body.html", context), "text/html"
    )
    message.send()


@dataclass
class SendOutcome:
    """What a batch did: sent, refused for good (logged, not retried), failed for now."""

    sent: int = 0
    refused: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def send_invitations(*, invitation_ids: list[int]) -> SendOutcome:
    """E-mail the batch's invitations that should go by e-mail over one connection. Raises
    OSError when no connection can be opened; a message that fails later is reported in
    `failed` so only it is tried again."""
    outcome = SendOutcome()
    invitations = list(emailable(invitation_ids))
    if not invitations:
        return outcome
    unsubscribe = unsubscribe_urls(invitations)
    choose = preferences.preference_tokens(
        customer_ids={invitation.customer_id for invitation in invitations}
    )
    with get_connection() as connection:
        for invitation in invitations:
            try:
                send_invitation_email(
                    invitation,
                    unsubscribe_url=unsubscribe[invitation.pk],
                    preferences_url=f"{settings.SITE_URL}/p/{choose[invitation.customer_id]}/",
                    connection=connection,
                )
            except smtplib.SMTPRecipientsRefused as error:
                codes = [code for code, _ in error.recipients.values()]
                if codes and all(code >= 500 for code in codes):
                    logger.warning("invitation %s refused by the server: %s", invitation.pk, codes)
                    outcome.refused.append(invitation.pk)
                else:
                    outcome.failed.append(invitation.pk)
            except OSError as error:  # smtplib's errors are OSErrors too
                logger.warning("invitation %s not sent: %s", invitation.pk, error)
                outcome.failed.append(invitation.pk)
            else:
                # Marked one by one: a batch that runs again skips what already went out.
                Invitation.objects.filter(pk=invitation.pk).update(emailed_at=timezone.now())
                outcome.sent += 1
    return outcome


def tell_owner_about_detractor(*, response_id: int) -> bool:
    """E-mail the owner the detractor's verbatims and a link to the customer."""
    response = (
        Response.objects.select_related("customer__owner", "survey").filter(pk=response_id).first()
    )
    owner = response.customer.owner if response is not None else None
    if response is None or owner is None or not owner.email:
        return False
    context = {
        "response": response,
        "customer": response.customer,
        "url": f"{settings.SITE_URL}/customers/{response.customer_id}/",
        "hours": DETRACTOR_FOLLOW_UP_HOURS,
    }
    # The owner reads it in the language of their pages, not the customer's.
    with speaking_to_staff(owner):
        subject = render_to_string("emails/detractor_subject.txt", context).strip()
        body = render_to_string("emails/detractor_body.txt", context)
    send_mail(
        subject=subject,
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[owner.email],
    )
    return True
