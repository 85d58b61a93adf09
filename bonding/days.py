"""Day arithmetic of the dashboard's touch tally: whole UTC days, no database."""

from datetime import UTC, date, datetime, time


def day_start(day: date) -> datetime:
    """The moment a UTC day begins."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def utc_day(moment: datetime) -> date:
    """The UTC day a moment falls in."""
    return moment.astimezone(UTC).date()
