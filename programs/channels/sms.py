"""SMS through a pluggable backend (settings.SMS_BACKEND); files or console by default.

A provider plugs in as a class with `send(to, text) -> provider message id`, raising
TransientError or PermanentError; name it in SMS_BACKEND.
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

    def send(self, to: str, text: str) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        provider_id = f"file-{uuid.uuid4().hex}"
        with self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(json.dumps({"id": provider_id, "to": to, "text": text}) + "\n")
        return provider_id


class ConsoleBackend:
    """Logs each SMS (its length and recipient only: the text may be personal)."""

    def send(self, to: str, text: str) -> str:
        provider_id = f"console-{uuid.uuid4().hex}"
        logger.info("sms %s to %s… (%s characters)", provider_id, to[:5], len(text))
        return provider_id


@contextlib.contextmanager
def open() -> Iterator:  # noqa: A001 - the channel interface's name
    """The configured backend, shared by the batch."""
    yield import_string(settings.SMS_BACKEND)()


def send(message: Message, backend) -> Outcome:
    """Send one SMS; the text is the message's text part."""
    return Outcome(message_id=backend.send(message.to, message.text))
