"""CSV imports: the job, its stored chunks and the rows refused."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy


class ImportJob(models.Model):
    """One CSV file a marketer uploaded: how its columns map to fields, its progress and outcome."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", gettext_lazy("Uploaded")
        MAPPED = "mapped", gettext_lazy("Mapped")
        RUNNING = "running", gettext_lazy("Running")
        DONE = "done", gettext_lazy("Done")
        FAILED = "failed", gettext_lazy("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0, help_text=gettext_lazy("Bytes."))
    delimiter = models.CharField(max_length=1, default=",")
    encoding = models.CharField(
        max_length=20,
        default="UTF-8",
        help_text=gettext_lazy("What the upload check found the file to be."),
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
    line = models.PositiveIntegerField(
        help_text=gettext_lazy("The row's number in the file; the header is 1.")
    )
    raw = models.JSONField(default=list)
    reason = models.TextField()

    class Meta:
        ordering = ["job", "line"]
        constraints = [
            models.UniqueConstraint(fields=["job", "line"], name="import_rejection_job_line_unique")
        ]

    def __str__(self) -> str:
        return f"Row {self.line}: {self.reason}"
