"""Tables of the project itself: API tokens."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy


def hash_key(key: str) -> str:
    """Tokens are stored hashed: a leaked database does not leak working keys."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A key a REST client signs its requests with; shown once, stored hashed, revocable."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(
        max_length=100, help_text=gettext_lazy("What uses it, e.g. “shop sync”.")
    )
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(
        max_length=12, help_text=gettext_lazy("The first characters, to recognise it.")
    )
    created_at = models.DateTimeField(default=now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user"], name="apitoken_live_user", condition=Q(revoked_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# The dashboard's tallies. A million customers and millions of touches cannot be scanned on
# every page view, so the org-wide and audience-wide figures are summed from these small
# tables, which bonding.services keeps equal to the raw rows (tests compare them).


class TouchTally(models.Model):
    """Sent (or waiting) touches of one closed UTC day, per step, audience and whether the
    customer is a prospect, with how many of them were answered. Live customers only."""

    day = models.DateField()
    step = models.ForeignKey("programs.Step", on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=10)
    prospect = models.BooleanField()
    sent = models.PositiveIntegerField()
    responded = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "step", "audience", "prospect"], name="touchtally_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} step {self.step_id} {self.audience}: {self.sent} sent"


class OwnerTouchTally(models.Model):
    """The touch tally split by owner too, for one owner's dashboard (owner null: nobody)."""

    day = models.DateField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    step = models.ForeignKey("programs.Step", on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=10)
    prospect = models.BooleanField()
    sent = models.PositiveIntegerField()
    responded = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["owner", "day"], name="ownertouchtally_owner_day")]

    def __str__(self) -> str:
        return f"{self.day} owner {self.owner_id} step {self.step_id}: {self.sent} sent"


class TouchStateTally(models.Model):
    """Touches due within 7 days of the refresh (per channel), failed or for review, of live
    customers per audience and owner; rebuilt every minute."""

    audience = models.CharField(max_length=10)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=10)
    channel = models.CharField(max_length=10)
    touches = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.audience} {self.status} {self.channel}: {self.touches}"


class DetractorTally(models.Model):
    """Detractors' follow-ups still open, of live customers per audience and owner; rebuilt
    every minute with the touch states."""

    audience = models.CharField(max_length=10)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    waiting = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.audience} owner {self.owner_id}: {self.waiting} waiting"


class TouchDay(models.Model):
    """How many sent or waiting touches a tallied day held, whoever they went to: a day whose
    count has changed since (a touch deleted, a waiting touch done later) is tallied again."""

    day = models.DateField(primary_key=True)
    touches = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.day}: {self.touches}"


class LadderTally(models.Model):
    """Live customers per tier, audience and owner, with their lifetime value and share of
    wallet summed and their recent tier moves; rebuilt every minute."""

    tier = models.ForeignKey(
        "customers.Tier", null=True, on_delete=models.CASCADE, related_name="+"
    )
    audience = models.CharField(max_length=10)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    customers = models.PositiveIntegerField()
    lifetime_value = models.DecimalField(max_digits=20, decimal_places=2)
    share_of_wallet_sum = models.DecimalField(max_digits=16, decimal_places=4)
    share_of_wallet_count = models.PositiveIntegerField()
    # Tier moves of these customers in the 30 days before the tally: up into this tier, and
    # down out of it.
    promoted_in = models.PositiveIntegerField(default=0)
    demoted_out = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["owner"], name="laddertally_owner")]

    def __str__(self) -> str:
        return f"tier {self.tier_id} {self.audience} owner {self.owner_id}: {self.customers}"


class TallyState(models.Model):
    """How far the tallies are filled (one row)."""

    # The touch tally holds every day before this one; later touches are read live.
    touches_until = models.DateField(null=True, blank=True)
    # Changes to tallied days after this moment have not been looked for yet; touches sent
    # today before it are tallied too.
    touches_checked_at = models.DateTimeField(null=True, blank=True)
    ladder_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"touches until {self.touches_until}, ladder at {self.ladder_at}"


class DashboardAudience(models.Model):
    """The segment a user's dashboard is computed over (no row: everyone they see)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboard_audience"
    )
    # A forgotten segment takes the choice with it: the dashboard is back to everyone.
    segment = models.ForeignKey("customers.Segment", on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.user_id}: segment {self.segment_id}"


class StaffLanguage(models.Model):
    """The language a staff user chose for the pages; without one, the browser's
    (LocaleMiddleware), else the organization's."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_language"
    )
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, blank=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.language or 'browser'}"
