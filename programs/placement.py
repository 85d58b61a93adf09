"""When and over which channel a touch goes: the send window, the frequency cap, consent."""

from collections import defaultdict
from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils.translation import gettext_noop

from customers.models import Channel, Customer, Frequency
from customers.sayings import English, english, kept_as_text
from programs import schedule
from programs.models import Step, Touch
from programs.sql import of_customers

# Touches in these states still count against the frequency cap.
COUNTED = [
    Touch.Status.SCHEDULED,
    Touch.Status.CLAIMED,
    Touch.Status.SENDING,
    Touch.Status.WAITING,
    Touch.Status.SENT,
    Touch.Status.DELIVERED,
    Touch.Status.REVIEW,
]


# Why a touch is skipped, stored in English as its last error; the enrollment's report says
# it in the marketer's language (customers/sayings.translated).
NO_CONSENT = gettext_noop("No consent on any of the step's channels.")
NOT_ASKED = kept_as_text(gettext_noop("Did not ask for news about “%(topic)s”."))

# A touch in one of these states will not move on by itself.
FINAL = [
    Touch.Status.SENT,
    Touch.Status.DELIVERED,
    Touch.Status.FAILED,
    Touch.Status.SKIPPED,
    Touch.Status.CANCELLED,
    Touch.Status.REVIEW,
    Touch.Status.WITHHELD,
]


def send_window() -> schedule.SendWindow:
    return schedule.SendWindow(
        start=time.fromisoformat(settings.SEND_WINDOW_START),
        end=time.fromisoformat(settings.SEND_WINDOW_END),
    )


def frequency_cap(frequency: str = Frequency.USUAL) -> schedule.FrequencyCap:
    """The cap of a customer who hears from us at this frequency (the preference center's)."""
    cap = schedule.FrequencyCap(
        max_touches=settings.FREQUENCY_CAP_TOUCHES,
        period=timedelta(days=settings.FREQUENCY_CAP_DAYS),
    )
    return cap.halved() if frequency == Frequency.LESS else cap


def zone_of(customer: Customer):
    return schedule.resolve_zone(customer.timezone or None, default=settings.TIME_ZONE)


def first_consented(step: Step, customer: Customer) -> str | None:
    """The first channel of the step's list the customer consented to, with an address for it."""
    for channel in step.channels(customer.preferred_channel):
        if customer.has_consent(channel) and address_for(customer, channel):
            return channel
    return None


def chosen_topics(touches: list[Touch]) -> dict[int, set[int]]:
    """The topics each customer of these touches chose, read only when a step asks for one."""
    topic_ids = {touch.step.topic_id for touch in touches if touch.step.topic_id is not None}
    if not topic_ids:
        return {}
    chosen: dict[int, set[int]] = defaultdict(set)
    for customer_id, topic_id in Customer.topics.through.objects.filter(
        customer_id__in={touch.customer_id for touch in touches}, topic_id__in=topic_ids
    ).values_list("customer_id", "topic_id"):
        chosen[customer_id].add(topic_id)
    return chosen


def topic_refusal(step: Step, customer: Customer) -> str | None:
    """Why a step limited to a topic does not go to this customer, or None when it may."""
    if step.topic_id is None or customer.topics.filter(pk=step.topic_id).exists():
        return None
    return _not_asked(step)


def _not_asked(step: Step) -> English:
    # A topic's name is short (its field's length): the text fits the last error's 500.
    return english(NOT_ASKED, topic=step.topic)


def address_for(customer: Customer, channel: str) -> str:
    if channel == Channel.EMAIL:
        # An address the provider reported dead is no address to write to.
        return "" if customer.email_suspended_reason else customer.email
    if channel == Channel.SMS:
        return customer.phone
    if channel == Channel.LETTER:
        return customer.postal_address
    return customer.phone or customer.email or str(customer.pk)  # a call: the owner finds a way


def placement(step, customer, anchor, zone, window, cap, others, now, asked=True) -> tuple:
    """(due at, channel, status, last error) of a step's touch for the customer, placed in
    the send window under the cap given the customer's `others` touches; skipped when the
    step is limited to a topic the customer did not choose (`asked` False), so it takes no
    place under their cap."""
    due = schedule.due_at(anchor=anchor, offset_days=step.offset_days, zone=zone, window=window)
    if not asked:
        return (
            max(due, now),
            step.channels(customer.preferred_channel)[0],
            Touch.Status.SKIPPED,
            _not_asked(step),
        )
    channel = first_consented(step, customer)
    if channel is None:
        return (
            max(due, now),
            step.channels(customer.preferred_channel)[0],
            Touch.Status.SKIPPED,
            NO_CONSENT,
        )
    if customer.frequency == Frequency.LESS:
        cap = cap.halved()
    placed = schedule.place(
        due=due, zone=zone, window=window, cap=cap, others=others, not_before=now
    )
    return placed, channel, Touch.Status.SCHEDULED, ""


def new_touch(
    enrollment, step, customer, occurrence, anchor, zone, window, cap, others, now
) -> Touch:
    """A touch of `step` for `customer`, placed; `others` grows with it (the cap's memory)."""
    due, channel, status, error = placement(step, customer, anchor, zone, window, cap, others, now)
    if status == Touch.Status.SCHEDULED:
        others.append(due)
    return Touch(
        enrollment=enrollment,
        step=step,
        customer=customer,
        occurrence=occurrence,
        due_at=due,
        channel=channel,
        status=status,
        last_error=error,
    )


def scheduled_times(customer_ids: list[int], *, since: datetime) -> dict[int, list[datetime]]:
    """Every counted touch time of these customers from `since` on, across all programs."""
    times: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, due in Touch.objects.filter(
        of_customers(customer_ids), status__in=COUNTED, due_at__gte=since
    ).values_list("customer_id", "due_at"):
        times[customer_id].append(due)
    return times
