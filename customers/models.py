"""The one record of every customer: people, accounts, the ladder and everything logged on them."""

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.timezone import localdate, now

from customers.contact import normalize_email, normalize_phone
from customers.ladder import BOND_STAGE_NAMES
from customers.value import BgNbdParams, GammaGammaParams


class Audience(models.TextChoices):
    RETAIL = "retail", "Retail"
    B2B = "b2b", "B2B"


class Relationship(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    CUSTOMER = "customer", "Customer"
    CHANNEL_PARTNER = "channel_partner", "Channel partner"
    INTERNAL_SALES = "internal_sales", "Internal sales"


class PartnerKind(models.TextChoices):
    VAR = "var", "VAR (value-added reseller)"
    DEALER = "dealer", "Dealer"
    JOBBER = "jobber", "Jobber"


class Channel(models.TextChoices):
    """The channels a touch can go out on, and that a customer consents to."""

    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone call"
    LETTER = "letter", "Letter"


class BondStage(models.TextChoices):
    """Richard Cross's five bonding stages, shallowest first (rules in customers/ladder.py)."""

    AWARENESS = "awareness", BOND_STAGE_NAMES["awareness"]
    IDENTITY = "identity", BOND_STAGE_NAMES["identity"]
    RELATIONSHIP = "relationship", BOND_STAGE_NAMES["relationship"]
    COMMUNITY = "community", BOND_STAGE_NAMES["community"]
    ADVOCACY = "advocacy", BOND_STAGE_NAMES["advocacy"]


# Read once: zoneinfo rereads the time-zone database on every call.
TIME_ZONES = frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value and value not in TIME_ZONES:
        raise ValidationError(f"“{value}” is not a known time zone (e.g. Europe/Paris).")


class Tier(models.Model):
    """One rung of the ladder; rank orders them from the bottom (0) up."""

    rank = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    colour = models.CharField(max_length=7, default="#6b7280", help_text="A CSS colour, #rrggbb.")

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    """A company a B2B customer works for."""

    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    industry = models.CharField(max_length=100, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(Lower("name"), name="account_name_lower")]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A person we keep a relationship with, prospect or customer, retail or B2B."""

    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, blank=True, help_text="Stored in lower case.")
    phone = models.CharField(max_length=20, blank=True, help_text="Stored in E.164, e.g. +4420…")
    postal_address = models.TextField(blank=True, help_text="For letters: one line per line.")
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    audience = models.CharField(max_length=10, choices=Audience, default=Audience.RETAIL)
    relationship = models.CharField(
        max_length=20, choices=Relationship, default=Relationship.PROSPECT
    )
    partner_kind = models.CharField(
        max_length=10, choices=PartnerKind, blank=True, help_text="For channel partners only."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        help_text="The account manager who looks after this customer.",
    )
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text="Blank means the organization's time zone.",
    )
    preferred_channel = models.CharField(max_length=10, choices=Channel, default=Channel.EMAIL)
    consent_email = models.BooleanField(default=False)
    consent_sms = models.BooleanField(default=False)
    consent_phone = models.BooleanField(default=False)
    consent_letter = models.BooleanField(default=False)
    estimated_wallet = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="What this customer spends a year in our category, with anyone.",
    )

    tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="customers")
    highest_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    manual_tier_until = models.DateField(null=True, blank=True)
    bond_stage = models.CharField(max_length=20, choices=BondStage, default="awareness")

    # Value figures: stored so lists sort by them at once; refreshed on events and nightly.
    lifetime_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    predicted_value_12m = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    probability_alive = models.FloatField(null=True, blank=True)
    share_of_wallet = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    churn_risk = models.PositiveSmallIntegerField(default=0)
    churn_reasons = models.JSONField(default=list, blank=True)
    rfm_segment = models.CharField(max_length=30, blank=True)
    value_method = models.CharField(max_length=20, blank=True)
    value_refreshed_at = models.DateTimeField(null=True, blank=True)
    first_purchase_on = models.DateField(null=True, blank=True)
    last_purchase_on = models.DateField(null=True, blank=True)

    nps_latest = models.PositiveSmallIntegerField(null=True, blank=True)
    nps_latest_at = models.DateTimeField(null=True, blank=True)

    deleted_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Set on the tombstone of a customer merged into another.",
    )
    created_at = models.DateTimeField(default=now, db_index=True)
    updated_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(deleted_at__isnull=True) & ~Q(email=""),
                name="customer_live_email_unique",
                violation_error_code="unique",
                violation_error_message="Another customer already has this e-mail address.",
            ),
            models.CheckConstraint(
                condition=Q(churn_risk__lte=100), name="customer_churn_risk_at_most_100"
            ),
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="customer_email_lower_case"
            ),
            models.CheckConstraint(
                condition=Q(nps_latest__isnull=True) | Q(nps_latest__lte=10),
                name="customer_nps_latest_0_to_10",
            ),
        ]
        indexes = [
            models.Index(
                fields=["owner", "-churn_risk", "id"],
                name="customer_owner_risk",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["-churn_risk", "id"],
                name="customer_risk",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["tier", "-churn_risk", "id"],
                name="customer_tier_risk",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["-lifetime_value", "id"],
                name="customer_value",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["-predicted_value_12m", "id"],
                name="customer_predicted_value",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["owner", "-lifetime_value", "id"], name="customer_owner_value"),
            models.Index(fields=["updated_at", "id"], name="customer_updated_id"),
            # The API's sort by surname (the pages sort by customer_surname_search).
            models.Index(
                fields=["last_name", "id"],
                name="customer_last_name_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["phone"], name="customer_phone", condition=~Q(phone="")),
            models.Index(Lower("last_name"), Lower("first_name"), name="customer_name_lower"),
            models.Index(
                fields=["deleted_at"],
                name="customer_deleted",
                condition=Q(deleted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Customer {self.pk}"

    def clean(self) -> None:
        self.email = normalize_email(self.email)
        try:
            self.phone = normalize_phone(self.phone, region=settings.PHONE_REGION)
        except ValidationError as error:
            raise ValidationError({"phone": error.messages}) from error
        if self.partner_kind and self.relationship != Relationship.CHANNEL_PARTNER:
            raise ValidationError({"partner_kind": "Only channel partners have a partner kind."})
        if not (self.first_name or self.last_name or self.email):
            raise ValidationError("A customer needs a name or an e-mail address.")

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def consents(self) -> dict[str, bool]:
        return {channel: getattr(self, f"consent_{channel}") for channel in Channel.values}

    def has_consent(self, channel: str) -> bool:
        return getattr(self, f"consent_{channel}", False)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ConsentChange(models.Model):
    """When and how a customer gave or withdrew consent to be contacted on one channel."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_changes")
    channel = models.CharField(max_length=10, choices=Channel)
    granted = models.BooleanField()
    source = models.CharField(
        max_length=100, help_text="How: web form, phone call, unsubscribe link, import…"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["customer", "-changed_at"], name="consent_customer_at")]

    def __str__(self) -> str:
        return f"{'Gave' if self.granted else 'Withdrew'} {self.channel} consent ({self.source})"


