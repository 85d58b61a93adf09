"""Events (owners' clubs, user groups) and the invitations customers answer."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.timezone import now
from django.utils.translation import gettext, gettext_lazy

from customers.models import Audience, Customer, Relationship, Tier
from programs.models import Program, Touch


class Event(models.Model):
    """A gathering customers are invited to: when, where, for whom, how many seats."""

    class Status(models.TextChoices):
        DRAFT = "draft", gettext_lazy("Draft")
        OPEN = "open", gettext_lazy("Open for answers")
        CLOSED = "closed", gettext_lazy("Closed")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Where the event happens: its local time is what the invitation shows beside the
    # customer's own.
    timezone = models.CharField(max_length=64, default="UTC")
    place = models.CharField(max_length=300, blank=True)
    online_url = models.URLField(blank=True)
    capacity = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Seats, guests included; empty means no limit."),
    )
    # Audience: empty means everyone.
    tiers = models.ManyToManyField(Tier, blank=True, related_name="+")
    audiences = models.JSONField(default=list, blank=True, help_text=f"Of {Audience.values}.")
    relationships = models.JSONField(
        default=list, blank=True, help_text=f"Of {Relationship.values}."
    )
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hosted_events",
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    # The program whose touches carry this event's invitations, made behind the scenes the
    # first time a marketer invites people from the event page.
    program = models.OneToOneField(
        Program, null=True, blank=True, on_delete=models.SET_NULL, related_name="event"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="event_ends_after")
        ]
        indexes = [models.Index(fields=["status", "starts_at"], name="event_status_starts")]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    """One customer invited to one event: their answer, seat or waitlist place, attendance."""

    class Answer(models.TextChoices):
        NONE = "", "Not answered"
        YES = "yes", gettext_lazy("Yes")
        NO = "no", gettext_lazy("No")
        MAYBE = "maybe", gettext_lazy("Maybe")

    class Attendance(models.TextChoices):
        UNKNOWN = "", gettext_lazy("Not recorded")
        ATTENDED = "attended", gettext_lazy("Attended")
        NO_SHOW = "no_show", gettext_lazy("No-show")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64, unique=True)
    # The touch that carried the invitation; none for a walk-in or an API invitation sent
    # before its touch exists.
    touch = models.ForeignKey(
        Touch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answer = models.CharField(max_length=5, choices=Answer, blank=True, default="")
    guests = models.PositiveSmallIntegerField(default=0)
    # Set while the customer said yes and no seat was free: 1 is next in line.
    waitlist_position = models.PositiveIntegerField(null=True, blank=True)
    attendance = models.CharField(max_length=10, choices=Attendance, blank=True, default="")
    walk_in = models.BooleanField(default=False)
    invited_at = models.DateTimeField(default=now)
    answered_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["invited_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "customer"], name="event_invitation_once"),
            models.CheckConstraint(
                condition=Q(waitlist_position__isnull=True) | Q(answer="yes"),
                name="event_waitlist_only_yes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} invited to {self.event_id}"

    @property
    def seats(self) -> int:
        """Seats this answer holds: the customer and their guests, when seated."""
        if self.answer == self.Answer.YES and self.waitlist_position is None:
            return 1 + self.guests
        return 0


class InviteRun(models.Model):
    """A marketer's "invite these customers" carried out off the request by a Celery task, in
    batches: the selection (a saved segment, a topic, or the customer list's filters, among the
    customers the requester sees) and how far it has got."""

    class Chosen(models.TextChoices):
        SEGMENT = "segment"
        TOPIC = "topic"
        FILTERS = "filters"

    class Status(models.TextChoices):
        QUEUED = "queued", gettext_lazy("Queued")
        RUNNING = "running", gettext_lazy("Inviting")
        DONE = "done", gettext_lazy("Done")
        STOPPED = "stopped", gettext_lazy("Stopped")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invite_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment = models.ForeignKey(
        "customers.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    topic = models.ForeignKey(
        "customers.Topic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The customer list's filters ({name: [values]}) when neither segment nor topic chose.
    filters = models.JSONField(default=dict, blank=True)
    described = models.CharField(max_length=200, help_text="Who was chosen, in words.")
    # What was chosen and its name then, so pages can say it in the reader's language after
    # the segment or topic is renamed or gone ("" on runs from before these were kept).
    chosen = models.CharField(max_length=10, choices=Chosen, blank=True)
    chosen_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    invited = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # The last customer id handled: a run picked up again goes on after it.
    cursor = models.BigIntegerField(default=0)
    problem = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=now)
    # Touched by the worker as it starts and after each batch: a run unfinished and untouched
    # for a while lost its worker, and the sweep (events.invite_runs.resume_stale) resumes it.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Inviting {self.described} to {self.event_id}"

    @property
    def description(self) -> str:
        """Who was chosen, in the active language (`described` keeps the English words)."""
        if self.chosen == self.Chosen.SEGMENT:
            return gettext("segment “%(name)s”") % {"name": self.chosen_name}
        if self.chosen == self.Chosen.TOPIC:
            return gettext("those who chose “%(name)s”") % {"name": self.chosen_name}
        if self.chosen == self.Chosen.FILTERS:
            return gettext("customers matching the list's filters")
        return self.described

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.done / self.total))
