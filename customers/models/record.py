"""The customer record: people, accounts, consent and the timeline."""

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.timezone import now
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from customers import sayings
from customers.contact import normalize_email, normalize_phone
from customers.models.ladder import BondStage, Tier
from customers.models.preferences import Frequency


class Audience(models.TextChoices):
    RETAIL = "retail", gettext_lazy("Retail")
    B2B = "b2b", gettext_lazy("B2B")


class Relationship(models.TextChoices):
    PROSPECT = "prospect", gettext_lazy("Prospect")
    CUSTOMER = "customer", gettext_lazy("Customer")
    CHANNEL_PARTNER = "channel_partner", gettext_lazy("Channel partner")
    INTERNAL_SALES = "internal_sales", gettext_lazy("Internal sales")


class PartnerKind(models.TextChoices):
    VAR = "var", gettext_lazy("VAR (value-added reseller)")
    DEALER = "dealer", gettext_lazy("Dealer")
    JOBBER = "jobber", gettext_lazy("Jobber")


class Channel(models.TextChoices):
    """The channels a touch can go out on, and that a customer consents to."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone call")
    LETTER = "letter", _("Letter")


# Read once: zoneinfo rereads the time-zone database on every call.
TIME_ZONES = frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value and value not in TIME_ZONES:
        raise ValidationError(
            _("“%(value)s” is not a known time zone (e.g. Europe/Paris)."),
            code="invalid_timezone",
            params={"value": value},
        )


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
    email = models.EmailField(
        max_length=254, blank=True, help_text=gettext_lazy("Stored in lower case.")
    )
    phone = models.CharField(
        max_length=20, blank=True, help_text=gettext_lazy("Stored in E.164, e.g. +4420…")
    )
    postal_address = models.TextField(
        blank=True, help_text=gettext_lazy("For letters: one line per line.")
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    audience = models.CharField(max_length=10, choices=Audience, default=Audience.RETAIL)
    relationship = models.CharField(
        max_length=20, choices=Relationship, default=Relationship.PROSPECT
    )
    partner_kind = models.CharField(
        max_length=10,
        choices=PartnerKind,
        blank=True,
        help_text=gettext_lazy("For channel partners only."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        help_text=gettext_lazy("The account manager who looks after this customer."),
    )
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text=gettext_lazy("Blank means the organization's time zone."),
    )
    preferred_channel = models.CharField(max_length=10, choices=Channel, default=Channel.EMAIL)
    # The language public pages and touches speak to this customer; blank is the organization's
    # (LANGUAGE_CODE).
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        db_default="",
        help_text="Blank means the organization's language.",
    )
    consent_email = models.BooleanField(default=False)
    consent_sms = models.BooleanField(default=False)
    consent_phone = models.BooleanField(default=False)
    consent_letter = models.BooleanField(default=False)
    # Told us on the preference center (or by a sync client); see customers/models/preferences.py.
    frequency = models.CharField(
        max_length=10, choices=Frequency, default=Frequency.USUAL, db_default=Frequency.USUAL
    )
    topics = models.ManyToManyField("customers.Topic", blank=True, related_name="customers")
    # Set when the e-mail provider reports the address dead (a hard bounce, a rejection, three
    # soft bounces within 30 days): nothing is e-mailed to it until the address changes.
    email_suspended_reason = models.CharField(max_length=200, blank=True, default="", db_default="")
    email_suspended_at = models.DateTimeField(null=True, blank=True)
    estimated_wallet = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=gettext_lazy("What this customer spends a year in our category, with anyone."),
    )

    tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="customers")
    highest_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    manual_tier_until = models.DateField(null=True, blank=True)
    # The soft landing (customers/standing.py): the rung is kept until its review date; a
    # customer short of it at review is at risk of dropping one rung until tier_at_risk_until.
    tier_review_on = models.DateField(null=True, blank=True)
    tier_at_risk_until = models.DateField(null=True, blank=True)
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
        help_text=gettext_lazy("Set on the tombstone of a customer merged into another."),
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
                fields=["owner", "tier_at_risk_until", "id"],
                name="customer_owner_tier_at_risk",
                condition=Q(deleted_at__isnull=True, tier_at_risk_until__isnull=False),
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
            # An audience's customers by risk: "B2B clients at risk" counted from the index
            # alone (its ids included), not from 40,000 rows of the table at a million.
            models.Index(
                fields=["audience", "-churn_risk", "id"],
                name="customer_audience_risk",
                condition=Q(deleted_at__isnull=True),
            ),
            # Segments by latest NPS answer ("detractors who bought hardware"): the customers
            # who answered in a range, from the index alone, not a scan of every customer.
            models.Index(
                fields=["nps_latest", "-churn_risk", "id"],
                name="customer_nps_risk",
                condition=Q(deleted_at__isnull=True, nps_latest__isnull=False),
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
            raise ValidationError(
                {"partner_kind": gettext("Only channel partners have a partner kind.")}
            )
        if not (self.first_name or self.last_name or self.email):
            raise ValidationError(gettext("A customer needs a name or an e-mail address."))

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
        max_length=100,
        help_text=gettext_lazy("How: web form, phone call, unsubscribe link, import…"),
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


class TimelineEntry(models.Model):
    """One line of the customer's timeline: every event, from any app, newest first."""

    class Kind(models.TextChoices):
        INTERACTION = "interaction", gettext_lazy("Interaction")
        COMPLAINT = "complaint", gettext_lazy("Complaint")
        COMPLAINT_RESOLVED = "complaint_resolved", gettext_lazy("Complaint resolved")
        PURCHASE = "purchase", gettext_lazy("Purchase")
        CONTRACT = "contract", gettext_lazy("Contract")
        REFERRAL = "referral", gettext_lazy("Referral")
        REWARD = "reward", gettext_lazy("Reward")
        TIER = "tier", gettext_lazy("Tier change")
        TIER_AT_RISK = "tier_at_risk", gettext_lazy("At risk of dropping a tier")
        BOND = "bond", gettext_lazy("Bond stage")
        FOLLOW_UP = "follow_up", gettext_lazy("Follow-up done")
        CONSENT = "consent", gettext_lazy("Consent")
        TOUCH = "touch", gettext_lazy("Program touch")
        SURVEY = "survey", gettext_lazy("Survey answer")
        MERGE = "merge", gettext_lazy("Merge")
        NOTE = "note", gettext_lazy("Note")
        PREFERENCES = "preferences", gettext_lazy("Preferences")
        VALUE_ANSWER = "value_answer", gettext_lazy("What they value")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=20, choices=Kind)
    occurred_at = models.DateTimeField(default=now)
    # The English text: what old rows and free text show (see customers/sayings.py).
    title = models.CharField(max_length=300)
    # The message id and its parameters, so the line reads in the reader's language.
    title_key = models.CharField(max_length=200, blank=True, default="")
    title_args = models.JSONField(blank=True, default=dict)
    detail = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_id = models.BigIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("The id of the row this entry tells of, in its kind's table."),
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "timeline entries"
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="timeline_customer_at")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def shown_title(self) -> str:
        """The line in the reader's (active) language; the stored English for old rows."""
        return sayings.shown(key=self.title_key, args=self.title_args, fallback=self.title)
