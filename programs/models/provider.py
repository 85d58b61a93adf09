"""What providers post to us: status callbacks, inbound texts and e-mail events, and the
replies no customer could be found for."""

from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy

from customers.models import Channel, Customer


class ProviderEvent(models.Model):
    """A status callback, inbound text or e-mail event a provider posted, stored before it is
    answered and worked by a task: one row per provider event, so a repeat changes nothing."""

    class Kind(models.TextChoices):
        STATUS = "status", gettext_lazy("Delivery status")
        INBOUND = "inbound", gettext_lazy("Inbound message")
        # An e-mail provider's tracking event through anymail (delivered, bounced, ...).
        EMAIL = "email", gettext_lazy("E-mail event")
        # A reply to one of our e-mails, posted by the provider's inbound webhook (anymail).
        REPLY = "reply", gettext_lazy("E-mail reply")

    provider = models.CharField(max_length=20)
    kind = models.CharField(max_length=10, choices=Kind)
    # The provider's own identity of the event: message id and status, or the inbound id.
    key = models.CharField(max_length=120)
    # The touch named in the callback URL we gave the provider; no foreign key, so an event
    # naming a touch since deleted is still stored.
    touch_ref = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    # A reply's body as the provider posted it, until a worker has anymail parse it (kept when
    # it cannot be read, for a person to look at): see programs/inbound_mail.py.
    raw = models.BinaryField(null=True, blank=True, editable=False)
    received_at = models.DateTimeField(default=now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "kind", "key"], name="provider_event_once")
        ]
        indexes = [
            # The sweeper's question, "what did no worker take?": a handful of rows.
            models.Index(
                fields=["received_at"],
                name="provider_event_pending",
                condition=Q(processed_at__isnull=True),
            ),
            # The dashboard's deliverability line counts the e-mail events of its window.
            models.Index(
                fields=["received_at"],
                name="provider_event_email",
                condition=Q(kind="email"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.key}"


class UnmatchedReply(models.Model):
    """A reply from a number or e-mail address no customer has, kept until a marketer assigns
    it to a customer or dismisses it."""

    channel = models.CharField(
        max_length=10,
        choices=[(Channel.SMS, "SMS"), (Channel.EMAIL, "E-mail")],
        default=Channel.SMS,
    )
    phone = models.CharField(max_length=32, blank=True)
    email = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    received_at = models.DateTimeField(default=now)
    event = models.OneToOneField(
        ProviderEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_to = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    # Spam, a wrong address, nobody's: off the list without a timeline.
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "unmatched replies"
        indexes = [
            models.Index(
                fields=["-received_at"],
                name="unmatched_reply_waiting",
                condition=Q(assigned_at__isnull=True, dismissed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"Reply from {self.sender[:6]}… at {self.received_at:%Y-%m-%d %H:%M}"

    @property
    def sender(self) -> str:
        return self.phone if self.channel == Channel.SMS else self.email
