"""What account managers log on a customer: interactions, complaints, purchases, contracts,
referrals, rewards and follow-ups."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.timezone import localdate, now
from django.utils.translation import gettext_lazy

from customers import sayings
from customers.models.record import Customer


class Interaction(models.Model):
    """A conversation or contact an account manager logged."""

    class Kind(models.TextChoices):
        CALL = "call", gettext_lazy("Call")
        EMAIL = "email", gettext_lazy("E-mail")
        MEETING = "meeting", gettext_lazy("Meeting")
        SMS = "sms", gettext_lazy("SMS")
        CHAT = "chat", gettext_lazy("Chat")
        SOCIAL = "social", gettext_lazy("Social")
        EVENT = "event", gettext_lazy("Event")
        LETTER = "letter", gettext_lazy("Letter")
        SUPPORT = "support", gettext_lazy("Support")

    class Direction(models.TextChoices):
        INBOUND = "inbound", gettext_lazy("Inbound")
        OUTBOUND = "outbound", gettext_lazy("Outbound")

    class Sentiment(models.TextChoices):
        NEGATIVE = "negative", gettext_lazy("Negative")
        NEUTRAL = "neutral", gettext_lazy("Neutral")
        POSITIVE = "positive", gettext_lazy("Positive")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Kind, default=Kind.CALL)
    direction = models.CharField(max_length=10, choices=Direction, default=Direction.OUTBOUND)
    occurred_at = models.DateTimeField(default=now)
    # The English text; what the code writes (a reply's) also keeps its message id and parameters.
    summary = models.CharField(max_length=200)
    summary_key = models.CharField(max_length=200, blank=True, default="")
    summary_args = models.JSONField(blank=True, default=dict)
    notes = models.TextField(blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment, default=Sentiment.NEUTRAL)
    follow_up_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_at")
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def shown_summary(self) -> str:
        """The summary in the reader's (active) language; as written when someone wrote it."""
        return sayings.shown(key=self.summary_key, args=self.summary_args, fallback=self.summary)

    @property
    def quoted_summary(self) -> dict | str:
        """The summary as a parameter of another stored text (its timeline line, a follow-up)."""
        return sayings.quoted(key=self.summary_key, args=self.summary_args, text=self.summary)

    @property
    def is_two_way(self) -> bool:
        """A real exchange, not a message sent into the void (Cross's relationship stage)."""
        return self.direction == self.Direction.INBOUND or self.channel in (
            self.Kind.MEETING,
            self.Kind.SUPPORT,
            self.Kind.CALL,
            self.Kind.CHAT,
        )


class Complaint(models.Model):
    """A complaint: welcomed, owned, and resolved; resolution counts in the customer's favour."""

    class Severity(models.TextChoices):
        LOW = "low", gettext_lazy("Low")
        MEDIUM = "medium", gettext_lazy("Medium")
        HIGH = "high", gettext_lazy("High")

    class Status(models.TextChoices):
        OPEN = "open", gettext_lazy("Open")
        RESOLVED = "resolved", gettext_lazy("Resolved")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="complaints")
    opened_at = models.DateTimeField(default=now)
    category = models.CharField(max_length=60)
    severity = models.CharField(max_length=10, choices=Severity, default=Severity.MEDIUM)
    description = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN)
    resolution = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(
        auto_now=True, help_text=gettext_lazy("Moved on every write.")
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | Q(status="resolved", resolved_at__isnull=False),
                name="complaint_resolved_has_date",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "-opened_at"], name="complaint_customer_at"),
            models.Index(
                fields=["owner", "-opened_at"],
                name="complaint_open_owner",
                condition=Q(status="open"),
            ),
            models.Index(fields=["customer"], name="complaint_open", condition=Q(status="open")),
            models.Index(fields=["updated_at", "id"], name="complaint_updated_id"),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.description[:40]}"


