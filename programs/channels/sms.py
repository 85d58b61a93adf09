"""SMS through a pluggable backend (settings.SMS_BACKEND); files or console by default.

A provider plugs in as one module with a class offering `send(message) -> provider message id`
(the message's `to`, `text` and `touch_id`), raising TransientError, PermanentError or
UncertainError; name it in SMS_BACKEND. Twilio's is programs/channels/sms_twilio.py.
"""

import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from programs.channels import Message, Outcome

logger = logging.getLogger(__name__)


class FileBackend:
    """Appends each SMS as a JSON line to a file (development and demos)."""

    def __init__(self) -> None:
        self.path = Path(settings.SMS_FILE_PATH)

    def send(self, message: Message) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        provider_id = f"file-{uuid.uuid4().hex}"
        line = {"id": provider_id, "to": message.to, "text": message.text}
        with self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(json.dumps(line) + "\n")
        return provider_id


class ConsoleBackend:
    """Logs each SMS (its length and recipient only: the text may be personal)."""

    def send(self, message: Message) -> str:
        provider_id = f"console-{uuid.uuid4().hex}"
        logger.info("sms %s to %s… (%s characters)", provider_id, message.to[:5], len(message.text))
        return provider_id


@contextlib.contextmanager
def open() -> Iterator:  # noqa: A001 - the channel interface's name
    """The configured backend, shared by the batch."""
    yield import_string(settings.SMS_BACKEND)()


def connections() -> int:
    """How many connections a batch sends over at once: SMS_SEND_CONNECTIONS for a provider
    whose backend may (`concurrent`, Twilio's), one for the file and console."""
    backend = import_string(settings.SMS_BACKEND)
    return max(1, settings.SMS_SEND_CONNECTIONS) if getattr(backend, "concurrent", False) else 1


def send(message: Message, backend) -> Outcome:
    """Send one SMS; the text is the message's text part."""
    return Outcome(message_id=backend.send(message))
