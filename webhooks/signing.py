"""Standard Webhooks signatures and secrets: pure, no database."""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)


def new_secret() -> str:
    """A fresh signing secret as Standard Webhooks writes it: whsec_ and 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def new_message_id() -> str:
    """A stable, unguessable event id (the webhook-id header)."""
    return "msg_" + secrets.token_hex(14)


def new_message_ids(count: int) -> list[str]:
    """`count` ids as new_message_id makes them, from one read of the system's randomness
    rather than one per id (a sync announces a thousand events at once)."""
    digits = secrets.token_hex(14 * count)
    return ["msg_" + digits[i : i + 28] for i in range(0, 28 * count, 28)]


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, keyed by the secret's base64 part."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    secrets_in_use: list[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three headers of a delivery; during a rotation every secret in use signs."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in secrets_in_use
        ),
        "content-type": "application/json",
    }
