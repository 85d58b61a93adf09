"""What customers tell us on the preference center: topics, how often, what they value."""

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _


class Frequency(models.TextChoices):
    """How often a customer wants to hear from us; "less often" halves their frequency cap."""

    USUAL = "usual", _("As usual")
    LESS = "less", _("Less often")


class ValueQuestion(models.TextChoices):
    """The optional questions of the preference center (the seeds' "ask customers")."""

    VALUABLE = "valuable", _("What do you find most valuable in what we offer?")
    MORE = "more", _("What would you like more of?")
    LESS = "less", _("What would you like less of?")


class Topic(models.Model):
    """Something a customer may ask to hear about (product news, events near me, tips)."""

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Only active topics are offered on the preference center."),
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PreferenceToken(models.Model):
    """The unguessable token of a customer's preference center link `/p/<token>/`."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="preference_token"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"Preference link of customer {self.customer_id}"


class ValueAnswer(models.Model):
    """A customer's answer to one of the value questions, in their own words."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="value_answers"
    )
    question = models.CharField(max_length=10, choices=ValueQuestion)
    text = models.TextField(max_length=2000)
    answered_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-answered_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-answered_at"], name="value_answer_customer_at"),
            models.Index(fields=["-answered_at", "-id"], name="value_answer_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_question_display()} {self.text[:40]}"
