"""POST/GET/DELETE /api/v1/webhooks/: subscriptions for marketers and admins, the secret once,
rotation with an overlap, the delivery log and replays."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.api.conftest import token_client
from webhooks import delivery, outbox, signing
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_a_marketer_subscribes_and_sees_the_secret_once(marketer_api):
    answer = post(
        marketer_api,
        "/api/v1/webhooks/",
        {"url": "https://example.com/hooks", "events": ["customer.created", "tier.changed"]},
    )
    assert answer.status_code == 201
    secret = answer.json()["secret"]
    assert secret.startswith("whsec_")
    assert answer.json()["owner"] == "marketer"

    listed = marketer_api.get("/api/v1/webhooks/").json()["results"]
    assert [e["url"] for e in listed] == ["https://example.com/hooks"]
    assert all("secret" not in e for e in listed)
    one = marketer_api.get(f"/api/v1/webhooks/{listed[0]['id']}/").json()
    assert "secret" not in one


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "not a url", "events": ["customer.created"]}, "url"),
        ({"url": "ftp://example.com/", "events": ["customer.created"]}, "url"),
        ({"url": "https://example.com/", "events": []}, "events"),
        ({"url": "https://example.com/", "events": ["customer.exploded"]}, "events"),
        ({"url": "https://example.com/", "events": "customer.created"}, "events"),
    ],
)
def test_bad_subscriptions_are_a_400_naming_the_field(marketer_api, body, field):
    answer = post(marketer_api, "/api/v1/webhooks/", body)
    assert answer.status_code == 400
    assert field in answer.json()["errors"]
    assert not Endpoint.objects.exists()


def test_account_managers_may_not_subscribe(manager_api):
    answer = post(
        manager_api, "/api/v1/webhooks/", {"url": "https://a.example/", "events": ["tier.changed"]}
    )
    assert answer.status_code == 403
    assert manager_api.get("/api/v1/webhooks/").status_code == 403


def test_delete_removes_the_endpoint(marketer_api):
    made = post(
        marketer_api, "/api/v1/webhooks/", {"url": "https://a.example/", "events": ["tier.changed"]}
    ).json()
    assert marketer_api.delete(f"/api/v1/webhooks/{made['id']}/").status_code == 204
    assert not Endpoint.objects.exists()


def test_unknown_list_parameters_are_a_400(marketer_api):
    answer = marketer_api.get("/api/v1/webhooks/?url=x")
    assert answer.status_code == 400
    assert "url" in answer.json()["errors"]


def test_rotation_signs_with_both_secrets_during_the_overlap(marketer_api, marketer):
    made = post(
        marketer_api, "/api/v1/webhooks/", {"url": "https://a.example/", "events": ["tier.changed"]}
    ).json()
    rotated = post(marketer_api, f"/api/v1/webhooks/{made['id']}/rotate/", {"overlap_hours": 2})
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != made["secret"]

    endpoint = Endpoint.objects.get()
    body = b'{"type":"tier.changed","timestamp":"2026-01-01T00:00:00+00:00","data":{}}'
    now = timezone.now()
    during = signing.headers(
        delivery._secrets_in_use(endpoint, now), "msg_1", int(time.time()), body
    )
    Webhook(made["secret"]).verify(body, during)
    Webhook(new).verify(body, during)
    after = delivery._secrets_in_use(endpoint, now + timedelta(hours=3))
    late = signing.headers(after, "msg_1", int(time.time()), body)
    Webhook(new).verify(body, late)
    with pytest.raises(WebhookVerificationError):
        Webhook(made["secret"]).verify(body, late)

    too_long = post(marketer_api, f"/api/v1/webhooks/{made['id']}/rotate/", {"overlap_hours": 999})
    assert too_long.status_code == 400


def test_the_delivery_log_and_replays(marketer_api, django_assert_num_queries):
    made = post(
        marketer_api,
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/", "events": ["tier.changed"]},
    ).json()
    events = [outbox.publish("tier.changed", {"id": n}, customer_id=n) for n in range(3)]
    delivery.fan_out()
    Delivery.objects.update(status=Delivery.Status.DELIVERED, attempts=1, last_status_code=200)

    with django_assert_num_queries(4):
        log = marketer_api.get(f"/api/v1/webhooks/{made['id']}/deliveries/")
    assert log.status_code == 200
    rows = log.json()["results"]
    assert [r["event"] for r in rows] == [e.message_id for e in reversed(events)]
    assert rows[0]["status"] == "delivered" and rows[0]["last_status_code"] == 200

    one = post(
        marketer_api, f"/api/v1/webhooks/{made['id']}/replay/", {"event": events[1].message_id}
    )
    assert one.status_code == 202 and one.json() == {"replayed": 1}
    since = (timezone.now() - timedelta(minutes=5)).isoformat()
    every = post(marketer_api, f"/api/v1/webhooks/{made['id']}/replay/", {"since": since})
    assert every.json() == {"replayed": 3}
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 4

    neither = post(marketer_api, f"/api/v1/webhooks/{made['id']}/replay/", {})
    assert neither.status_code == 400


def test_admins_see_every_endpoint(marketer_api, admin_user):
    post(
        marketer_api, "/api/v1/webhooks/", {"url": "https://a.example/", "events": ["tier.changed"]}
    )
    admin = token_client(admin_user)
    assert len(admin.get("/api/v1/webhooks/").json()["results"]) == 1
