"""A batch that loses the database mid-way hands what it sent to its retry, which records and
settles those once and sends the rest: nothing waits for the lease, nothing goes twice."""

from collections import Counter

import pytest
from django.core import mail
from django.db import OperationalError

from customers.models import TimelineEntry
from programs import content, delivery
from programs.delivery import DeliveryInterrupted, deliver
from programs.dispatch import dispatch_due
from programs.models import Touch
from tests.programs.test_delivery_every_step import due_touches, locmem  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_retry_of_an_interrupted_batch_records_what_it_sent_and_sends_the_rest(
    locmem,  # noqa: F811
    monkeypatch,
):
    touches = due_touches(16)
    (batch,) = dispatch_due(batch_size=100)
    claims = 0
    real_claim = delivery._claim_to_send

    def claim_then_lose_the_database(*args):
        nonlocal claims
        claims += 1
        if claims == 12:
            raise OperationalError("server closed the connection unexpectedly")
        return real_claim(*args)

    monkeypatch.setattr(delivery, "_claim_to_send", claim_then_lose_the_database)
    with pytest.raises(DeliveryInterrupted) as interrupted:
        deliver(touch_ids=batch)
    monkeypatch.undo()

    # Eleven went out, none settled; the retry is told which.
    assert len(mail.outbox) == 11
    assert len(interrupted.value.resume["sent"]) == 11
    assert interrupted.value.resume["unsent"] == []
    assert statuses(touches) == {"sent": 11, "claimed": 5}
    assert not TimelineEntry.objects.filter(kind=TimelineEntry.Kind.TOUCH).exists()

    assert deliver(touch_ids=batch, resume=interrupted.value.resume) == {"sent": 5}

    assert statuses(touches) == {"sent": 16}
    assert len(mail.outbox) == 16
    assert len({message.extra_headers["Message-ID"] for message in mail.outbox}) == 16
    lines = Counter(
        TimelineEntry.objects.filter(kind=TimelineEntry.Kind.TOUCH).values_list(
            "source_id", flat=True
        )
    )
    assert lines == dict.fromkeys([touch.pk for touch in touches], 1)
    assert not Touch.objects.filter(unsettled=True).exists()


def test_a_touch_sent_but_not_yet_recorded_is_recorded_by_the_retry(locmem):  # noqa: F811
    (touch,) = due_touches(1)
    dispatch_due()
    # As the batch left it when the database went away: sending, sent to the provider.
    Touch.objects.filter(pk=touch.pk).update(status=Touch.Status.SENDING)
    resume = {"sent": [[touch.pk, "<t1@bonding>", "2026-01-02T03:04:05+00:00"]], "unsent": []}

    assert deliver(touch_ids=[touch.pk], resume=resume) == {}

    touch.refresh_from_db()
    assert (touch.status, touch.message_id, touch.sent_at.isoformat(), touch.unsettled) == (
        "sent",
        "<t1@bonding>",
        "2026-01-02T03:04:05+00:00",
        False,
    )
    assert TimelineEntry.objects.filter(source_id=touch.pk).count() == 1
    assert mail.outbox == []


def test_a_touch_held_unsent_when_the_database_went_away_is_sent_by_the_retry(
    locmem,  # noqa: F811
    monkeypatch,
):
    touches = due_touches(8)
    (batch,) = dispatch_due(batch_size=100)
    rendered = 0
    real_message_for = content.message_for

    def render_then_lose_the_database(**kwargs):
        nonlocal rendered
        rendered += 1
        if rendered == 5:
            raise OperationalError("terminating connection due to administrator command")
        return real_message_for(**kwargs)

    monkeypatch.setattr(content, "message_for", render_then_lose_the_database)
    with pytest.raises(DeliveryInterrupted) as interrupted:
        deliver(touch_ids=batch)
    monkeypatch.undo()

    fifth = sorted(batch)[4]
    assert interrupted.value.resume["unsent"] == [fifth]
    assert Touch.objects.get(pk=fifth).status == "sending"
    assert len(mail.outbox) == 4

    assert deliver(touch_ids=batch, resume=interrupted.value.resume) == {"sent": 4}

    assert statuses(touches) == {"sent": 8}
    assert Touch.objects.get(pk=fifth).attempts == 1
    assert len({message.extra_headers["Message-ID"] for message in mail.outbox}) == 8
    assert len(mail.outbox) == 8


def statuses(touches: list[Touch]) -> Counter[str]:
    return Counter(
        Touch.objects.filter(pk__in=[t.pk for t in touches]).values_list("status", flat=True)
    )
