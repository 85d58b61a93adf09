"""Subscriptions, the outbox of events and each event's delivery to each subscriber."""

import json

from django.conf import settings
from django.db import models
from django.db.models import Q

# The events subscribers may ask for; later work adds its own here.
EVENT_TYPES = (
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.merged",
    "tier.changed",
    "interaction.logged",
    "complaint.opened",
    "complaint.resolved",
    "purchase.recorded",
    "touch.sent",
    "touch.failed",
    "touch.delivered",
    "touch.bounced",
    "survey.answered",
    "follow_up.created",
    "rsvp.answered",
    "referral.signed_up",
    "referral.converted",
    "reward.earned",
    "reward.redeemed",
    "reward.expired",
    "reward.reversed",
)


class Endpoint(models.Model):
    """A receiver a marketer or admin subscribed to some event types."""

    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    # Signing needs the key itself, so it is stored as given (whsec_<base64>).
    secret = models.CharField(max_length=100)
    # After a rotation the old secret signs too until previous_secret_until.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    # Since when every attempt failed (none since succeeded); cleared by a success.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    """One outbox row, written in the transaction of the change it tells of."""

    # Unique by a constraint rather than unique=True, which on PostgreSQL adds a second
    # (LIKE-pattern) index that no query uses and every insert pays for.
    message_id = models.CharField(max_length=40)
    type = models.CharField(max_length=40)
    # The customer it is about (no foreign key: this app sits below customers); deliveries of
    # one customer's events go out in order.
    customer_key = models.BigIntegerField(null=True, blank=True)
    # The record as JSON text, written once and sent as it is: a text column costs a sync of
    # 1,000 rows far less than parsing each into jsonb.
    payload = models.TextField()
    # Indexed on PostgreSQL by a BRIN index (migration 0003): rows arrive in time order, so a
    # range of pages per time range serves the purge and replays at almost no cost per insert.
    created_at = models.DateTimeField()
    # The dispatcher writes each event's deliveries once, so a write pays for one row only.
    fanned_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], name="webhooks_event_new", condition=Q(fanned_out=False))
        ]
        constraints = [
            models.UniqueConstraint(fields=["message_id"], name="webhooks_event_message_id_unique")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"

    @property
    def data(self) -> dict:
        return json.loads(self.payload)


class Delivery(models.Model):
    """One event on its way to one endpoint, and its log: status, attempts, last answer."""

    class Status(models.TextChoices):
        PENDING = "pending"
        CLAIMED = "claimed"
        SENDING = "sending"
        DELIVERED = "delivered"
        GIVEN_UP = "given_up"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    customer_key = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    UNFINISHED = (Status.PENDING, Status.CLAIMED, Status.SENDING)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhooks_delivery_due",
                condition=Q(status="pending"),
            ),
            # The order check: an earlier unfinished delivery of the same customer.
            models.Index(
                fields=["endpoint", "customer_key", "id"],
                name="webhooks_delivery_chain",
                condition=Q(status__in=["pending", "claimed", "sending"]),
            ),
            models.Index(fields=["endpoint", "-id"], name="webhooks_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.endpoint_id}: {self.status}"
