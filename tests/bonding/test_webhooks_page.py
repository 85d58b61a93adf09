"""/settings/webhooks/: marketers subscribe (the secret shown once), rotate, replay, remove,
and read the delivery log; account managers may not."""

import pytest
from django.test import Client

from webhooks import delivery, outbox, subscriptions
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_a_marketer_subscribes_and_sees_the_secret_once(marketer):
    client = signed_in(marketer)
    page = client.post(
        "/settings/webhooks/",
        {"url": "https://example.com/hooks", "events": ["customer.created", "tier.changed"]},
    )
    endpoint = Endpoint.objects.get()
    assert endpoint.secret in page.content.decode()
    assert page["Cache-Control"] == "no-store"
    again = client.get(f"/settings/webhooks/{endpoint.pk}/")
    assert endpoint.secret not in again.content.decode()
    assert "https://example.com/hooks" in client.get("/settings/webhooks/").content.decode()


def test_a_bad_subscription_changes_nothing(marketer):
    page = signed_in(marketer).post("/settings/webhooks/", {"url": "nope", "events": []})
    assert page.status_code == 400
    assert "This field is required" in page.content.decode()
    assert not Endpoint.objects.exists()


def test_the_form_needs_its_csrf_token(marketer):
    client = signed_in(marketer, enforce_csrf_checks=True)
    answer = client.post(
        "/settings/webhooks/", {"url": "https://a.example/", "events": ["tier.changed"]}
    )
    assert answer.status_code == 403
    assert not Endpoint.objects.exists()


def test_account_managers_may_not_open_it(manager):
    assert signed_in(manager).get("/settings/webhooks/").status_code == 403


def test_rotate_replay_and_remove(marketer):
    endpoint = subscriptions.subscribe(
        owner=marketer, url="https://a.example/", events=["tier.changed"]
    )
    event = outbox.publish("tier.changed", {"id": 1}, customer_id=1)
    delivery.fan_out()
    client = signed_in(marketer)
    old = endpoint.secret
    page = client.post(f"/settings/webhooks/{endpoint.pk}/", {"action": "rotate"})
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in page.content.decode()

    client.post(
        f"/settings/webhooks/{endpoint.pk}/", {"action": "replay", "event": event.message_id}
    )
    assert Delivery.objects.filter(event=event).count() == 2
    bad = client.post(f"/settings/webhooks/{endpoint.pk}/", {"action": "replay"}, follow=True)
    assert "Give either an event id" in bad.content.decode()

    client.post(f"/settings/webhooks/{endpoint.pk}/", {"action": "delete"})
    assert not Endpoint.objects.exists()


def test_the_delivery_log_is_one_read_however_long(marketer, django_assert_num_queries):
    endpoint = subscriptions.subscribe(
        owner=marketer, url="https://a.example/", events=["tier.changed"]
    )
    for n in range(30):
        outbox.publish("tier.changed", {"id": n}, customer_id=n)
    delivery.fan_out()
    client = signed_in(marketer)
    client.get(f"/settings/webhooks/{endpoint.pk}/")
    with django_assert_num_queries(5):
        page = client.get(f"/settings/webhooks/{endpoint.pk}/")
    assert page.content.decode().count("<code>msg_") == 30
