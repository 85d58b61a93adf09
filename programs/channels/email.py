"""E-mail through Django's mail framework: one connection serves a whole batch."""

import contextlib
import smtplib
from collections.abc import Iterator

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from programs.channels import Message, Outcome, PermanentError, TransientError


@contextlib.contextmanager
def open() -> Iterator:  # noqa: A001 - the channel interface's name
    """One connection for the batch; closed whatever happens."""
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
    try:
        if getattr(connection, "connection", True) is None:
            # Opened here, the connection stays open for the batch: send_messages() closes
            # only connections it opened itself (and after an error we dropped it: reopen).
            connection.open()
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        reason = "; ".join(f"{code} {text.decode(errors='replace')}"
                           for code, text in error.recipients.values())  # fmt: skip
        _drop(connection)
        if all(400 <= code < 500 for code in codes):
            raise TransientError(f"recipient deferred: {reason}") from error
        raise PermanentError(f"recipient refused: {reason}") from error
    except smtplib.SMTPResponseException as error:
        _drop(connection)
        text = error.smtp_error.decode(errors="replace") if isinstance(
            error.smtp_error, bytes) else str(error.smtp_error)  # fmt: skip
        if 400 <= error.smtp_code < 500:
            raise TransientError(f"{error.smtp_code} {text}") from error
        raise PermanentError(f"{error.smtp_code} {text}") from error
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        _drop(connection)
        raise TransientError(f"{type(error).__name__}: {error}") from error
    return Outcome(message_id=message.message_id)


def _drop(connection) -> None:
    """After an error the SMTP session may be in any state: start the next send afresh."""
    with contextlib.suppress(Exception):
        connection.close()
