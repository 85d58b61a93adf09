"""Phone calls: the touch becomes a follow-up for the owner with the call script."""

import contextlib
from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_noop

from customers import activity
from customers.sayings import said
from programs.channels import Message, Outcome


@contextlib.contextmanager
def open() -> Iterator:  # noqa: A001 - the channel interface's name
    yield None


def send(message: Message, session) -> Outcome:
    """Ask the owner to call; the touch is done when the call is logged (the follow-up done)."""
    from programs.models import Touch

    touch = Touch.objects.select_related("customer__owner").get(pk=message.touch_id)
    follow_up = activity.schedule_follow_up(
        customer=touch.customer,
        assignee=touch.customer.owner,
        due_at=timezone.now() + timedelta(days=2),
        **said(gettext_noop("Call: %(subject)s"), field="reason", subject=message.subject),
        source=f"touch:{touch.pk}",
        notes=message.text,
    )
    return Outcome(message_id=f"follow-up-{follow_up.pk}", waiting=True)
