"""Letters: each touch joins today's open batch; a marketer prints it and marks it posted."""

import contextlib
from collections.abc import Iterator

from programs.channels import Message, Outcome


@contextlib.contextmanager
def open() -> Iterator:  # noqa: A001 - the channel interface's name
    yield None


def send(message: Message, session) -> Outcome:
    """Put the letter in the open batch; the touch waits until the batch is posted."""
    from programs.models import LetterBatch, Touch

    batch = LetterBatch.objects.filter(posted_at__isnull=True).order_by("-created_at").first()
    if batch is None:
        batch = LetterBatch.objects.create()
    batch.touches.add(Touch.objects.get(pk=message.touch_id))
    return Outcome(message_id=f"letter-batch-{batch.pk}", waiting=True)