class TierChange(models.Model):
    """One move of a customer on the ladder, up or down, with its reason."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_tier = models.ForeignKey(Tier, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=now)
    reason = models.CharField(max_length=300)
    rule = models.CharField(max_length=60, blank=True, help_text="The rule that moved them.")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Set when a person moved them by hand.",
    )
    direction = models.CharField(max_length=4, choices=[("up", "Up"), ("down", "Down")])

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-changed_at"], name="tierchange_customer_at"),
            models.Index(fields=["changed_at", "to_tier"], name="tierchange_at_tier"),
        ]

    def __str__(self) -> str:
        return f"{self.from_tier} → {self.to_tier}: {self.reason}"


class BondChange(models.Model):
    """One move of a customer between Cross's bonding stages."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="bond_changes")
    from_stage = models.CharField(max_length=20, choices=BondStage, blank=True)
    to_stage = models.CharField(max_length=20, choices=BondStage)
    changed_at = models.DateTimeField(default=now)
    reason = models.CharField(max_length=300)
    rule = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["customer", "-changed_at"], name="bondchange_customer_at")]

    def __str__(self) -> str:
        return f"{self.from_stage or '—'} → {self.to_stage}: {self.reason}"


class Interaction(models.Model):
    """A conversation or contact an account manager logged."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "E-mail"
        MEETING = "meeting", "Meeting"
        SMS = "sms", "SMS"
        CHAT = "chat", "Chat"
        SOCIAL = "social", "Social"
        EVENT = "event", "Event"
        LETTER = "letter", "Letter"
        SUPPORT = "support", "Support"

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Sentiment(models.TextChoices):
        NEGATIVE = "negative", "Negative"
        NEUTRAL = "neutral", "Neutral"
        POSITIVE = "positive", "Positive"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Kind, default=Kind.CALL)
    direction = models.CharField(max_length=10, choices=Direction, default=Direction.OUTBOUND)
    occurred_at = models.DateTimeField(default=now)
    summary = models.CharField(max_length=200)
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
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

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
    updated_at = models.DateTimeField(auto_now=True, help_text="Moved on every write.")

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
        indexes = [models.Index(fields=["customer", "-purchased_on"], name="purchase_customer_on")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.purchased_on}"


class Contract(models.Model):
    """A contract with a start, an end and a renewal to win."""

    class Renewal(models.TextChoices):
        PENDING = "pending", "Renewal pending"
        RENEWED = "renewed", "Renewed"
        LAPSED = "lapsed", "Lapsed"
        CANCELLED = "cancelled", "Cancelled"

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
    """A customer recommending someone; converted when that person buys."""

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        CONVERTED = "converted", "Converted"

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
    updated_at = models.DateTimeField(auto_now=True, help_text="Moved on every write.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["referrer", "status"], name="referral_referrer_status"),
            models.Index(fields=["updated_at", "id"], name="referral_updated_id"),
        ]

    def __str__(self) -> str:
        return self.code


class Reward(models.Model):
    """Something given to a customer: a gift, a discount, a trial, a premium for answering."""

    class Kind(models.TextChoices):
        GIFT = "gift", "Gift"
        DISCOUNT = "discount", "Discount"
        TRIAL = "trial", "Trial"
        PREMIUM = "premium", "Survey premium"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="rewards")
    kind = models.CharField(max_length=10, choices=Kind)
    value = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal(0))
    reason = models.CharField(max_length=200)
    given_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-given_at", "-id"]
        indexes = [models.Index(fields=["customer", "-given_at"], name="reward_customer_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reason}"


class FollowUp(models.Model):
    """Something an account manager must do for a customer by a date: their to-do list."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="follow_ups")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    due_at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    notes = models.TextField(blank=True)
    source = models.CharField(
        max_length=30, blank=True, help_text="What created it: interaction, detractor, call…"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True, help_text="Moved on every write.")

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
        return self.done_at is None and self.due_at < now()


