"""The owner of an endpoint disabled after 5 days of failures hears of it in the app, also
without an e-mail address: the dashboard lists their disabled endpoints."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks import subscriptions
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


def test_the_dashboard_tells_the_owner_of_a_disabled_endpoint(client, marketer, admin_user):
    assert marketer.email == ""
    endpoint = subscriptions.subscribe(
        owner=marketer, url="http://127.0.0.1:9/hooks", events=["customer.created"]
    )
    subscriptions.subscribe(
        owner=admin_user, url="http://127.0.0.1:9/other", events=["tier.changed"]
    )
    client.force_login(marketer)
    assert "webhook endpoint" not in client.get("/").content.decode()

    Endpoint.objects.update(
        disabled_at=timezone.now() - timedelta(hours=1),
        disabled_reason="Every delivery failed for 5 days.",
    )
    page = client.get("/").content.decode()
    assert "A webhook endpoint of yours was disabled" in page
    assert f'href="/settings/webhooks/{endpoint.pk}/"' in page
    assert "/other" not in page  # another owner's endpoint is theirs to hear of

    subscriptions.enable(endpoint=endpoint)
    assert "webhook endpoint" not in client.get("/").content.decode()
