"""Relationship programs: their steps, who is enrolled, and every touch (the outbox)."""

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


# Touches that went out to the customer: sent, and those the provider reported delivered.
SENT_STATES = [Touch.Status.SENT, Touch.Status.DELIVERED]


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


class LiftTally(models.Model):
    """A program's lift over a window as beat last computed it (programs.lift_tally): the page
    and the API read this one row instead of every enrollment, purchase and tier change."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    window_days = models.PositiveSmallIntegerField()
    figures = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "window_days"], name="lift_tally_once")
        ]

    def __str__(self) -> str:
        return f"lift of {self.program_id} over {self.window_days} days"
