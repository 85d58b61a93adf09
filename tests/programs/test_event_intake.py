"""Taking in provider events: a webhook request carrying several events (SendGrid posts a JSON
array) is stored in one statement, a repeat is skipped, and the drain task works what is
stored in batches."""

import json
import time

import pytest
from django.test import Client

from bonding.celery import app
from customers.models import TimelineEntry
from programs import event_intake
from programs.models import ProviderEvent, Touch
from programs.queries import funnel
from programs.settlement import settle
from programs.sms_events import drain
from tests.factories import CustomerFactory
from tests.programs.test_email_events import ANN, MESSAGE, auth, email_touch

URL = "/anymail/sendgrid/tracking/"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "postmark-hook:5d1b0c4e9a7f"}


@pytest.fixture
def ann(manager):
    return CustomerFactory(owner=manager, email=ANN, consent_email=True, consent_sms=False)


@pytest.fixture
def eager():
    """Tasks run where they are asked: the drain works the request's events before the answer."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def sendgrid_batch(touch: Touch, *events: str) -> list[dict]:
    """SendGrid's event webhook: several events in one JSON array, our custom args (the touch)
    as top-level keys of each."""
    return [
        {
            "email": ANN,
            "timestamp": 1796460000 + n,
            "event": kind,
            "sg_event_id": f"sg-event-{kind}-{n}",
            "sg_message_id": f"{MESSAGE}.filter0001.1.0",
            "smtp-id": "<touch@bonding.example.com>",
            "anymail_id": MESSAGE,  # anymail's own id, sent as a custom arg
            "touch": str(touch.pk),
            **({"url": "https://example.com/offer"} if kind == "click" else {}),
            **({"response": "250 OK"} if kind == "delivered" else {}),
        }
        for n, kind in enumerate(events)
    ]


def post(body: list[dict]):
    return Client().post(URL, json.dumps(body), content_type="application/json", headers=auth())


def test_several_events_of_one_request_are_stored_in_one_statement(
    db, ann, django_assert_num_queries
):
    touch = email_touch(ann)
    batch = sendgrid_batch(touch, "delivered", "open", "click")

    with django_assert_num_queries(1):
        assert post(batch).status_code == 200

    events = ProviderEvent.objects.order_by("pk")
    assert [e.payload["event_type"] for e in events] == ["delivered", "opened", "clicked"]
    assert {e.touch_ref for e in events} == {touch.pk}
    assert all(e.processed_at is None for e in events)  # no worker here: they wait


def test_the_same_batch_again_stores_nothing(db, ann):
    touch = email_touch(ann)
    batch = sendgrid_batch(touch, "delivered", "click")

    assert post(batch).status_code == 200
    assert post(batch).status_code == 200

    assert ProviderEvent.objects.count() == 2


def test_a_batch_is_worked_by_the_drain(db, ann, eager):
    touch = email_touch(ann)

    assert post(sendgrid_batch(touch, "delivered", "click")).status_code == 200

    touch.refresh_from_db()
    assert touch.status == "delivered"
    assert not ProviderEvent.objects.filter(processed_at__isnull=True).exists()
    # The funnel says it: sent, delivered, and the click as the response.
    row = funnel(touch.step.program)[0]
    assert (row.sent, row.delivered, row.responded) == (1, 1, 1)


def test_the_drain_works_every_stored_event_in_batches(db, ann):
    touches = [email_touch(ann) for _ in range(5)]
    stored = event_intake.store(
        [
            event_intake.Incoming(
                provider="sendgrid",
                kind=ProviderEvent.Kind.EMAIL,
                key=f"delivered-{t.pk}",
                payload={"event_type": "delivered", "message_id": MESSAGE, "recipient": ANN},
                touch_ref=t.pk,
            )
            for t in touches
        ]
    )
    assert len(stored) == 5

    assert drain(batch=2) == (5, 0)

    assert {t.status for t in Touch.objects.filter(pk__in=[t.pk for t in touches])} == {"delivered"}
    assert drain(batch=2) == (0, 0)  # nothing left, nothing worked twice


def test_a_repeat_inside_one_statement_is_stored_once(db):
    event = event_intake.Incoming(provider="twilio", kind="inbound", key="SM1", payload={})

    assert len(event_intake.store([event, event])) == 1
    assert ProviderEvent.objects.count() == 1


def test_the_drain_is_asked_once_a_second_per_process(db, monkeypatch):
    asked = []
    monkeypatch.setattr(event_intake, "_asked_until", 0.0)
    monkeypatch.setattr(
        "programs.tasks.drain_provider_events_task.apply_async",
        lambda **kwargs: asked.append(kwargs),
    )

    for _ in range(3):
        event_intake.ask_drain()

    assert asked == [{"countdown": event_intake.DRAIN_DELAY_S}]
    monkeypatch.setattr(event_intake, "_asked_until", time.monotonic() - 0.001)
    event_intake.ask_drain()
    assert len(asked) == 2


def test_the_360_timeline_line_of_the_touch_says_delivered_opened_and_clicked(
    db, ann, eager, client, manager
):
    touch = email_touch(ann)
    Touch.objects.filter(pk=touch.pk).update(unsettled=True)
    settle([touch])  # its line on the timeline, as a delivery batch writes it

    post(sendgrid_batch(touch, "delivered", "open", "click", "open"))

    entry = TimelineEntry.objects.get(customer=ann, kind="touch", source_id=touch.pk)
    assert entry.detail == "delivered; opened (may be a privacy proxy); clicked a link"
    client.force_login(manager)
    page = client.get(f"/customers/{ann.pk}/").content.decode()
    assert "delivered; opened (may be a privacy proxy); clicked a link" in page
