"""Signatures in the Standard Webhooks format, checked by the standardwebhooks library."""

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks import signing


def test_a_signature_verifies_with_the_standard_library():
    secret = signing.new_secret()
    body = b'{"type":"customer.created","timestamp":"2026-01-01T00:00:00+00:00","data":{}}'

    headers = signing.headers([secret], "msg_abc", int(time.time()), body)
    assert Webhook(secret).verify(body, headers)["type"] == "customer.created"


def test_during_a_rotation_both_secrets_verify_and_a_stranger_does_not():
    old, new = signing.new_secret(), signing.new_secret()
    body = b'{"type":"tier.changed","timestamp":"2026-01-01T00:00:00+00:00","data":{}}'

    headers = signing.headers([new, old], "msg_1", int(time.time()), body)
    assert " " in headers["webhook-signature"]
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)


def test_secrets_and_ids_look_as_the_format_says():
    assert signing.new_secret().startswith("whsec_")
    assert signing.new_message_id().startswith("msg_")
    assert signing.new_message_id() != signing.new_message_id()
    many = signing.new_message_ids(500)
    assert len(set(many)) == 500
    assert all(len(m) == len(signing.new_message_id()) and m.startswith("msg_") for m in many)
