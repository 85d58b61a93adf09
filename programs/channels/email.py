"""E-mail through Django's mail framework: one connection serves a whole batch, over SMTP or
an e-mail service provider's API (django-anymail, EMAIL_PROVIDER)."""

import contextlib
import smtplib
from collections.abc import Iterator

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends import smtp
from requests import ConnectionError as RequestsConnectionError
from requests import ConnectTimeout, RequestException
from urllib3.exceptions import MaxRetryError, NewConnectionError

from programs.channels import Message, Outcome, PermanentError, TransientError, UncertainError

# Set once the server answered DATA with 354: from then on it may take the message whatever
# happens to the connection, so a failure without its final answer is not a safe retry.
MESSAGE_PHASE = "message"


class _Phases:
    """An SMTP client that remembers how far the current message got (`phase`)."""

    phase = "connect"

    def mail(self, *args, **kwargs):
        self.phase = "mail"
        return super().mail(*args, **kwargs)

    def rcpt(self, *args, **kwargs):
        self.phase = "rcpt"
        return super().rcpt(*args, **kwargs)

    def data(self, *args, **kwargs):
        self.phase = "data"
        return super().data(*args, **kwargs)

    def getreply(self):
        reply = super().getreply()
        if self.phase == "data" and reply[0] == 354:
            self.phase = MESSAGE_PHASE
        elif self.phase == MESSAGE_PHASE:
            self.phase = "answered"  # the final answer: accepted or refused, it is known
        return reply


class _PhasedSMTP(_Phases, smtplib.SMTP):
    pass


class _PhasedSMTPSSL(_Phases, smtplib.SMTP_SSL):
    pass


class PhasedSMTPBackend(smtp.EmailBackend):
    """Django's SMTP backend over a client that knows in which SMTP phase an error came."""

    @property
    def connection_class(self):
        return _PhasedSMTPSSL if self.use_ssl else _PhasedSMTP


@contextlib.contextmanager
def open() -> Iterator:  # noqa: A001 - the channel interface's name
    """One connection for the batch; closed whatever happens."""
    if settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
        connection = PhasedSMTPBackend(fail_silently=False)
    else:
        connection = get_connection(fail_silently=False)
    try:
        yield connection
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def send(message: Message, connection) -> Outcome:
    """Send one e-mail with text and HTML parts and the touch's own Message-ID."""
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": message.message_id, **message.headers},
        connection=connection,
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    # Read by anymail only: the provider hands it back with each tracking event.
    email.metadata = {"touch": str(message.touch_id)}  # type: ignore[attr-defined]
    try:
        if getattr(connection, "connection", True) is None:
            # Opened here, the connection stays open for the batch: send_messages() closes
            # only connections it opened itself (and after an error we dropped it: reopen).
            connection.open()
        email.send()
    except AnymailError as error:
        raise _provider_error(error) from error
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        reason = "; ".join(
            f"{code} {text.decode(errors='replace')}" for code, text in error.recipients.values()
        )
        _drop(connection)
        if all(400 <= code < 500 for code in codes):
            raise TransientError(f"recipient deferred: {reason}") from error
        raise PermanentError(f"recipient refused: {reason}") from error
    except smtplib.SMTPResponseException as error:
        _drop(connection)
        text = (
            error.smtp_error.decode(errors="replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        if 400 <= error.smtp_code < 500:
            raise TransientError(f"{error.smtp_code} {text}") from error
        raise PermanentError(f"{error.smtp_code} {text}") from error
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        phase = getattr(getattr(connection, "connection", None), "phase", None)
        _drop(connection)
        if phase == MESSAGE_PHASE:
            raise UncertainError(
                f"No answer after the message data ({type(error).__name__}: {error}): "
                "the server may have it; check whether it arrived."
            ) from error
        raise TransientError(f"{type(error).__name__}: {error}") from error
    status = getattr(email, "anymail_status", None)
    provider_id = status.message_id if status is not None else None
    return Outcome(
        message_id=message.message_id,
        provider_id=provider_id if isinstance(provider_id, str) else "",
    )


def _provider_error(error: AnymailError) -> Exception:
    """What a provider's refusal or silence means for the touch."""
    if isinstance(error, AnymailRecipientsRefused):
        return PermanentError(f"recipient refused by the provider: {error}")
    cause = error.__cause__
    if isinstance(cause, ConnectTimeout) or (
        isinstance(cause, RequestsConnectionError)
        and isinstance(cause.args[0] if cause.args else None, MaxRetryError)
        and isinstance(cause.args[0].reason, NewConnectionError)
    ):
        return TransientError(f"provider unreachable: {cause}")  # the request never left
    if isinstance(cause, RequestException) and error.status_code is None:
        # The request left and no answer came back: the provider may have the message.
        return UncertainError(
            f"No answer from the provider ({type(cause).__name__}): check whether it arrived."
        )
    code = error.status_code
    if code is not None and 400 <= code < 500 and code != 429:
        return PermanentError(f"provider refused: {error}"[:480])
    return TransientError(f"provider error: {error}"[:480])


def _drop(connection) -> None:
    """After an error the SMTP session may be in any state: start the next send afresh."""
    with contextlib.suppress(Exception):
        connection.close()
