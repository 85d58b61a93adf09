"""A reply with attachments over the API's body limit is taken at /anymail/<esp>/inbound/ up
to INBOUND_MAX_BODY_BYTES (not refused and lost), and refused with 413 above it."""

import base64

import pytest

from programs.models import ProviderEvent
from programs.sms_events import drain
from tests.programs.test_email_replies import DOMAIN, SECRET, inbound, post


@pytest.fixture(autouse=True)
def inbound_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    settings.INBOUND_DOMAIN = DOMAIN
    # Small limits, same shape as the defaults (5 MB for the API, 40 MB for inbound).
    settings.API_MAX_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20_000
    settings.INBOUND_MAX_BODY_BYTES = 200_000


def with_attachment(size: int) -> dict:
    body = inbound(f"someone@{DOMAIN}")
    body["Attachments"] = [
        {
            "Name": "invoice.pdf",
            "Content": base64.b64encode(b"%" * size).decode(),
            "ContentType": "application/pdf",
            "ContentLength": size,
        }
    ]
    return body


def test_a_reply_over_the_api_limit_is_stored(db):
    assert post(with_attachment(60_000)).status_code == 200

    event = ProviderEvent.objects.get()
    assert event.kind == "reply" and len(bytes(event.raw)) > 60_000  # stored as posted

    drain()  # the worker reads it whole too, past Django's limit, as the web process did

    event.refresh_from_db()
    assert "Thanks, the new plan suits us." in event.payload["text"]
    assert not event.outcome.startswith("unreadable")


def test_a_reply_over_the_inbound_limit_is_a_413_and_stores_nothing(db):
    answer = post(with_attachment(160_000))

    assert answer.status_code == 413
    assert ProviderEvent.objects.count() == 0


def test_without_credentials_the_body_is_not_read_and_anymail_refuses(db):
    assert post(with_attachment(60_000), secret=None).status_code == 400
    assert ProviderEvent.objects.count() == 0


def test_other_paths_keep_the_api_limit(db, client):
    answer = client.post(
        "/anymail/postmark/tracking/", "x" * 30_000, content_type="application/json"
    )

    assert answer.status_code == 400  # Django's own refusal of a body over the limit
    assert ProviderEvent.objects.count() == 0
