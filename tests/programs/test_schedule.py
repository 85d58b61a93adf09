"""Touches are due from their anchor, sent inside the customer's window, and never over the cap."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programs.schedule import (
    Anchor,
    FrequencyCap,
    SendWindow,
    anchor_date,
    due_at,
    in_window,
    next_window_start,
    place,
    resolve_zone,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
WINDOW = SendWindow()
CAP = FrequencyCap()
WEEKDAYS = SendWindow(days=frozenset(range(5)))


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    """A local wall-clock time in `zone`, as a UTC instant."""
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def placed(due: datetime, others: list[datetime], **overrides) -> datetime:
    arguments = {"zone": PARIS, "window": WINDOW, "cap": CAP, "others": others}
    arguments.update(overrides)
    return place(due=due, **arguments)


# Anchors


@pytest.mark.parametrize(
    ("kind", "occurrence", "expected"),
    [
        (Anchor.ENROLLMENT, 1, date(2024, 3, 15)),
        (Anchor.ENROLLMENT, 2, None),
        (Anchor.CONTRACT_END, 1, date(2026, 3, 14)),
        (Anchor.CONTRACT_END, 2, None),
        (Anchor.ANNIVERSARY_FIRST_PURCHASE, 1, date(2025, 2, 28)),
        (Anchor.ANNIVERSARY_FIRST_PURCHASE, 2, date(2026, 2, 28)),
        (Anchor.ANNIVERSARY_FIRST_PURCHASE, 3, date(2027, 2, 28)),
        (Anchor.ANNIVERSARY_FIRST_PURCHASE, 4, date(2028, 2, 29)),
        (Anchor.ANNIVERSARY_ENROLLMENT, 1, date(2025, 3, 15)),
        (Anchor.ANNIVERSARY_ENROLLMENT, 10, date(2034, 3, 15)),
        ("anniversary_enrollment", 2, date(2026, 3, 15)),
    ],
)
def test_anchor_date_by_kind_and_occurrence(kind, occurrence, expected):
    got = anchor_date(
        kind=kind,
        enrolled_on=date(2024, 3, 15),
        contract_ends_on=date(2026, 3, 14),
        first_purchase_on=date(2024, 2, 29),
        occurrence=occurrence,
    )

    assert got == expected


@pytest.mark.parametrize(
    ("enrolled_on", "occurrence", "expected"),
    [
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
        (date(2024, 2, 29), 76, date(2100, 2, 28)),  # 2100 is not a leap year
        (date(2024, 2, 28), 1, date(2025, 2, 28)),
        (date(2023, 3, 1), 1, date(2024, 3, 1)),
    ],
)
def test_leap_day_anniversary_falls_on_28_february_in_common_years(
    enrolled_on, occurrence, expected
):
    got = anchor_date(
        kind=Anchor.ANNIVERSARY_ENROLLMENT,
        enrolled_on=enrolled_on,
        contract_ends_on=None,
        first_purchase_on=None,
        occurrence=occurrence,
    )

    assert got == expected


@pytest.mark.parametrize("kind", [Anchor.CONTRACT_END, Anchor.ANNIVERSARY_FIRST_PURCHASE])
def test_missing_anchor_gives_none(kind):
    got = anchor_date(
        kind=kind, enrolled_on=date(2024, 3, 15), contract_ends_on=None, first_purchase_on=None
    )

    assert got is None


@pytest.mark.parametrize(("kind", "occurrence"), [("birthday", 1), (Anchor.ENROLLMENT, 0)])
def test_anchor_date_refuses_unknown_kind_and_occurrence_below_one(kind, occurrence):
    with pytest.raises(ValueError):
        anchor_date(
            kind=kind,
            enrolled_on=date(2024, 3, 15),
            contract_ends_on=None,
            first_purchase_on=None,
            occurrence=occurrence,
        )


# Due dates


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        (PARIS, date(2025, 3, 29), utc(2025, 3, 29, 8)),  # CET, day before spring forward
        (PARIS, date(2025, 3, 30), utc(2025, 3, 30, 7)),  # spring forward day, CEST
        (PARIS, date(2025, 10, 26), utc(2025, 10, 26, 8)),  # fall back day, CET
        (NEW_YORK, date(2025, 3, 9), utc(2025, 3, 9, 13)),  # spring forward day, EDT
        (NEW_YORK, date(2025, 11, 2), utc(2025, 11, 2, 14)),  # fall back day, EST
    ],
)
def test_due_at_is_nine_local_on_dst_change_days(zone, day, expected):
    got = due_at(anchor=day, offset_days=0, zone=zone, window=WINDOW)

    assert got == expected
    assert got.tzinfo is UTC
    assert got.astimezone(zone).time() == time(9)


@pytest.mark.parametrize(
    ("anchor", "offset_days", "zone", "expected"),
    [
        (date(2025, 12, 31), -30, PARIS, local(PARIS, 2025, 12, 1, 9)),
        (date(2025, 11, 15), -30, NEW_YORK, local(NEW_YORK, 2025, 10, 16, 9)),  # across DST
        (date(2025, 3, 1), -1, PARIS, local(PARIS, 2025, 2, 28, 9)),
        (date(2024, 3, 1), -1, PARIS, local(PARIS, 2024, 2, 29, 9)),
        (date(2025, 1, 1), 45, PARIS, local(PARIS, 2025, 2, 15, 9)),
    ],
)
def test_due_at_applies_positive_and_negative_offsets(anchor, offset_days, zone, expected):
    got = due_at(anchor=anchor, offset_days=offset_days, zone=zone, window=WINDOW)

    assert got == expected


def test_due_at_in_a_spring_forward_gap_moves_to_the_end_of_the_gap():
    window = SendWindow(start=time(2, 30))

    got = due_at(anchor=date(2025, 3, 9), offset_days=0, zone=NEW_YORK, window=window)

    assert got == local(NEW_YORK, 2025, 3, 9, 3)  # clocks jump from 02:00 to 03:00


def test_due_at_in_a_fall_back_hour_takes_the_first_occurrence():
    window = SendWindow(start=time(1, 30))

    got = due_at(anchor=date(2025, 11, 2), offset_days=0, zone=NEW_YORK, window=window)

    assert got == utc(2025, 11, 2, 5, 30)  # 01:30 EDT, not 01:30 EST an hour later


# Time zones


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("America/New_York", "America/New_York"),
        (" America/New_York ", "America/New_York"),
        (None, "Europe/Paris"),
        ("", "Europe/Paris"),
        ("   ", "Europe/Paris"),
        ("Not/AZone", "Europe/Paris"),
        ("../etc/passwd", "Europe/Paris"),
        ("Europe", "Europe/Paris"),
    ],
)
def test_customer_without_a_usable_time_zone_gets_the_organization_default(name, expected):
    assert resolve_zone(name, default="Europe/Paris") == ZoneInfo(expected)


def test_customer_without_time_zone_is_due_at_nine_in_the_default_zone():
    zone = resolve_zone(None, default="America/New_York")

    got = due_at(anchor=date(2025, 7, 1), offset_days=0, zone=zone, window=WINDOW)

    assert got == utc(2025, 7, 1, 13)


# Send window


@pytest.mark.parametrize(
    ("zone", "wall", "expected"),
    [
        (PARIS, (2025, 6, 4, 22), (2025, 6, 5, 9)),  # late evening: next day
        (PARIS, (2025, 6, 4, 8), (2025, 6, 4, 9)),  # early morning: same day
        (PARIS, (2025, 6, 4, 0, 30), (2025, 6, 4, 9)),
        (PARIS, (2025, 6, 4, 12, 34, 56), (2025, 6, 4, 12, 34, 56)),  # inside: as is
        (PARIS, (2025, 6, 4, 9), (2025, 6, 4, 9)),  # the start is inside
        (PARIS, (2025, 6, 4, 19), (2025, 6, 5, 9)),  # the end is not
        (PARIS, (2025, 3, 29, 22), (2025, 3, 30, 9)),  # into spring forward
        (PARIS, (2025, 10, 25, 22), (2025, 10, 26, 9)),  # into fall back
        (NEW_YORK, (2025, 3, 8, 20), (2025, 3, 9, 9)),
        (NEW_YORK, (2025, 11, 1, 20), (2025, 11, 2, 9)),
    ],
)
def test_quiet_hours_move_a_touch_to_the_next_window_start(zone, wall, expected):
    got = next_window_start(moment=local(zone, *wall), zone=zone, window=WINDOW)

    assert got == local(zone, *expected)
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(PARIS, 2025, 6, 6, 20), local(PARIS, 2025, 6, 9, 9)),  # Friday evening: Monday
        (local(PARIS, 2025, 6, 7, 10), local(PARIS, 2025, 6, 9, 9)),  # Saturday: Monday
        (local(PARIS, 2025, 6, 8, 23), local(PARIS, 2025, 6, 9, 9)),  # Sunday night: Monday
        (local(PARIS, 2025, 6, 9, 10), local(PARIS, 2025, 6, 9, 10)),  # Monday: as is
    ],
)
def test_weekday_restrictions_skip_to_the_next_allowed_day(moment, expected):
    assert next_window_start(moment=moment, zone=PARIS, window=WEEKDAYS) == expected


def test_a_single_allowed_weekday_waits_up_to_a_week():
    mondays = SendWindow(days=frozenset({0}))

    got = next_window_start(moment=local(PARIS, 2025, 6, 9, 19), zone=PARIS, window=mondays)

    assert got == local(PARIS, 2025, 6, 16, 9)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(PARIS, 2025, 6, 4, 9), True),
        (local(PARIS, 2025, 6, 4, 18, 59, 59), True),
        (local(PARIS, 2025, 6, 4, 19), False),
        (local(PARIS, 2025, 6, 4, 8, 59, 59), False),
        (local(PARIS, 2025, 6, 7, 12), False),  # Saturday
        (local(PARIS, 2025, 6, 7, 12).astimezone(NEW_YORK), False),  # any aware datetime
    ],
)
def test_in_window_reads_the_local_wall_clock(moment, expected):
    assert in_window(moment=moment, zone=PARIS, window=WEEKDAYS) is expected


def test_a_window_start_inside_a_spring_forward_gap_opens_when_the_clock_jumps():
    window = SendWindow(start=time(2, 30), end=time(4))

    got = next_window_start(moment=utc(2025, 3, 9, 0), zone=NEW_YORK, window=window)

    assert got == local(NEW_YORK, 2025, 3, 9, 3)


def test_a_repeated_fall_back_hour_is_inside_the_window_both_times():
    window = SendWindow(start=time(1, 30), end=time(1, 45))
    after_first = local(NEW_YORK, 2025, 11, 2, 1, 50)

    got = next_window_start(moment=after_first, zone=NEW_YORK, window=window)

    assert got == local(NEW_YORK, 2025, 11, 2, 1, 30, fold=1)
    assert got - after_first == timedelta(minutes=40)


def test_falling_back_into_the_window_reopens_it_at_the_change():
    window = SendWindow(start=time(0, 30), end=time(1, 30))
    after_first = local(NEW_YORK, 2025, 11, 2, 1, 40)

    got = next_window_start(moment=after_first, zone=NEW_YORK, window=window)

    assert got == utc(2025, 11, 2, 6)  # 02:00 EDT becomes 01:00 EST


@pytest.mark.parametrize(
    "arguments",
    [
        {"start": time(19), "end": time(9)},
        {"start": time(9), "end": time(9)},
        {"days": frozenset()},
        {"days": frozenset({7})},
        {"start": time(9, tzinfo=UTC)},
    ],
)
def test_impossible_send_windows_are_refused(arguments):
    with pytest.raises(ValueError):
        SendWindow(**arguments)


@pytest.mark.parametrize(
    "arguments", [{"max_touches": 0}, {"period": timedelta(0)}, {"period": timedelta(-1)}]
)
def test_impossible_caps_are_refused(arguments):
    with pytest.raises(ValueError):
        FrequencyCap(**arguments)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        in_window(moment=datetime(2025, 6, 4, 12), zone=PARIS, window=WINDOW)


# Placement and the frequency cap


@pytest.mark.parametrize(
    ("due", "others", "expected"),
    [
        # No other touches: the due time, moved into the window.
        (local(PARIS, 2025, 6, 4, 9), [], local(PARIS, 2025, 6, 4, 9)),
        (local(PARIS, 2025, 6, 4, 22), [], local(PARIS, 2025, 6, 5, 9)),
        # One other touch is fine under a cap of two.
        (local(PARIS, 2025, 6, 4, 9), [local(PARIS, 2025, 6, 4, 9)], local(PARIS, 2025, 6, 4, 9)),
        # Two others a day apart: the third waits until the first leaves its 7 days.
        (
            local(PARIS, 2025, 6, 4, 9),
            [local(PARIS, 2025, 6, 2, 9), local(PARIS, 2025, 6, 3, 9)],
            local(PARIS, 2025, 6, 9, 9),
        ),
        # The slot frees at the blocking touch's own time of day, a week later.
        (
            local(PARIS, 2025, 6, 4, 9),
            [local(PARIS, 2025, 6, 2, 14), local(PARIS, 2025, 6, 3, 9)],
            local(PARIS, 2025, 6, 9, 14),
        ),
        # The slot frees in quiet hours: the next window start.
        (
            local(PARIS, 2025, 6, 4, 9),
            [local(PARIS, 2025, 6, 2, 19, 30), local(PARIS, 2025, 6, 3, 9)],
            local(PARIS, 2025, 6, 10, 9),
        ),
        # Exactly 7 days later, the first touch is out of the period (half-open).
        (
            local(PARIS, 2025, 6, 9, 9),
            [local(PARIS, 2025, 6, 2, 9), local(PARIS, 2025, 6, 3, 9)],
            local(PARIS, 2025, 6, 9, 9),
        ),
        # Two touches already booked later on: the new one must not crowd them.
        (
            local(PARIS, 2025, 6, 5, 9),
            [local(PARIS, 2025, 6, 10, 9), local(PARIS, 2025, 6, 11, 9)],
            local(PARIS, 2025, 6, 17, 9),
        ),
        # ... but a week before the second one is fine.
        (
            local(PARIS, 2025, 6, 4, 9),
            [local(PARIS, 2025, 6, 10, 9), local(PARIS, 2025, 6, 11, 9)],
            local(PARIS, 2025, 6, 4, 9),
        ),
        # One before, one after, more than a period apart: no 7 days hold all three.
        (
            local(PARIS, 2025, 6, 4, 9),
            [local(PARIS, 2025, 6, 1, 9), local(PARIS, 2025, 6, 9, 9)],
            local(PARIS, 2025, 6, 4, 9),
        ),
        # The period is elapsed time: across spring forward, 168 hours after 09:00 CET is
        # 10:00 CEST.
        (
            local(PARIS, 2025, 3, 26, 9),
            [local(PARIS, 2025, 3, 24, 9), local(PARIS, 2025, 3, 25, 9)],
            local(PARIS, 2025, 3, 31, 10),
        ),
        # Across fall back, 168 hours after 09:00 CEST is 08:00 CET: the window opens at 09:00.
        (
            local(PARIS, 2025, 10, 22, 9),
            [local(PARIS, 2025, 10, 20, 9), local(PARIS, 2025, 10, 21, 9)],
            local(PARIS, 2025, 10, 27, 9),
        ),
    ],
)
def test_third_touch_in_seven_days_is_deferred_exactly(due, others, expected):
    assert placed(due, others) == expected


def test_deferred_touch_lands_on_an_allowed_weekday():
    others = [local(PARIS, 2025, 5, 31, 9), local(PARIS, 2025, 6, 2, 9)]  # Saturday, Monday

    got = placed(local(PARIS, 2025, 6, 3, 9), others, window=WEEKDAYS)

    assert got == local(PARIS, 2025, 6, 9, 9)  # Saturday 7 June is freed, but not allowed


def test_a_cap_of_one_spaces_touches_a_full_period_apart():
    cap = FrequencyCap(max_touches=1, period=timedelta(days=14))

    got = placed(local(PARIS, 2025, 6, 4, 9), [local(PARIS, 2025, 6, 2, 15)], cap=cap)

    assert got == local(PARIS, 2025, 6, 16, 15)


def test_a_past_due_touch_is_placed_from_now():
    now = local(PARIS, 2025, 6, 4, 20)

    got = placed(local(PARIS, 2025, 5, 1, 9), [], not_before=now)

    assert got == local(PARIS, 2025, 6, 5, 9)


def test_not_before_in_the_past_does_not_pull_a_touch_earlier():
    got = placed(local(PARIS, 2025, 6, 4, 9), [], not_before=local(PARIS, 2025, 5, 1, 9))

    assert got == local(PARIS, 2025, 6, 4, 9)


def test_touches_from_every_program_count_towards_the_cap():
    busy = [local(PARIS, 2025, 6, 4, 9)] * 3  # over the cap already: nothing fits near them

    got = placed(local(PARIS, 2025, 6, 4, 9), busy)

    assert got == local(PARIS, 2025, 6, 11, 9)


# Properties

ZONES = [
    PARIS,
    NEW_YORK,
    ZoneInfo("UTC"),
    ZoneInfo("Australia/Lord_Howe"),  # 30-minute DST
    ZoneInfo("Pacific/Chatham"),  # +12:45
    ZoneInfo("America/Santiago"),  # changes at midnight
    ZoneInfo("Asia/Beirut"),  # falls back from midnight into the day before
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Pacific/Kiritimati"),  # +14
    ZoneInfo("America/St_Johns"),  # -03:30 / -02:30
]

zones = st.sampled_from(ZONES)
# Days on which the zones above change their clocks in 2025, to draw instants close to a change.
CLOCK_CHANGES = [
    utc(2025, 3, 9, 7),  # New York, St John's
    utc(2025, 3, 29, 22),  # Beirut
    utc(2025, 3, 30, 1),  # Paris
    utc(2025, 4, 5, 15),  # Lord Howe, Chatham
    utc(2025, 4, 6, 3),  # Santiago
    utc(2025, 9, 7, 4),  # Santiago
    utc(2025, 9, 27, 14),  # Chatham
    utc(2025, 10, 4, 15),  # Lord Howe
    utc(2025, 10, 25, 21),  # Beirut
    utc(2025, 10, 26, 1),  # Paris
    utc(2025, 11, 2, 6),  # New York, St John's
]
instants = st.one_of(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    st.builds(
        lambda change, delta: change + delta,
        st.sampled_from(CLOCK_CHANGES),
        st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=2)),
    ),
)
clock_times = st.times(max_value=time(23, 45)).map(lambda t: t.replace(microsecond=0))


@st.composite
def windows(draw) -> SendWindow:
    start = draw(clock_times)
    end = draw(st.times(min_value=start).filter(lambda t: t > start))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    return SendWindow(start=start, end=end, days=days)


caps = st.builds(
    FrequencyCap,
    max_touches=st.integers(1, 3),
    period=st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=10)),
)


def near(base: datetime) -> st.SearchStrategy[datetime]:
    return st.timedeltas(min_value=timedelta(days=-20), max_value=timedelta(days=20)).map(
        lambda delta: base + delta
    )


def busiest_window_with(moment: datetime, touches: list[datetime], period: timedelta) -> int:
    """Most touches (the moment included) in a period-long window holding the moment."""
    counts = [
        sum(start <= touch < start + period for touch in [*touches, moment])
        for start in [moment, *touches]
        if start <= moment < start + period
    ]
    return max(counts)


@settings(max_examples=100, deadline=None)
@given(moment=instants, zone=zones, window=windows())
def test_next_window_start_is_the_earliest_instant_in_window(moment, zone, window):
    got = next_window_start(moment=moment, zone=zone, window=window)

    assert got >= moment
    assert got.tzinfo is UTC
    assert in_window(moment=got, zone=zone, window=window)
    assert next_window_start(moment=got, zone=zone, window=window) == got
    # No sampled instant between the moment and the result is inside the window.
    step = max((got - moment) / 600, timedelta(minutes=1))
    probe = moment
    while probe < got:
        assert not in_window(moment=probe, zone=zone, window=window)
        probe += step


@settings(max_examples=100, deadline=None)
@given(data=st.data(), base=instants, zone=zones, window=windows(), cap=caps)
def test_placement_is_in_window_never_early_and_under_the_cap(data, base, zone, window, cap):
    due = data.draw(near(base))
    not_before = data.draw(st.none() | near(base))
    others = data.draw(st.lists(near(base), max_size=6))

    got = place(due=due, zone=zone, window=window, cap=cap, others=others, not_before=not_before)

    assert got.tzinfo is UTC
    assert in_window(moment=got, zone=zone, window=window)
    assert got >= due
    assert not_before is None or got >= not_before
    assert busiest_window_with(got, others, cap.period) <= cap.max_touches
    again = place(due=got, zone=zone, window=window, cap=cap, others=others)
    assert again == got


@settings(max_examples=60, deadline=None)
@given(data=st.data(), base=instants, zone=zones, window=windows(), cap=caps)
def test_placement_takes_the_earliest_allowed_instant(data, base, zone, window, cap):
    due = data.draw(near(base))
    others = data.draw(st.lists(near(due), max_size=4))

    got = place(due=due, zone=zone, window=window, cap=cap, others=others)

    step = max((got - due) / 400, timedelta(minutes=1))
    probe = due
    while probe < got:
        assert not (
            in_window(moment=probe, zone=zone, window=window)
            and busiest_window_with(probe, others, cap.period) <= cap.max_touches
        )
        probe += step


@settings(max_examples=60, deadline=None)
@given(data=st.data(), base=instants, zone=zones, window=windows(), cap=caps)
def test_touches_placed_one_after_another_never_exceed_the_cap(data, base, zone, window, cap):
    dues = data.draw(st.lists(near(base), min_size=1, max_size=8))
    schedule: list[datetime] = []

    for due in dues:
        schedule.append(place(due=due, zone=zone, window=window, cap=cap, others=schedule))

    for start in schedule:
        held = sum(start <= touch < start + cap.period for touch in schedule)
        assert held <= cap.max_touches
    assert all(in_window(moment=touch, zone=zone, window=window) for touch in schedule)
    assert all(touch >= due for touch, due in zip(schedule, dues, strict=True))


@settings(max_examples=100, deadline=None)
@given(
    anchor=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    offset_days=st.integers(-400, 400),
    zone=zones,
    window=windows(),
)
def test_due_at_is_never_before_the_local_window_start_on_its_day(
    anchor, offset_days, zone, window
):
    got = due_at(anchor=anchor, offset_days=offset_days, zone=zone, window=window)

    day = anchor + timedelta(days=offset_days)
    wall = got.astimezone(zone).replace(tzinfo=None)
    assert got.tzinfo is UTC
    assert wall >= datetime.combine(day, window.start)
    # Only a DST gap may push it later, and then only by the gap.
    assert wall - datetime.combine(day, window.start) <= timedelta(hours=2)
