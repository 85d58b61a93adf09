"""The channels a touch goes out on, one small module each behind one interface.

A channel module offers `open()` (a context manager yielding whatever a batch shares, e.g.
one SMTP connection) and `send(message, session) -> Outcome`. A failure that may pass raises
TransientError (the touch is retried later); one that will not raises PermanentError (the
touch fails with the reason shown to marketers); one after the provider may have taken the
message raises UncertainError (the touch goes to review: resending could send it twice).
"""

from dataclasses import dataclass, field


class TransientError(Exception):
    """Try again later: the server was busy, the connection dropped, a 4xx answer."""


class PermanentError(Exception):
    """Do not try again: the address is refused, the number does not exist, a 5xx answer."""


class UncertainError(Exception):
    """The provider may have the message (e.g. no answer after the message data): a person
    checks whether it arrived, it is never resent blindly."""


@dataclass(frozen=True)
class Message:
    """What one touch says, rendered for its channel."""

    touch_id: int
    to: str
    subject: str
    text: str
    html: str = ""
    message_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # The A/B variant of the step whose content this is (recorded on the touch once sent).
    variant_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    """Sent (with the provider's id), or waiting for a person (a call to make, a letter)."""

    message_id: str
    waiting: bool = False
    # An e-mail service provider's own id of the message (anymail), beside our Message-ID.
    provider_id: str = ""
