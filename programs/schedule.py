"""When a program step's touch is due, and when it may actually be sent.

Pure functions, standard library only: the caller reads the steps, the customer and the touches
already scheduled or sent from the database, and stores the instant this module returns.

Every datetime in and out is timezone-aware; results are in UTC (``datetime.UTC``). Naive
datetimes are refused with ValueError. Wall-clock reasoning (dates, send hours, weekdays) happens
in the customer's ``ZoneInfo``; ``resolve_zone`` gives customers without a usable time zone the
organization's default.

1. ``anchor_date``: the date a step counts from. ``enrollment`` and ``contract_end`` happen once,
   so only occurrence 1 exists (later occurrences are None: nothing more to schedule). The yearly
   anniversaries (of the first purchase, or of enrollment) put occurrence N exactly N years after
   the base date; the anniversary of a 29 February falls on 28 February in non-leap years and on
   29 February again in leap years. An unknown anchor (no contract, no purchase yet) is None.
2. ``due_at``: anchor + offset days (the offset may be negative: renewal 30 days before the
   contract ends), at the window's start time in the customer's zone. A start time that does not
   exist that day (spring-forward gap) becomes the first instant after the gap (02:30 becomes
   03:00 when clocks jump from 02:00 to 03:00); an ambiguous one (fall-back) is its first
   occurrence. Weekday restrictions are left to ``place``.
3. ``place``: the earliest instant at or after ``max(due, not_before)`` that is inside the send
   window and respects the frequency cap. A due date in the past is due now: pass
   ``not_before=now``. The window is [start, end) in local wall-clock time on the allowed weekdays
   (0 = Monday); it lies within one day, so use ``time.max`` as the end to send until midnight.
   Around DST changes the wall clock decides: 09:00 local stays 09:00 local, a window start that
   falls in a gap opens when the clock jumps past it, and an hour repeated at fall-back is inside
   the window both times if its wall-clock time is.

The cap: ``others`` are the customer's other touches (scheduled or sent, across all programs; not
the touch being placed). A candidate instant t is allowed when every interval [s, s + period)
containing t holds at most ``max_touches - 1`` of them, so no period-long window ever holds more
than ``max_touches`` touches because of t. When t breaks the cap, the touch is deferred, never
dropped: to the instant the oldest blocking touch leaves the period (its time + period) or, if
that is outside the window, to the next window opening, and checked again. So two touches on
Monday 09:00 and Tuesday 09:00 push a third one to the next Monday 09:00, while a blocking touch
sent by hand at 14:00 frees the slot at 14:00 a week later, not at the next morning's opening.
The period is elapsed time (7 days are 168 hours): in a week with a DST change, the slot freed
by a 09:00 touch opens at 10:00 local after spring forward, and at 08:00 after fall back (so the
touch waits for the 09:00 opening).
The search is exact (the result is the earliest allowed instant) and takes at most
``len(others) + 1`` rounds; each round looks at most 15 days ahead for an open window.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ALL_DAYS: frozenset[int] = frozenset(range(7))

# A window opens at least weekly; the extra week covers a window swallowed by a DST gap.
_SEARCH_HORIZON = timedelta(days=15)
# Offsets are read at this spacing: assumes no zone changes its offset twice within 6 hours.
_OFFSET_PROBE = timedelta(hours=6)
_TICK = timedelta(microseconds=1)


class Anchor(StrEnum):
    """What a program step's offset counts from."""

    ENROLLMENT = "enrollment"
    CONTRACT_END = "contract_end"
    ANNIVERSARY_FIRST_PURCHASE = "anniversary_first_purchase"
    ANNIVERSARY_ENROLLMENT = "anniversary_enrollment"
    EVENT = "event"


