"""Saved segments: named filters of the customer list, and the daily trend of their counts."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class Segment(models.Model):
    """A named, saved filter of the customer list, evaluated over the customers its author sees.

    `filters` holds the list's query parameters as the list reads them, `{name: [values]}`, so a
    segment means what the list showed when it was saved, with filters added later to the list.
    """

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="segments"
    )
    filters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="segment_owner_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class SegmentCount(models.Model):
    """How many customers a segment held on one day (written by beat once a day)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="counts")
    day = models.DateField()
    customers = models.PositiveIntegerField()

    class Meta:
        ordering = ["segment", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "day"], name="segment_count_one_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} on {self.day}: {self.customers}"


class ListColumns(models.Model):
    """The customer list's columns a user chose to see (remembered for them, on any device)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="list_columns"
    )
    columns = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.user_id}: {', '.join(self.columns)}"
