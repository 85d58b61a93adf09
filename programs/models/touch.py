"""Touches, the outbox, and the records a touch leaves: letters gathered for printing, the
referral asks of promoters, the one-click unsubscribe links."""

from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy

from customers.models import Channel, Customer
from customers.sayings import translated
from programs.models.program import Enrollment, Step, StepVariant


class Touch(models.Model):
    """One scheduled contact of one step with one customer: a row of the outbox."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", gettext_lazy("Scheduled")
        CLAIMED = "claimed", gettext_lazy("Claimed by the dispatcher")
        SENDING = "sending", gettext_lazy("Sending")
        WAITING = "waiting", gettext_lazy("Waiting (call to make, letter to post)")
        SENT = "sent", gettext_lazy("Sent")
        # The provider reports the message on the customer's handset (SMS status callbacks).
        DELIVERED = "delivered", gettext_lazy("Delivered")
        FAILED = "failed", gettext_lazy("Failed")
        SKIPPED = "skipped", gettext_lazy("Skipped")
        REVIEW = "review", gettext_lazy("Needs review")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")
        # A control enrollment's touch: planned like a treated one, never sent, not counted
        # against the frequency cap.
        HELD = "held", gettext_lazy("Held (control group)")
        # A held touch whose date came: final, as a treated touch's send is, so a control
        # enrollment completes, and makes its next year, exactly like a treated one.
        WITHHELD = "withheld", gettext_lazy("Withheld on its date (control group)")

    # No index of their own: the unique (enrollment, step, occurrence), "touch_step_status" and
    # "touch_customer_due" indexes start with them, and each index more slows every write of
    # the outbox (a hundred thousand enrollments are three quarters of a million touches).
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="touches", db_index=False
    )
    # A step with touches keeps its history: it cannot be deleted, only its program paused.
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="touches", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="touches", db_index=False
    )
    occurrence = models.PositiveSmallIntegerField(default=1)
    # The A/B variant whose content was sent (programs.variants); null outside a test.
    variant = models.ForeignKey(
        StepVariant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="touches",
        db_index=False,
    )
    due_at = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=Channel)
    status = models.CharField(max_length=10, choices=Status, default=Status.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    # The e-mail service provider's id of the message (anymail), which its events name.
    provider_message_id = models.CharField(max_length=200, blank=True, default="", db_default="")
    responded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    # Sent, but what a sent touch leaves behind (timeline, reward, next year, completion) is
    # not written yet: set with the sent status, cleared in the same transaction as those
    # writes, so the sweeper finishes what a crash left half done. A database default, so
    # adding it rewrites no row (the touches sent before count as settled) and COPY fills it.
    unsettled = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name_plural = "touches"
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "step", "occurrence"], name="touch_once_per_occurrence"
            )
        ]
        indexes = [
            # The dispatcher's question, "what is due?", reads only this small partial index.
            models.Index(
                fields=["due_at", "id"], name="touch_due", condition=Q(status="scheduled")
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="touch_leased",
                condition=Q(status__in=["claimed", "sending"]),
            ),
            models.Index(fields=["customer", "due_at"], name="touch_customer_due"),
            models.Index(fields=["step", "status"], name="touch_step_status"),
            # Reads by status go through the partial indexes here, not one index of every
            # touch's status: that one was rewritten at each move of every touch.
            # The dashboard's live counts read these small partial indexes alone (index-only):
            # touches due soon by channel, failures and touches for review, and the touches
            # sent or answered since the dashboard's daily tally was last filled.
            models.Index(
                fields=["due_at", "channel", "customer"],
                name="touch_scheduled_channel",
                condition=Q(status="scheduled"),
            ),
            models.Index(
                fields=["status", "customer"],
                name="touch_trouble",
                condition=Q(status__in=["failed", "review"]),
            ),
            models.Index(
                fields=["sent_at", "step", "customer"],
                name="touch_sent",
                condition=Q(status__in=["sent", "delivered", "waiting"]),
            ),
            models.Index(
                fields=["responded_at", "step", "customer"],
                name="touch_responded",
                condition=Q(responded_at__isnull=False),
            ),
            # Beat's question, "which held touches reached their date?": control rows only.
            models.Index(
                fields=["due_at", "id"], name="touch_held_due", condition=Q(status="held")
            ),
            # The sweeper's question, "what was sent and left unsettled?": a handful of rows.
            models.Index(fields=["sent_at"], name="touch_unsettled", condition=Q(unsettled=True)),
        ]

    def __str__(self) -> str:
        return f"{self.step.name} for {self.customer_id} ({self.status})"

    @property
    def said_error(self) -> str:
        """Why it failed or was skipped, in the reader's language when Bonding wrote it (a
        provider's own words stay as they came)."""
        return translated(self.last_error)


# Touches that went out to the customer: sent, and those the provider reported delivered.
SENT_STATES = [Touch.Status.SENT, Touch.Status.DELIVERED]


class LetterBatch(models.Model):
    """Letters gathered for printing; a marketer marks the batch posted."""

    created_at = models.DateTimeField(default=now)
    posted_at = models.DateTimeField(null=True, blank=True)
    touches = models.ManyToManyField(Touch, related_name="letter_batches", blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "letter batches"

    def __str__(self) -> str:
        return f"Letters of {self.created_at:%Y-%m-%d}"


class PromoterAsk(models.Model):
    """A promoter was asked for a referral: a coming refer-a-friend touch pulled forward, or
    an enrollment in the program that asks promoters. At most one per customer per period."""

    class How(models.TextChoices):
        PULLED_FORWARD = "pulled_forward", gettext_lazy("Refer-a-friend touch pulled forward")
        ENROLLED = "enrolled", gettext_lazy("Enrolled in the program that asks promoters")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    touch = models.ForeignKey("Touch", null=True, on_delete=models.SET_NULL, related_name="+")
    how = models.CharField(max_length=16, choices=How)
    asked_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [models.Index(fields=["customer", "asked_at"], name="promoter_ask_recent")]

    def __str__(self) -> str:
        return f"referral ask of {self.customer_id} ({self.how})"


class UnsubscribeToken(models.Model):
    """An unguessable token for a customer's one-click unsubscribe link on one channel."""

    token = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="unsubscribe_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel} unsubscribe link of {self.customer_id}"