class Purchase(models.Model):
    """Something the customer bought (negative amounts are refunds)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="purchases")
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    purchased_on = models.DateField(default=localdate)
    product_category = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-purchased_on", "-id"]
        indexes = [
            models.Index(fields=["customer", "-purchased_on"], name="purchase_customer_on"),
            # "Bought / never bought a category" asks, customer by customer, whether one of
            # their purchases is in it, comparing the upper case (like iexact): one probe of
            # this index. The category itself is carried along (INCLUDE, on PostgreSQL) so the
            # probe reads no table row: PostgreSQL answers from an expression index alone only
            # when the columns under the expression are in the index too.
            models.Index(
                F("customer"),
                Upper("product_category"),
                name="purchase_customer_upper_cat",
                include=["product_category"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.purchased_on}"


class Contract(models.Model):
    """A contract with a start, an end and a renewal to win."""

    class Renewal(models.TextChoices):
        PENDING = "pending", gettext_lazy("Renewal pending")
        RENEWED = "renewed", gettext_lazy("Renewed")
        LAPSED = "lapsed", gettext_lazy("Lapsed")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contracts")
    title = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField()
    value = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    renewal_status = models.CharField(max_length=10, choices=Renewal, default=Renewal.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ends_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")),
                name="contract_ends_after_start",
                violation_error_message="A contract cannot end before it starts.",
            )
        ]
        indexes = [models.Index(fields=["customer", "-ends_on"], name="contract_customer_end")]

    def __str__(self) -> str:
        return self.title


class Referral(models.Model):
    """A customer recommending someone: invited (a code or a name), signed up when the friend
    leaves their details, converted when they first buy, expired when the code is withdrawn."""

    class Status(models.TextChoices):
        INVITED = "invited", gettext_lazy("Invited")
        SIGNED_UP = "signed_up", gettext_lazy("Signed up")
        CONVERTED = "converted", gettext_lazy("Converted")
        EXPIRED = "expired", gettext_lazy("Expired")

    referrer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="referrals")
    referred_name = models.CharField(max_length=200, blank=True)
    referred_email = models.EmailField(blank=True)
    referred_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="referred_by"
    )
    code = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.INVITED)
    created_at = models.DateTimeField(default=now)
    converted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(
        auto_now=True, help_text=gettext_lazy("Moved on every write.")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["referrer", "status"], name="referral_referrer_status"),
            models.Index(fields=["updated_at", "id"], name="referral_updated_id"),
        ]

    def __str__(self) -> str:
        return self.code


class Reward(models.Model):
    """One line of a customer's reward ledger: earned (a positive value), or redeemed, expired
    or reversed (a negative one); the balance of a unit is the sum of its lines."""

    class Kind(models.TextChoices):
        GIFT = "gift", gettext_lazy("Gift")
        DISCOUNT = "discount", gettext_lazy("Discount")
        TRIAL = "trial", gettext_lazy("Trial")
        PREMIUM = "premium", gettext_lazy("Survey premium")

    class Movement(models.TextChoices):
        EARNED = "earned", gettext_lazy("Earned")
        REDEEMED = "redeemed", gettext_lazy("Redeemed")
        EXPIRED = "expired", gettext_lazy("Expired")
        REVERSED = "reversed", gettext_lazy("Reversed")

    class Cause(models.TextChoices):
        REFERRAL = "referral", gettext_lazy("Referral converted")
        FIRST_PURCHASE = "first_purchase", gettext_lazy("Referred friend's first purchase")
        PREMIUM = "premium", gettext_lazy("Survey premium")
        GIFT_STEP = "gift_step", gettext_lazy("Gift step")
        GOODWILL = "goodwill", gettext_lazy("Goodwill after a complaint")
        MANUAL = "manual", gettext_lazy("Manual")

    class Unit(models.TextChoices):
        # Points are the loyalty currency; money is a voucher in the organization's currency.
        POINTS = "points", gettext_lazy("Points")
        MONEY = "money", gettext_lazy("Money")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="rewards")
    movement = models.CharField(max_length=10, choices=Movement, default=Movement.EARNED)
    cause = models.CharField(max_length=20, choices=Cause, default=Cause.MANUAL)
    kind = models.CharField(
        max_length=10,
        choices=Kind,
        blank=True,
        help_text=gettext_lazy("What was given, for earned lines."),
    )
    unit = models.CharField(max_length=10, choices=Unit, default=Unit.POINTS)
    value = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal(0))
    # The English text; the code's own reasons also keep their message id and parameters.
    reason = models.CharField(max_length=200)
    reason_key = models.CharField(max_length=200, blank=True, default="")
    reason_args = models.JSONField(blank=True, default=dict)
    given_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField(null=True, blank=True)
    applies_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="taken_by",
        help_text=gettext_lazy("The earned line an expiry or a reversal takes from."),
    )
    source_key = models.CharField(
        max_length=150,
        blank=True,
        help_text=gettext_lazy("What wrote it, so the same event writes once."),
    )
    expiry_settled = models.BooleanField(
        default=False,
        help_text=gettext_lazy("Earned lines: what was left at expiry has been written off."),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-given_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(movement="earned", value__gte=0)
                | (~Q(movement="earned") & Q(value__lte=0)),
                name="reward_sign_follows_movement",
                violation_error_message="Earned lines add; redeemed, expired and reversed take.",
            ),
            models.CheckConstraint(
                condition=~Q(movement__in=["expired", "reversed"]) | Q(applies_to__isnull=False),
                name="reward_expiry_names_its_line",
            ),
            models.UniqueConstraint(
                fields=["source_key"], condition=~Q(source_key=""), name="reward_source_once"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-given_at"], name="reward_customer_at"),
            models.Index(
                fields=["expires_at"],
                name="reward_expiry_due",
                condition=Q(movement="earned", expiry_settled=False, expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_movement_display()} {self.value} {self.unit}: {self.reason}"

    @property
    def shown_reason(self) -> str:
        """The reason in the reader's (active) language; as written when someone wrote it."""
        return sayings.shown(key=self.reason_key, args=self.reason_args, fallback=self.reason)


