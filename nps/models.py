"""NPS surveys, the invitations that carry them, and the answers customers give."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy

from customers.models import Channel, Customer


class Survey(models.Model):
    """The three questions (wording editable), a premium for answering, an optional question."""

    name = models.CharField(max_length=120)
    question_score = models.CharField(
        max_length=300,
        default="How likely are you to recommend us to a family member, friend or colleague?",
    )
    question_why = models.CharField(max_length=300, default="Why did you give that score?")
    question_improve = models.CharField(
        max_length=300, default="What would we have to do to earn a 10?"
    )
    ask_preferred_channel = models.BooleanField(
        default=False, help_text=gettext_lazy("Ask how the customer prefers to be contacted.")
    )
    premium = models.CharField(
        max_length=200,
        blank=True,
        help_text=gettext_lazy("Offered for answering, recorded as a reward."),
    )
    is_active = models.BooleanField(default=True)
    valid_days = models.PositiveSmallIntegerField(
        default=30, help_text=gettext_lazy("How long an invitation stays open.")
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    """One customer asked to answer one survey, through an unguessable link."""

    # A survey that was sent is paused, never deleted: its answers are counted in the tallies.
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    channel = models.CharField(max_length=10, choices=Channel, default=Channel.EMAIL)
    token = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    touch_id = models.BigIntegerField(
        null=True, blank=True, help_text=gettext_lazy("The program touch that sent it, if any.")
    )
    emailed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("When the invitation e-mail went out (never twice)."),
    )
    # Denormalised when sent, so the response rate by audience is counted in the tallies.
    audience = models.CharField(max_length=10, blank=True)
    # The customer's owner when sent: one owner's response rate is read from an index on it,
    # as their NPS is from the answers' owner, not by joining every customer they have.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-sent_at"], name="invitation_customer_at"),
            models.Index(fields=["sent_at"], name="invitation_sent_at"),
            models.Index(fields=["owner", "sent_at"], name="invitation_owner_at"),
            # Delivery reads a batch's survey links by their touches.
            models.Index(
                fields=["touch_id"], name="invitation_touch", condition=Q(touch_id__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} for {self.customer_id}"

    @property
    def is_open(self) -> bool:
        return self.expires_at > now()


class Response(models.Model):
    """A customer's answer: the score, why, what would earn a 10; one per invitation."""

    class Category(models.TextChoices):
        PROMOTER = "promoter", gettext_lazy("Promoter")
        PASSIVE = "passive", gettext_lazy("Passive")
        DETRACTOR = "detractor", gettext_lazy("Detractor")

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="nps_responses")
    score = models.PositiveSmallIntegerField()
    category = models.CharField(max_length=10, choices=Category)
    why = models.TextField(blank=True)
    improve = models.TextField(blank=True)
    preferred_channel = models.CharField(max_length=10, choices=Channel, blank=True)
    # Denormalised when answered, so NPS groups by tier, owner and program in one scan.
    tier_slug = models.CharField(max_length=60, blank=True)
    owner_id_at_answer = models.BigIntegerField(null=True, blank=True)
    program_id = models.BigIntegerField(null=True, blank=True)
    audience = models.CharField(max_length=10, blank=True)
    answered_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-answered_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=10), name="response_score_0_to_10")
        ]
        indexes = [
            # With the id: newest first with ties (answers bulk-loaded at one moment) unsorted.
            models.Index(fields=["answered_at", "id"], name="response_answered_at_id"),
            models.Index(fields=["customer", "-answered_at"], name="response_customer_at"),
            models.Index(
                fields=["category", "-answered_at", "-id"], name="response_category_at_id"
            ),
            models.Index(fields=["owner_id_at_answer", "answered_at"], name="response_owner_at"),
        ]

    def __str__(self) -> str:
        return f"{self.score} from {self.customer_id}"


class FatigueSkip(models.Model):
    """A customer not invited because they were asked or answered too recently."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200)
    skipped_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-skipped_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id} skipped: {self.reason}"


class DayTally(models.Model):
    """How many answers gave each score, per survey, audience and day (in the organization's
    time zone): the NPS, its trend and its 0-10 spread add up these counts, not every answer."""

    day = models.DateField()
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(
        max_length=10, blank=True, help_text=gettext_lazy("As on the answer.")
    )
    score = models.PositiveSmallIntegerField()
    answers = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "survey", "audience", "score"], name="daytally_unique_audience"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.answers} × {self.score}"


class GroupTally(models.Model):
    """How many answers gave each score, per month (in the organization's time zone) and group
    of a grouping (tier, audience, program, owner, as denormalised on the answer)."""

    month = models.DateField(help_text=gettext_lazy("The first day of the month."))
    grouping = models.CharField(max_length=10)
    key = models.CharField(
        max_length=60, blank=True, help_text=gettext_lazy("Empty for answers in no group.")
    )
    score = models.PositiveSmallIntegerField()
    answers = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grouping", "month", "key", "score"], name="grouptally_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.grouping} {self.key!r}: {self.answers} × {self.score}"


class InvitationTally(models.Model):
    """Invitations sent per survey, audience and day (in the organization's time zone), and how
    many of them have been answered: the response rate without counting every invitation."""

    day = models.DateField()
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(
        max_length=10, blank=True, help_text=gettext_lazy("As on the invitation.")
    )
    invited = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "survey", "audience"], name="invitationtally_unique_audience"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.answered} of {self.invited}"


class Theme(models.Model):
    """A theme found in what customers say, over every survey or one: a name made of its top
    terms (or given by a marketer), and the answers that talk mostly about it."""

    survey = models.ForeignKey(
        Survey,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="themes",
        help_text=gettext_lazy("Empty: fitted over the answers of every survey."),
    )
    language = models.CharField(max_length=8)
    name = models.CharField(max_length=120)
    terms = models.JSONField(default=list, help_text=gettext_lazy("Top terms, strongest first."))
    renamed_by_user = models.BooleanField(default=False)
    # A merged theme keeps its terms, so a refit that finds it again adds its answers to the
    # theme it was merged into.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_themes"
    )
    # The two halves of a split point at the theme they came from: a refit that finds the
    # whole again splits it again.
    split_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="split_themes"
    )
    is_current = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Off once merged, split, or no longer found by a refit."),
    )
    fitted_at = models.DateTimeField(default=now)
    examples = models.JSONField(
        default=list,
        help_text=gettext_lazy("Ids of the answers that say it most clearly, best first."),
    )
    responses = models.ManyToManyField(Response, through="ThemeMention", related_name="themes")

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["survey", "is_current", "language"], name="theme_scope"),
        ]

    def __str__(self) -> str:
        return self.name


class ThemeMention(models.Model):
    """An answer whose dominant theme this is, and the share of its weight that theme holds."""

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="mentions")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="theme_mentions")
    share = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["theme", "response"], name="thememention_unique")
        ]
        indexes = [models.Index(fields=["response"], name="thememention_response")]

    def __str__(self) -> str:
        return f"{self.response_id} on {self.theme_id}"


class ThemeTally(models.Model):
    """How many of a theme's answers gave each score, per month (in the organization's time
    zone), counted when its answers were last assigned (a refit, merge or split): the page reads
    these instead of every answer's mention."""

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="tallies")
    month = models.DateField(help_text=gettext_lazy("The first day of the month."))
    score = models.PositiveSmallIntegerField()
    answers = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["theme", "month", "score"], name="themetally_unique")
        ]

    def __str__(self) -> str:
        return f"{self.theme_id} {self.month:%Y-%m}: {self.answers} × {self.score}"
