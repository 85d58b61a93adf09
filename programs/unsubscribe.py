"""Unsubscribing: one-click tokens, the unsubscribe itself, and inbound SMS STOP and START."""

import secrets

from django.db import connection, transaction
from django.utils import timezone

from customers import records
from customers.models import Channel, Customer
from programs.models import UnsubscribeToken


def unsubscribe_token(*, customer: Customer, channel: str) -> str:
    """The customer's unguessable one-click unsubscribe token for a channel (made once)."""
    token, _ = UnsubscribeToken.objects.get_or_create(
        customer=customer, channel=channel, defaults={"token": secrets.token_urlsafe(24)}
    )
    return token.token


# The tokens of many (customer, channel) pairs in one statement (PostgreSQL), as
# customers.preferences.PREFERENCE_TOKENS_AT_ONCE does for preference links.
UNSUBSCRIBE_TOKENS_AT_ONCE = (
    "WITH wanted AS (SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[])"
    " AS w(customer_id, channel, token)),"
    " made AS (INSERT INTO programs_unsubscribetoken (token, customer_id, channel, created_at)"
    " SELECT w.token, w.customer_id, w.channel, %s FROM wanted w WHERE NOT EXISTS"
    " (SELECT 1 FROM programs_unsubscribetoken u"
    " WHERE u.customer_id = w.customer_id AND u.channel = w.channel)"
    " ON CONFLICT DO NOTHING RETURNING customer_id, channel, token)"
    " SELECT customer_id, channel, token FROM made UNION ALL"
    " SELECT u.customer_id, u.channel, u.token FROM programs_unsubscribetoken u"
    " JOIN wanted w ON u.customer_id = w.customer_id AND u.channel = w.channel"
)


def unsubscribe_tokens(*, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The one-click tokens of many (customer id, channel) pairs, made in bulk where missing."""
    if pairs and connection.vendor == "postgresql":
        wanted = list(pairs)
        with connection.cursor() as cursor:
            cursor.execute(
                UNSUBSCRIBE_TOKENS_AT_ONCE,
                [
                    [customer_id for customer_id, _ in wanted],
                    [channel for _, channel in wanted],
                    [secrets.token_urlsafe(24) for _ in wanted],
                    timezone.now(),
                ],
            )
            found = {(customer_id, channel): token for customer_id, channel, token in cursor}
        if len(found) == len(pairs):
            return found

    def read() -> dict[tuple[int, str], str]:
        customer_ids = {customer_id for customer_id, _ in pairs}
        return {
            (customer_id, channel): token
            for customer_id, channel, token in UnsubscribeToken.objects.filter(
                customer_id__in=customer_ids
            ).values_list("customer_id", "channel", "token")
            if (customer_id, channel) in pairs
        }

    tokens = read()
    missing = pairs - tokens.keys()
    if missing:
        # Another worker may make the same token meanwhile: its row wins, ours is dropped.
        UnsubscribeToken.objects.bulk_create(
            [
                UnsubscribeToken(customer_id=pk, channel=channel, token=secrets.token_urlsafe(24))
                for pk, channel in missing
            ],
            ignore_conflicts=True,
        )
        tokens = read()
    return tokens


@transaction.atomic
def unsubscribe(*, token: str, channels: list[str] | None = None) -> Customer | None:
    """Withdraw consent at once (RFC 8058 one-click, or the channels a customer chose);
    idempotent. Returns the customer, or None for an unknown token."""
    link = UnsubscribeToken.objects.select_related("customer").filter(token=token).first()
    if link is None:
        return None
    for channel in channels or [link.channel]:
        records.set_consent(
            customer=link.customer, channel=channel, granted=False, source="unsubscribe link"
        )
    return link.customer


def stop_by_sms(*, phone: str) -> int:
    """An inbound STOP: withdraw SMS consent of every customer with that number."""
    stopped = 0
    for customer in Customer.objects.filter(phone=phone, deleted_at__isnull=True):
        stopped += records.set_consent(
            customer=customer, channel=Channel.SMS, granted=False, source="SMS STOP"
        )
    return stopped


def start_by_sms(*, phone: str) -> int:
    """An inbound START: give SMS consent back to every customer with that number."""
    started = 0
    for customer in Customer.objects.filter(phone=phone, deleted_at__isnull=True):
        started += records.set_consent(
            customer=customer, channel=Channel.SMS, granted=True, source="SMS START"
        )
    return started