@dataclass(frozen=True)
class SendWindow:
    """Local hours [start, end) on the allowed weekdays (0 = Monday) when touches may be sent."""

    start: time = time(9)
    end: time = time(19)
    days: frozenset[int] = field(default=ALL_DAYS)

    def __post_init__(self) -> None:
        # Accept any iterable of weekdays, but store a frozenset so the window stays hashable.
        object.__setattr__(self, "days", frozenset(self.days))
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("send window times are local wall-clock times, without tzinfo")
        if not self.start < self.end:
            raise ValueError(f"send window start {self.start} must be before end {self.end}")
        if not self.days or not self.days <= ALL_DAYS:
            raise ValueError(f"send window days must be a non-empty subset of 0-6: {self.days}")


@dataclass(frozen=True)
class FrequencyCap:
    """At most max_touches touches per customer in any period, across all programs."""

    max_touches: int = 2
    period: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if self.max_touches < 1:
            raise ValueError(f"max_touches must be at least 1: {self.max_touches}")
        if self.period <= timedelta(0):
            raise ValueError(f"period must be positive: {self.period}")

    def halved(self) -> "FrequencyCap":
        """Half as many touches in the same period, never fewer than one (a customer who asked
        to hear from us less often). The period stays, so every read of it stays the same."""
        return FrequencyCap(max_touches=max(1, self.max_touches // 2), period=self.period)


def resolve_zone(name: str | None, *, default: str) -> ZoneInfo:
    """The customer's time zone, or the organization's default when it is missing or unknown."""
    key = (name or "").strip()
    if key:
        try:
            return ZoneInfo(key)
        # Malformed keys raise ValueError; a directory name can raise IsADirectoryError.
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    # A broken organization default is a configuration error, so it is allowed to raise.
    return ZoneInfo(default)


def anchor_date(
    *,
    kind: str,
    enrolled_on: date,
    contract_ends_on: date | None,
    first_purchase_on: date | None,
    occurrence: int = 1,
) -> date | None:
    """The date occurrence N of a step counts from, or None when there is none (yet)."""
    if occurrence < 1:
        raise ValueError(f"occurrence counts from 1: {occurrence}")
    match kind:
        case Anchor.ENROLLMENT:
            return enrolled_on if occurrence == 1 else None
        case Anchor.CONTRACT_END:
            return contract_ends_on if occurrence == 1 else None
        case Anchor.ANNIVERSARY_FIRST_PURCHASE:
            if first_purchase_on is None:
                return None
            return _years_later(first_purchase_on, occurrence)
        case Anchor.ANNIVERSARY_ENROLLMENT:
            return _years_later(enrolled_on, occurrence)
        case Anchor.EVENT:
            return None  # the events app places these touches itself
    raise ValueError(f"unknown anchor kind: {kind!r}")


def due_at(*, anchor: date, offset_days: int, zone: ZoneInfo, window: SendWindow) -> datetime:
    """The window's start time, local to the customer, on anchor + offset days; in UTC."""
    day = anchor + timedelta(days=offset_days)
    return _first_instant_at(datetime.combine(day, window.start), zone)


def in_window(*, moment: datetime, zone: ZoneInfo, window: SendWindow) -> bool:
    """Whether the moment falls inside the send window in the customer's local time."""
    local = _utc(moment).astimezone(zone)
    return local.weekday() in window.days and window.start <= local.time() < window.end


def next_window_start(*, moment: datetime, zone: ZoneInfo, window: SendWindow) -> datetime:
    """The earliest instant at or after the moment inside the send window (the moment if inside)."""
    cursor = _utc(moment)
    limit = cursor + _SEARCH_HORIZON
    while cursor < limit:
        # Walk the timeline in short spans; within a span the offset is constant, or changes once.
        span_end = min(cursor + _OFFSET_PROBE, limit)
        before, after = _offset(cursor, zone), _offset(span_end, zone)
        if before == after:
            spans = [(cursor, span_end, before)]
        else:
            change = _offset_change(cursor, span_end, zone, before)
            spans = [(cursor, change, before), (change, span_end, after)]
        for lo, hi, offset in spans:
            found = _first_open(lo, hi, offset, window)
            if found is not None:
                return found
        cursor = span_end
    raise ValueError(f"no send window opens within {_SEARCH_HORIZON.days} days of {moment}")


def place(
    *,
    due: datetime,
    zone: ZoneInfo,
    window: SendWindow,
    cap: FrequencyCap,
    others: Sequence[datetime],
    not_before: datetime | None = None,
) -> datetime:
    """The earliest instant at or after due (and not_before) inside the window and under the cap."""
    earliest = _utc(due)
    if not_before is not None:
        earliest = max(earliest, _utc(not_before))
    booked = sorted(_utc(other) for other in others)
    candidate = next_window_start(moment=earliest, zone=zone, window=window)
    # Each failed round moves past at least one booked touch's period, so this loop is bounded.
    for _ in range(len(booked) + 1):
        if _cap_allows(candidate, booked, cap):
            return candidate
        # Nothing between here and the moment the oldest touch within reach leaves the period can
        # be allowed: the count over a window only drops when a touch falls out of it.
        oldest = booked[bisect_right(booked, candidate - cap.period)]
        candidate = next_window_start(moment=oldest + cap.period, zone=zone, window=window)
    raise ValueError("frequency cap search did not converge")  # unreachable: see the loop bound


def next_working_day(day: date) -> date:
    """The first weekday (Monday to Friday) after `day`: when a reply's follow-up is due."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _cap_allows(moment: datetime, booked: Sequence[datetime], cap: FrequencyCap) -> bool:
    # The busiest period-long interval containing `moment` starts at `moment` itself or at a
    # booked touch in (moment - period, moment]: counts only rise when an interval's start
    # reaches a touch.
    first = bisect_right(booked, moment - cap.period)
    last = bisect_right(booked, moment)
    for start in [moment, *booked[first:last]]:
        held = bisect_left(booked, start + cap.period) - bisect_left(booked, start)
        if held + 1 > cap.max_touches:
            return False
    return True


def _first_open(
    lo: datetime, hi: datetime, offset: timedelta, window: SendWindow
) -> datetime | None:
    # With a fixed offset, wall-clock time is UTC + offset, so each day's window is one interval.
    day = (lo + offset).date()
    last_day = (hi + offset).date()
    while day <= last_day:
        if day.weekday() in window.days:
            opens = datetime.combine(day, window.start, tzinfo=UTC) - offset
            closes = datetime.combine(day, window.end, tzinfo=UTC) - offset
            start, stop = max(lo, opens), min(hi, closes)
            if start < stop:
                return start
        day += timedelta(days=1)
    return None


def _offset_change(lo: datetime, hi: datetime, zone: ZoneInfo, before: timedelta) -> datetime:
    # Bisect to the microsecond: the first instant in (lo, hi] with the new offset.
    while hi - lo > _TICK:
        mid = lo + (hi - lo) // 2
        if _offset(mid, zone) == before:
            lo = mid
        else:
            hi = mid
    return hi


def _first_instant_at(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0 and fold=1 agree for ordinary times, give both occurrences of an ambiguous one, and
    # bracket the gap for a time that does not exist.
    one = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    two = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(one, two), max(one, two)
    if _wall(lo, zone) == wall:
        return lo
    # In a gap the clock reads earlier than `wall` at lo and later at hi: find the jump.
    while hi - lo > _TICK:
        mid = lo + (hi - lo) // 2
        if _wall(mid, zone) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def _years_later(base: date, years: int) -> date:
    try:
        return base.replace(year=base.year + years)
    except ValueError:
        # Only 29 February can be missing; the anniversary is then the last day of February.
        return date(base.year + years, 2, 28)


def _offset(moment: datetime, zone: ZoneInfo) -> timedelta:
    # A ZoneInfo always knows its offset; the fallback only satisfies the type checker.
    return moment.astimezone(zone).utcoffset() or timedelta(0)


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware: {moment!r}")
    return moment.astimezone(UTC)
