"""What beat tallies of a program's lift, for the page and the API to read."""

from django.db import models

from programs.models.program import Program


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
