"""Programs, their steps (and the A/B variants of a step's content), who is enrolled, and the
segments a program follows."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy

from customers.models import Audience, Channel, Customer, Relationship, Segment, Tier
from programs.holdout import MAX_SHARE, new_salt


class Program(models.Model):
    """A sequence of touches a customer goes through once enrolled."""

    class Reentry(models.TextChoices):
        ONCE = "once", gettext_lazy("Once per customer")
        AFTER_DAYS = "after_days", gettext_lazy("Again after a number of days")

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    is_prototype = models.BooleanField(
        default=False,
        help_text=gettext_lazy("The eight-step bonding program every install starts with."),
    )
    # Audience: empty means everyone.
    tiers = models.ManyToManyField(Tier, blank=True, related_name="+")
    audiences = models.JSONField(default=list, blank=True, help_text=f"Of {Audience.values}.")
    relationships = models.JSONField(
        default=list, blank=True, help_text=f"Of {Relationship.values}."
    )
    reentry = models.CharField(max_length=12, choices=Reentry, default=Reentry.ONCE)
    reentry_days = models.PositiveIntegerField(null=True, blank=True)
    exit_when_unsubscribed = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Leave the program when the customer withdraws every consent."),
    )
    goal_tier = models.ForeignKey(
        Tier,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=gettext_lazy("Leave the program, goal reached, on reaching this tier or higher."),
    )
    auto_enroll_tier = models.ForeignKey(
        Tier,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=gettext_lazy("Enroll customers automatically when they move up to this tier."),
    )
    # An event's own program (invitations, reminders, seats freed, cancellation), made and kept
    # by the events app: listed apart from the marketing programs.
    for_event = models.BooleanField(default=False, editable=False)
    asks_promoters = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Enroll every promoter (9 or 10) who has no refer-a-friend touch coming: "
            "its refer-a-friend step asks them for a referral."
        ),
    )
    track_clicks = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Send the links of its e-mails through Bonding (/c/…), which counts a click "
            "as a response: for plain SMTP, where no provider reports clicks."
        ),
    )
    enroll_when_at_risk = models.BooleanField(
        default=False,
        db_default=False,
        help_text=gettext_lazy(
            "Enroll customers automatically when a review finds them at risk of dropping "
            "a tier (a keep-your-status offer)."
        ),
    )
    # Model default 0: programs made in code hold nobody out unless told; the page offers 10 %.
    holdout_share = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(MAX_SHARE)],
        help_text=f"Percent of enrollments held out as a control group (0-{MAX_SHARE}): "
        "their touches are planned but never sent, so the program's lift can be measured.",
    )
    # Fixes who is held out: the same customer draws the same each time they are enrolled.
    holdout_salt = models.CharField(max_length=32, default=new_salt, editable=False)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(holdout_share__lte=MAX_SHARE), name="program_holdout_share_range"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    """One touch of a program: what, when (anchor + offset), through which channel, saying what."""

    class Kind(models.TextChoices):
        WELCOME_KIT = "welcome_kit", gettext_lazy("Welcome kit")
        SATISFACTION_SURVEY = "satisfaction_survey", gettext_lazy("Satisfaction survey")
        CHECK_IN = "check_in", gettext_lazy("Check-in")
        CROSS_SELL = "cross_sell", gettext_lazy("Cross-sell")
        GIFT = "gift", gettext_lazy("Free gift or trial")
        REFER_FRIEND = "refer_friend", gettext_lazy("Refer a friend")
        RENEWAL = "renewal", gettext_lazy("Contract renewal")
        ANNIVERSARY = "anniversary", gettext_lazy("Anniversary")
        # Invites to an event (the events app gives its RSVP link): in a program, to the next
        # open event that fits the customer; in an event's own program, to that event.
        EVENT_INVITATION = "event_invitation", gettext_lazy("Event invitation")
        # An event's own program only: the day-before reminder, and a seat freed for someone
        # on the waitlist; the events app schedules them (and the cancellation below).
        EVENT_REMINDER = "event_reminder", gettext_lazy("Event reminder")
        EVENT_SEAT = "event_seat", gettext_lazy("Event seat freed")
        # An event's own program only: the notice that the event is cancelled.
        EVENT_CANCELLED = "event_cancelled", gettext_lazy("Event cancelled")
        CUSTOM = "custom", gettext_lazy("Custom")

    class Anchor(models.TextChoices):
        ENROLLMENT = "enrollment", gettext_lazy("Enrollment date")
        CONTRACT_END = "contract_end", gettext_lazy("Contract end")
        ANNIVERSARY_FIRST_PURCHASE = (
            "anniversary_first_purchase",
            gettext_lazy("Yearly: first purchase"),
        )
        ANNIVERSARY_ENROLLMENT = "anniversary_enrollment", gettext_lazy("Yearly: enrollment")
        # A date the events app gives (the event's day, the day a seat was freed): never at
        # enrollment.
        EVENT = "event", gettext_lazy("Set by the event")

    class ChannelMode(models.TextChoices):
        PREFERRED = "preferred", gettext_lazy("The customer's preferred channel")
        FIXED = "fixed", gettext_lazy("A fixed channel")

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=24, choices=Kind, default=Kind.CUSTOM)
    name = models.CharField(max_length=120)
    anchor = models.CharField(max_length=32, choices=Anchor, default=Anchor.ENROLLMENT)
    offset_days = models.IntegerField(
        default=0, help_text=gettext_lazy("Negative means before the anchor.")
    )
    channel_mode = models.CharField(
        max_length=10, choices=ChannelMode, default=ChannelMode.PREFERRED
    )
    channel = models.CharField(max_length=10, choices=Channel, default=Channel.EMAIL)
    fallbacks = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy("Channels to try, in order, when the chosen one has no consent."),
    )
    email_subject = models.CharField(max_length=200, blank=True)
    email_body = models.TextField(
        blank=True,
        help_text=gettext_lazy("Sandboxed template: the names and filters listed above."),
    )
    sms_body = models.CharField(max_length=480, blank=True)
    letter_body = models.TextField(blank=True)
    call_script = models.TextField(blank=True)
    # The content in other languages: {"de": {"email_subject": "...", ...}}. A field a version
    # leaves out (or blank) is the default content above.
    versions = models.JSONField(default=dict, blank=True)
    premium = models.CharField(
        max_length=200,
        blank=True,
        help_text=gettext_lazy("Offered for answering (satisfaction survey)."),
    )
    reward_rule = models.ForeignKey(
        "customers.RewardRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="steps",
        help_text="What the customer earns, once per touch of this step sent.",
    )
    topic = models.ForeignKey(
        "customers.Topic",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="steps",
        help_text=gettext_lazy(
            "Only customers who chose this topic on the preference center get this step."
        ),
    )
    # A purchase this many days after a send counts as a response (an A/B test's funnel).
    response_window_days = models.PositiveSmallIntegerField(
        default=14,
        db_default=14,
        validators=[MaxValueValidator(365)],
        help_text="Days after a send in which a purchase counts as a response to it.",
    )
    # Set while the step's variants are being tested, so a send looks them up only then.
    testing_variants = models.BooleanField(default=False, db_default=False, editable=False)

    class Meta:
        ordering = ["program", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "order"], name="step_order_unique")
        ]

    def __str__(self) -> str:
        return f"{self.program}: {self.name}"

    def text(self, field: str, language: str | None) -> str:
        """The content field in `language` when this step has it there, else the default."""
        version = self.versions.get(language or "") if isinstance(self.versions, dict) else None
        if isinstance(version, dict) and version.get(field):
            return str(version[field])
        return str(getattr(self, field))

    @property
    def is_yearly(self) -> bool:
        return self.anchor in (
            self.Anchor.ANNIVERSARY_FIRST_PURCHASE,
            self.Anchor.ANNIVERSARY_ENROLLMENT,
        )

    def channels(self, preferred: str) -> list[str]:
        """The channels to try in order: the chosen one, then the fallbacks."""
        first = preferred if self.channel_mode == self.ChannelMode.PREFERRED else self.channel
        return list(dict.fromkeys([first, *self.fallbacks]))


class StepVariant(models.Model):
    """One version of a step's content in an A/B test: each customer gets one, fixed by a
    stable hash, drawn in proportion to the weights (programs.variants)."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="variants")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=40)
    weight = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    email_subject = models.CharField(max_length=200, blank=True)
    email_body = models.TextField(blank=True)
    sms_body = models.CharField(max_length=480, blank=True)
    # Promotion stops the others and keeps every variant with the touches that got it.
    stopped_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["step", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["step", "position"], name="step_variant_position"),
            models.UniqueConstraint(
                fields=["step"],
                condition=Q(promoted_at__isnull=False),
                name="step_variant_one_winner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step.name}: {self.label}"


class Enrollment(models.Model):
    """A customer going through a program."""

    class Status(models.TextChoices):
        ACTIVE = "active", gettext_lazy("Active")
        COMPLETED = "completed", gettext_lazy("Completed")
        EXITED = "exited", gettext_lazy("Exited")

    class Group(models.TextChoices):
        TREATED = "treated", gettext_lazy("Treated")
        HOLDOUT = "holdout", gettext_lazy("Held out of this program (control)")
        GLOBAL_CONTROL = "global_control", gettext_lazy("Global control group (no program touches)")

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="enrollments")
    # Looked up by the "enrollment_customer" index, which starts with the customer.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="enrollments", db_index=False
    )
    enrolled_at = models.DateTimeField(default=now)
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    exit_reason = models.CharField(max_length=200, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Control enrollments get their touches planned like treated ones, recorded as held.
    group = models.CharField(
        max_length=14, choices=Group, default=Group.TREATED, db_default=Group.TREATED
    )

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "customer"],
                condition=Q(status="active"),
                name="enrollment_one_active",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "program"], name="enrollment_customer"),
            # The few held out of a program or of every program: whether a program or the
            # organization has a control group at all is one probe, not a scan of the treated.
            models.Index(
                fields=["group", "program"],
                condition=Q(group__in=["holdout", "global_control"]),
                name="enrollment_held_out",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} in {self.program}"


class SegmentFollow(models.Model):
    """A program that enrolls a saved segment continuously: every few minutes beat enrolls the
    customers who entered the segment since (programs.segment_enrollment.enroll_newcomers)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="segment_follows")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=now)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["program", "segment"]
        constraints = [
            models.UniqueConstraint(fields=["program", "segment"], name="segment_follow_once")
        ]

    def __str__(self) -> str:
        return f"{self.program} follows {self.segment}"