class RewardRule(models.Model):
    """What a customer earns when something happens, once per event: organization-wide (one
    active rule per event), or carried by a program step (earned once per touch sent)."""

    class Event(models.TextChoices):
        REFERRAL_CONVERTED = (
            "referral_converted",
            gettext_lazy("A referral converts: the referrer earns"),
        )
        FRIEND_FIRST_PURCHASE = (
            "friend_first_purchase",
            gettext_lazy("A referred friend buys: the friend earns"),
        )
        SURVEY_ANSWERED = (
            "survey_answered",
            gettext_lazy("A survey is answered: the customer earns"),
        )
        STEP_SENT = "step_sent", gettext_lazy("A program step is sent: the customer earns")

    event = models.CharField(max_length=30, choices=Event)
    kind = models.CharField(
        max_length=10, choices=Reward.Kind, blank=True, help_text="What is given (a step's gift)."
    )
    value = models.DecimalField(max_digits=10, decimal_places=2)
    unit = models.CharField(max_length=10, choices=Reward.Unit, default=Reward.Unit.POINTS)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event"]
        constraints = [
            # Step rules are many (one per step that carries one); the others one per event.
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(active=True) & ~Q(event="step_sent"),
                name="reward_rule_one_per_event",
            ),
            # A step's gift may have no value (a free trial); an organization rule gives.
            models.CheckConstraint(
                condition=Q(value__gt=0) | Q(event="step_sent", value__gte=0),
                name="reward_rule_gives",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()}: {self.value} {self.unit}"


class RewardPolicy(models.Model):
    """The organization's own reward values, set by marketers (one row). Without the row,
    the settings' defaults apply."""

    goodwill_limit = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
        help_text="The most an account manager grants as goodwill at once.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="reward_policy_one_row"),
            models.CheckConstraint(
                condition=Q(goodwill_limit__gte=0), name="reward_policy_limit_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Goodwill up to {self.goodwill_limit}"


class FollowUp(models.Model):
    """Something an account manager must do for a customer by a date: their to-do list."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="follow_ups")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    due_at = models.DateTimeField()
    # The English text; the code's own reasons also keep their message id and parameters
    # (customers/sayings.py), so they read in the reader's language.
    reason = models.CharField(max_length=300)
    reason_key = models.CharField(max_length=200, blank=True, default="")
    reason_args = models.JSONField(blank=True, default=dict)
    notes = models.TextField(blank=True)
    source = models.CharField(
        max_length=30,
        blank=True,
        help_text=gettext_lazy("What created it: interaction, detractor, call…"),
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(
        auto_now=True, help_text=gettext_lazy("Moved on every write.")
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["assignee", "due_at"],
                name="followup_open_assignee",
                condition=Q(done_at__isnull=True),
            ),
            models.Index(fields=["customer", "due_at"], name="followup_customer_due"),
            models.Index(fields=["updated_at", "id"], name="followup_updated_id"),
        ]

    def __str__(self) -> str:
        return self.reason

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        """Open and due before today (in the viewer's time zone): one due at 9:00 is "today"
        all day, not "overdue" from 9:01."""
        return self.done_at is None and localdate(self.due_at) < localdate()

    @property
    def is_due_today(self) -> bool:
        return self.done_at is None and localdate(self.due_at) == localdate()

    @property
    def shown_reason(self) -> str:
        """The reason in the reader's (active) language; as written when someone wrote it."""
        return sayings.shown(key=self.reason_key, args=self.reason_args, fallback=self.reason)
