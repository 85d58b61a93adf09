"""The ladder: its rungs, and every move of a customer up or down it and along the bond stages."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy

from customers import sayings
from customers.ladder import BOND_STAGE_NAMES


class BondStage(models.TextChoices):
    """Richard Cross's five bonding stages, shallowest first (rules in customers/ladder.py)."""

    AWARENESS = "awareness", BOND_STAGE_NAMES["awareness"]
    IDENTITY = "identity", BOND_STAGE_NAMES["identity"]
    RELATIONSHIP = "relationship", BOND_STAGE_NAMES["relationship"]
    COMMUNITY = "community", BOND_STAGE_NAMES["community"]
    ADVOCACY = "advocacy", BOND_STAGE_NAMES["advocacy"]


class Tier(models.Model):
    """One rung of the ladder; rank orders them from the bottom (0) up."""

    rank = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    colour = models.CharField(
        max_length=7, default="#6b7280", help_text=gettext_lazy("A CSS colour, #rrggbb.")
    )
    review_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=gettext_lazy(
            "How long this rung is kept before its review, in days; blank: the ladder's."
        ),
    )

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name


class TierChange(models.Model):
    """One move of a customer on the ladder, up or down, with its reason."""

    customer = models.ForeignKey("Customer", on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_tier = models.ForeignKey(Tier, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=now)
    # The English text; the rules' reasons also keep their message id and parameters.
    reason = models.CharField(max_length=300)
    reason_key = models.CharField(max_length=200, blank=True, default="")
    reason_args = models.JSONField(blank=True, default=dict)
    rule = models.CharField(
        max_length=60, blank=True, help_text=gettext_lazy("The rule that moved them.")
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=gettext_lazy("Set when a person moved them by hand."),
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

    @property
    def shown_reason(self) -> str:
        """The reason in the reader's (active) language; as written when someone wrote it."""
        return sayings.shown(key=self.reason_key, args=self.reason_args, fallback=self.reason)


class BondChange(models.Model):
    """One move of a customer between Cross's bonding stages."""

    customer = models.ForeignKey("Customer", on_delete=models.CASCADE, related_name="bond_changes")
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