class TimelineEntry(models.Model):
    """One line of the customer's timeline: every event, from any app, newest first."""

    class Kind(models.TextChoices):
        INTERACTION = "interaction", "Interaction"
        COMPLAINT = "complaint", "Complaint"
        COMPLAINT_RESOLVED = "complaint_resolved", "Complaint resolved"
        PURCHASE = "purchase", "Purchase"
        CONTRACT = "contract", "Contract"
        REFERRAL = "referral", "Referral"
        REWARD = "reward", "Reward"
        TIER = "tier", "Tier change"
        BOND = "bond", "Bond stage"
        FOLLOW_UP = "follow_up", "Follow-up done"
        CONSENT = "consent", "Consent"
        TOUCH = "touch", "Program touch"
        SURVEY = "survey", "Survey answer"
        MERGE = "merge", "Merge"
        NOTE = "note", "Note"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=20, choices=Kind)
    occurred_at = models.DateTimeField(default=now)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_id = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="The id of the row this entry tells of, in its kind's table.",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "timeline entries"
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="timeline_customer_at")
        ]

    def __str__(self) -> str:
        return self.title


class ValueModel(models.Model):
    """The BG/NBD and Gamma-Gamma parameters fitted nightly over the whole customer base."""

    fitted_at = models.DateTimeField(default=now)
    customers = models.PositiveIntegerField()
    bg_nbd_params = models.JSONField()
    gamma_gamma_params = models.JSONField()

    class Meta:
        ordering = ["-fitted_at"]

    def __str__(self) -> str:
        return f"Value model of {self.fitted_at:%Y-%m-%d %H:%M}"

    @property
    def bg_nbd(self) -> BgNbdParams:
        return BgNbdParams(**self.bg_nbd_params)

    @property
    def gamma_gamma(self) -> GammaGammaParams:
        return GammaGammaParams(**self.gamma_gamma_params)


class ImportJob(models.Model):
    """One CSV file a marketer uploaded: how its columns map to fields, its progress and outcome."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        MAPPED = "mapped", "Mapped"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes.")
    delimiter = models.CharField(max_length=1, default=",")
    encoding = models.CharField(
        max_length=20, default="UTF-8", help_text="What the upload check found the file to be."
    )
    header = models.JSONField(default=list)
    # Column index (as a string, JSON keys are strings) -> field name or "ignore".
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    progressed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(processed_rows__lte=models.F("total_rows")),
                name="import_job_processed_at_most_total",
            ),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def percent(self) -> int:
        return 100 * self.processed_rows // self.total_rows if self.total_rows else 100


class ImportChunk(models.Model):
    """About a megabyte of an uploaded file, so any worker reads it from the database."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="import_chunk_job_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.seq}"


class ImportRejection(models.Model):
    """A row of an import that did not land: its cells as read, and why."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField(help_text="The row's number in the file; the header is 1.")
    raw = models.JSONField(default=list)
    reason = models.TextField()

    class Meta:
        ordering = ["job", "line"]
        constraints = [
            models.UniqueConstraint(fields=["job", "line"], name="import_rejection_job_line_unique")
        ]

    def __str__(self) -> str:
        return f"Row {self.line}: {self.reason}"
