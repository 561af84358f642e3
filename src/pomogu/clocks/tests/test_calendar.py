"""Business-calendar arithmetic: hours, Russian holidays and moved days, special and closed days,
lunch breaks, time zones and clock changes, and the JSON config. Pure Python, no database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pomogu.clocks.calendar import ALWAYS, HORIZON_DAYS, BusinessCalendar

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

WEEKDAYS_9_TO_18 = {d: [(time(9), time(18))] for d in range(5)}

# The demo desk: Moscow, Monday to Friday 09:00-18:00, Russian holidays.
DESK = BusinessCalendar("Europe/Moscow", WEEKDAYS_9_TO_18, country="RU")
# The same with a lunch break from 13:00 to 14:00.
LUNCH = BusinessCalendar(
    "Europe/Moscow",
    {d: [(time(9), time(13)), (time(14), time(18))] for d in range(5)},
    country="RU",
)
# The demo desk with its own exceptions.
EXCEPTIONS = BusinessCalendar(
    "Europe/Moscow",
    WEEKDAYS_9_TO_18,
    country="RU",
    closed=frozenset({date(2026, 4, 22)}),
    special={
        date(2026, 12, 30): [(time(9), time(17))],  # shortened day before the New Year holidays
        date(2026, 4, 25): [(time(10), time(14))],  # an open Saturday
        date(2026, 6, 12): [(time(10), time(16))],  # open on Russia Day
    },
)
NEW_YORK_DESK = BusinessCalendar("America/New_York", WEEKDAYS_9_TO_18)
BERLIN_DAILY = BusinessCalendar("Europe/Berlin", {d: [(time(9), time(18))] for d in range(7)})
BERLIN_ALWAYS = BusinessCalendar.always("Europe/Berlin")
NEW_YORK_ALWAYS = BusinessCalendar.always("America/New_York")
# Open on Sundays across the small hours, where Berlin moves its clocks.
BERLIN_NIGHT = BusinessCalendar(
    "Europe/Berlin",
    {6: [(time(1), time(2, 15)), (time(2, 30), time(4))], 0: [(time(9), time(18))]},
)
# Sao Paulo moved its clocks at midnight until 2019: 2018-11-04 began at 01:00, and 23:00-24:00
# of 2019-02-16 happened twice.
SAO_PAULO_ALWAYS = BusinessCalendar.always("America/Sao_Paulo")
SAO_PAULO_NIGHT = BusinessCalendar(
    "America/Sao_Paulo", {5: [(time(22), time(0))], 6: [(time(0), time(2))]}
)

CALENDARS = {
    "desk": DESK,
    "lunch": LUNCH,
    "exceptions": EXCEPTIONS,
    "new_york": NEW_YORK_DESK,
    "berlin_daily": BERLIN_DAILY,
    "berlin_always": BERLIN_ALWAYS,
    "berlin_night": BERLIN_NIGHT,
    "always": ALWAYS,
    "sao_paulo_always": SAO_PAULO_ALWAYS,
    "sao_paulo_night": SAO_PAULO_NIGHT,
}

FAST = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def at(text: str) -> datetime:
    """An aware datetime from ISO text with an offset."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment


def length_minutes(intervals: list[tuple[datetime, datetime]]) -> float:
    # Subtract in UTC: Python subtracts datetimes of one zone as wall-clock times.
    return sum((e.astimezone(UTC) - s.astimezone(UTC)).total_seconds() / 60 for s, e in intervals)


# ---- adding business minutes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "start", "minutes", "expected"),
    [
        # Weekends and ordinary days.
        ("desk", "2026-04-17T17:30+03:00", 60, "2026-04-20T09:30:00+03:00"),
        ("desk", "2026-04-20T10:00+03:00", 30, "2026-04-20T10:30:00+03:00"),
        ("desk", "2026-04-20T22:00+03:00", 60, "2026-04-21T10:00:00+03:00"),
        ("desk", "2026-04-18T12:00+03:00", 1, "2026-04-20T09:01:00+03:00"),
        ("desk", "2026-04-20T09:00+03:00", 540, "2026-04-20T18:00:00+03:00"),
        ("desk", "2026-04-20T09:00+03:00", 541, "2026-04-21T09:01:00+03:00"),
        ("desk", "2026-04-20T09:00+03:00", 0.5, "2026-04-20T09:00:30+03:00"),
        # 18 whole days (May 1 and May 11 are holidays) and 280 minutes.
        ("desk", "2026-04-20T09:00+03:00", 10_000, "2026-05-18T13:40:00+03:00"),
        # Russian holidays of 2026 and 2027, with the days off the package moves.
        ("desk", "2026-12-30T17:30+03:00", 60, "2027-01-11T09:30:00+03:00"),
        ("desk", "2026-01-08T12:00+03:00", 60, "2026-01-12T10:00:00+03:00"),
        ("desk", "2026-02-20T17:30+03:00", 60, "2026-02-24T09:30:00+03:00"),
        ("desk", "2026-03-06T17:30+03:00", 60, "2026-03-10T09:30:00+03:00"),
        ("desk", "2026-04-30T17:30+03:00", 60, "2026-05-04T09:30:00+03:00"),
        ("desk", "2026-05-08T17:30+03:00", 60, "2026-05-12T09:30:00+03:00"),
        ("desk", "2026-06-11T17:30+03:00", 60, "2026-06-15T09:30:00+03:00"),
        ("desk", "2026-11-03T17:30+03:00", 60, "2026-11-05T09:30:00+03:00"),
        ("desk", "2027-02-19T17:30+03:00", 60, "2027-02-20T09:30:00+03:00"),
        ("desk", "2027-02-20T17:30+03:00", 60, "2027-02-24T09:30:00+03:00"),
        ("desk", "2027-05-07T17:30+03:00", 60, "2027-05-11T09:30:00+03:00"),
        # Lunch breaks.
        ("lunch", "2026-04-20T12:30+03:00", 60, "2026-04-20T14:30:00+03:00"),
        ("lunch", "2026-04-20T12:30+03:00", 30, "2026-04-20T13:00:00+03:00"),
        ("lunch", "2026-04-20T13:20+03:00", 10, "2026-04-20T14:10:00+03:00"),
        ("lunch", "2026-04-20T09:00+03:00", 480, "2026-04-20T18:00:00+03:00"),
        # Closed and special days.
        ("exceptions", "2026-12-30T16:30+03:00", 60, "2027-01-11T09:30:00+03:00"),
        ("exceptions", "2026-12-29T17:30+03:00", 60, "2026-12-30T09:30:00+03:00"),
        ("exceptions", "2026-04-21T17:30+03:00", 60, "2026-04-23T09:30:00+03:00"),
        ("exceptions", "2026-04-24T17:30+03:00", 60, "2026-04-25T10:30:00+03:00"),
        ("exceptions", "2026-04-25T13:30+03:00", 60, "2026-04-27T09:30:00+03:00"),
        ("exceptions", "2026-06-11T17:30+03:00", 60, "2026-06-12T10:30:00+03:00"),
        # Inputs in other zones; the answer is in the calendar's zone.
        ("desk", "2026-04-17T14:30+00:00", 60, "2026-04-20T09:30:00+03:00"),
        ("desk", "2026-04-17T10:30-04:00", 60, "2026-04-20T09:30:00+03:00"),
        ("desk", "2026-04-20T05:00+00:00", 30, "2026-04-20T09:30:00+03:00"),
        ("desk", "2026-04-20T05:00+00:00", 0, "2026-04-20T09:00:00+03:00"),
        # Clock changes: the next opening keeps its wall time, the offset moves.
        ("new_york", "2026-03-06T17:30-05:00", 60, "2026-03-09T09:30:00-04:00"),
        ("new_york", "2026-10-30T17:30-04:00", 60, "2026-11-02T09:30:00-05:00"),
        ("berlin_daily", "2026-03-28T17:30+01:00", 60, "2026-03-29T09:30:00+02:00"),
        ("berlin_daily", "2026-10-24T17:30+02:00", 60, "2026-10-25T09:30:00+01:00"),
        ("berlin_always", "2026-03-29T00:00+01:00", 1380, "2026-03-30T00:00:00+02:00"),
        ("berlin_always", "2026-10-25T00:00+02:00", 1500, "2026-10-26T00:00:00+01:00"),
        ("berlin_always", "2026-03-29T01:30+01:00", 30, "2026-03-29T03:00:00+02:00"),
        ("berlin_always", "2026-10-25T02:30+02:00", 60, "2026-10-25T02:30:00+01:00"),
        ("berlin_night", "2026-03-29T01:00+01:00", 90, "2026-03-29T03:30:00+02:00"),
        # Around the clock.
        ("always", "2026-04-18T12:00+03:00", 7 * 1440, "2026-04-25T09:00:00+00:00"),
    ],
)
def test_add_business_minutes(calendar: str, start: str, minutes: float, expected: str) -> None:
    assert CALENDARS[calendar].add_business_minutes(at(start), minutes).isoformat() == expected


@pytest.mark.parametrize(
    ("calendar", "start", "minutes", "expected"),
    [
        ("desk", "2026-04-20T09:30+03:00", -60, "2026-04-17T17:30:00+03:00"),
        ("desk", "2026-04-20T10:00+03:00", -60, "2026-04-20T09:00:00+03:00"),
        ("desk", "2026-04-20T20:00+03:00", -60, "2026-04-20T17:00:00+03:00"),
        ("desk", "2027-01-11T09:30+03:00", -60, "2026-12-30T17:30:00+03:00"),
        ("lunch", "2026-04-20T14:30+03:00", -60, "2026-04-20T12:30:00+03:00"),
        ("new_york", "2026-03-09T09:30-04:00", -60, "2026-03-06T17:30:00-05:00"),
    ],
)
def test_negative_minutes_count_back(
    calendar: str, start: str, minutes: float, expected: str
) -> None:
    assert CALENDARS[calendar].add_business_minutes(at(start), minutes).isoformat() == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-04-20T10:00+03:00", "2026-04-20T10:00:00+03:00"),  # open: itself
        ("2026-04-20T07:00+00:00", "2026-04-20T10:00:00+03:00"),  # open: itself, Moscow zone
        ("2026-04-20T09:00+03:00", "2026-04-20T09:00:00+03:00"),  # at opening: open
        ("2026-04-20T13:00+03:00", "2026-04-20T14:00:00+03:00"),  # lunch starts: closed
        ("2026-04-20T18:00+03:00", "2026-04-21T09:00:00+03:00"),  # at closing: closed
        ("2026-04-18T11:00+03:00", "2026-04-20T09:00:00+03:00"),  # Saturday
        ("2026-01-01T00:00+03:00", "2026-01-12T09:00:00+03:00"),  # New Year holidays
    ],
)
def test_zero_minutes_is_the_next_opening(start: str, expected: str) -> None:
    assert LUNCH.add_business_minutes(at(start), 0).isoformat() == expected
    assert LUNCH.next_open(at(start)).isoformat() == expected


def test_results_are_in_the_calendars_zone() -> None:
    result = DESK.add_business_minutes(datetime(2026, 4, 17, 14, 30, tzinfo=UTC), 60)
    assert result.tzinfo == MOSCOW
    assert DESK.next_open(datetime(2026, 4, 20, 7, tzinfo=UTC)).tzinfo == MOSCOW
    assert all(s.tzinfo == e.tzinfo == MOSCOW for s, e in DESK.open_intervals(date(2026, 4, 20)))


# ---- measuring business minutes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "start", "end", "minutes"),
    [
        ("desk", "2026-04-17T17:00+03:00", "2026-04-20T10:00+03:00", 120),
        ("desk", "2026-04-20T10:00+03:00", "2026-04-17T17:00+03:00", -120),
        ("desk", "2026-04-18T10:00+03:00", "2026-04-19T10:00+03:00", 0),
        ("desk", "2026-04-20T19:00+03:00", "2026-04-21T08:00+03:00", 0),
        ("desk", "2026-04-20T10:00+03:00", "2026-04-20T10:00+03:00", 0),
        ("desk", "2026-04-20T10:00:30+03:00", "2026-04-20T10:01+03:00", 0.5),
        ("desk", "2026-12-30T17:00+03:00", "2027-01-11T10:00+03:00", 120),
        ("desk", "2027-02-19T17:00+03:00", "2027-02-24T10:00+03:00", 60 + 540 + 60),
        # 247 working days: the Russian production calendar of 2026.
        ("desk", "2026-01-01T00:00+03:00", "2027-01-01T00:00+03:00", 247 * 540),
        ("desk", "2025-12-31T21:00+00:00", "2026-12-31T21:00+00:00", 247 * 540),
        ("lunch", "2026-04-20T12:00+03:00", "2026-04-20T15:00+03:00", 120),
        ("lunch", "2026-04-20T15:00+03:00", "2026-04-20T12:00+03:00", -120),
        ("exceptions", "2026-04-20T00:00+03:00", "2026-04-27T00:00+03:00", 4 * 540 + 240),
        ("exceptions", "2026-12-30T00:00+03:00", "2026-12-31T00:00+03:00", 480),
        ("new_york", "2026-03-06T17:00-05:00", "2026-03-09T10:00-04:00", 120),
        ("berlin_daily", "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00", 540),
        ("berlin_daily", "2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00", 540),
        ("berlin_always", "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00", 1380),
        ("berlin_always", "2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00", 1500),
        ("berlin_always", "2026-03-28T12:00+01:00", "2026-03-30T12:00+02:00", 47 * 60),
        ("berlin_night", "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00", 60 + 60),
        ("berlin_night", "2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00", 75 + 150),
        ("always", "2026-04-18T12:00+03:00", "2026-04-18T13:00+00:00", 240),
        ("always", "2026-04-18T13:00+00:00", "2026-04-18T12:00+03:00", -240),
    ],
)
def test_business_minutes_between(calendar: str, start: str, end: str, minutes: float) -> None:
    assert CALENDARS[calendar].business_minutes_between(at(start), at(end)) == minutes


@pytest.mark.parametrize(
    ("calendar", "day", "expected"),
    [
        ("desk", date(2026, 4, 20), [("09:00", "18:00")]),
        ("lunch", date(2026, 4, 20), [("09:00", "13:00"), ("14:00", "18:00")]),
        ("desk", date(2026, 4, 18), []),  # Saturday
        ("desk", date(2026, 1, 9), []),  # a day off moved from Saturday 3 January
        ("desk", date(2026, 12, 31), []),  # a day off moved from Sunday 4 January
        ("desk", date(2027, 2, 22), []),  # a day off moved from Saturday 20 February
        ("desk", date(2027, 2, 20), [("09:00", "18:00")]),  # the working Saturday
        ("exceptions", date(2026, 4, 22), []),
        ("exceptions", date(2026, 4, 25), [("10:00", "14:00")]),
        ("exceptions", date(2026, 6, 12), [("10:00", "16:00")]),
        ("berlin_night", date(2026, 3, 29), [("01:00", "03:00"), ("03:00", "04:00")]),
        ("always", date(2026, 4, 20), [("00:00", "00:00")]),
        ("sao_paulo_always", date(2018, 11, 4), [("01:00", "00:00")]),
        ("sao_paulo_night", date(2018, 11, 3), [("22:00", "01:00")]),
        ("sao_paulo_night", date(2018, 11, 4), [("01:00", "02:00")]),
    ],
)
def test_open_intervals(calendar: str, day: date, expected: list[tuple[str, str]]) -> None:
    intervals = CALENDARS[calendar].open_intervals(day)
    assert [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in intervals] == expected
    assert all(s.date() == day for s, _ in intervals)


@pytest.mark.parametrize(
    ("calendar", "day", "minutes"),
    [
        ("berlin_daily", date(2026, 3, 29), 540),
        ("berlin_daily", date(2026, 10, 25), 540),
        ("berlin_always", date(2026, 3, 29), 1380),
        ("berlin_always", date(2026, 10, 25), 1500),
        ("berlin_always", date(2026, 3, 30), 1440),
        ("sao_paulo_always", date(2018, 11, 4), 1380),
        ("sao_paulo_always", date(2019, 2, 16), 1500),
        ("sao_paulo_night", date(2018, 11, 3), 120),
        ("sao_paulo_night", date(2018, 11, 4), 60),
        ("sao_paulo_night", date(2019, 2, 16), 180),
        # 02:15 and 02:30 are skipped in March: both mean the jump from 02:00 to 03:00.
        ("berlin_night", date(2026, 3, 29), 60 + 60),
        # 02:15 and 02:30 are shown twice in October; both mean the first time.
        ("berlin_night", date(2026, 10, 25), 75 + 150),
    ],
)
def test_a_day_is_measured_in_real_minutes_across_clock_changes(
    calendar: str, day: date, minutes: float
) -> None:
    assert length_minutes(CALENDARS[calendar].open_intervals(day)) == minutes


def test_a_new_york_day_is_23_or_25_hours_when_the_clocks_change() -> None:
    assert length_minutes(NEW_YORK_ALWAYS.open_intervals(date(2026, 3, 8))) == 23 * 60
    assert length_minutes(NEW_YORK_ALWAYS.open_intervals(date(2026, 11, 1))) == 25 * 60


def test_a_working_saturday_takes_fridays_hours() -> None:
    short_friday = BusinessCalendar(
        "Europe/Moscow",
        {**{d: [(time(9), time(18))] for d in range(4)}, 4: [(time(9), time(16, 45))]},
        country="RU",
    )
    [(start, end)] = short_friday.open_intervals(date(2027, 2, 20))
    assert (start.time(), end.time()) == (time(9), time(16, 45))


def test_a_holiday_on_a_normally_open_day_is_closed_unless_special() -> None:
    seven_days = BusinessCalendar(
        "Europe/Moscow", {d: [(time(10), time(16))] for d in range(7)}, country="RU"
    )
    assert seven_days.open_intervals(date(2026, 1, 3)) == []  # a Saturday in the holidays
    assert seven_days.open_intervals(date(2026, 1, 10)) != []  # an ordinary Saturday
    assert EXCEPTIONS.open_intervals(date(2026, 6, 12)) != []


@pytest.mark.parametrize(
    ("subdivision", "epiphany_open"),
    [("BY", False), ("BE", True)],
)
def test_subdivision_holidays(subdivision: str, epiphany_open: bool) -> None:
    calendar = BusinessCalendar(
        "Europe/Berlin", WEEKDAYS_9_TO_18, country="DE", subdivision=subdivision
    )
    assert calendar.is_open(datetime(2026, 1, 6, 12, tzinfo=BERLIN)) is epiphany_open


# ---- is_open --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "moment", "expected"),
    [
        ("lunch", "2026-04-20T09:00+03:00", True),
        ("lunch", "2026-04-20T08:59:59.999999+03:00", False),
        ("lunch", "2026-04-20T12:59:59+03:00", True),
        ("lunch", "2026-04-20T13:00+03:00", False),
        ("lunch", "2026-04-20T13:59+03:00", False),
        ("lunch", "2026-04-20T14:00+03:00", True),
        ("lunch", "2026-04-20T18:00+03:00", False),
        ("lunch", "2026-04-20T06:30+00:00", True),
        ("lunch", "2026-04-18T12:00+03:00", False),
        ("lunch", "2026-03-09T12:00+03:00", False),
        ("exceptions", "2026-04-22T12:00+03:00", False),
        ("exceptions", "2026-04-25T12:00+03:00", True),
        ("always", "2026-04-20T00:00+00:00", True),
        ("always", "2026-04-19T23:59:59+00:00", True),
        # The hour Berlin shows twice is open both times.
        ("berlin_night", "2026-10-25T02:10+02:00", True),
        ("berlin_night", "2026-10-25T02:10+01:00", True),
        ("berlin_night", "2026-10-25T03:30+01:00", True),
        ("berlin_night", "2026-10-25T04:00+01:00", False),
    ],
)
def test_is_open(calendar: str, moment: str, expected: bool) -> None:
    assert CALENDARS[calendar].is_open(at(moment)) is expected


# ---- properties -----------------------------------------------------------------------------

PROPERTY_CALENDARS = ["lunch", "exceptions", "new_york", "berlin_night", "berlin_always", "always"]
ZONES = st.sampled_from([UTC, MOSCOW, BERLIN, NEW_YORK])
MOMENTS = st.datetimes(
    min_value=datetime(2025, 12, 1),
    max_value=datetime(2028, 1, 1),
    timezones=ZONES,
    allow_imaginary=False,
)


@FAST
@given(
    name=st.sampled_from(PROPERTY_CALENDARS),
    start=MOMENTS,
    minutes=st.integers(min_value=0, max_value=60_000),
)
def test_between_undoes_add(name: str, start: datetime, minutes: int) -> None:
    calendar = CALENDARS[name]
    later = calendar.add_business_minutes(start, minutes)
    assert calendar.business_minutes_between(start, later) == minutes
    assert calendar.business_minutes_between(later, start) == -minutes
    earlier = calendar.add_business_minutes(start, -minutes)
    assert calendar.business_minutes_between(earlier, start) == minutes


@FAST
@given(
    name=st.sampled_from(PROPERTY_CALENDARS),
    start=MOMENTS,
    minutes=st.floats(min_value=0.001, max_value=10_000),
)
def test_adding_lands_inside_open_time(name: str, start: datetime, minutes: float) -> None:
    calendar = CALENDARS[name]
    later = calendar.add_business_minutes(start, minutes)
    assert later > start
    # Step back in real time (UTC): wall-clock subtraction drops `fold` and would land an hour
    # early inside a repeated hour (Berlin, 2026-10-25 02:16 second occurrence).
    assert calendar.is_open(later.astimezone(UTC) - timedelta(microseconds=1))
    assert calendar.business_minutes_between(start, later) == pytest.approx(minutes, abs=1e-6)


@settings(FAST, max_examples=100)
@given(name=st.sampled_from(PROPERTY_CALENDARS), a=MOMENTS, b=MOMENTS, c=MOMENTS)
def test_between_is_antisymmetric_and_additive(
    name: str, a: datetime, b: datetime, c: datetime
) -> None:
    calendar = CALENDARS[name]
    ab = calendar.business_minutes_between(a, b)
    assert ab == -calendar.business_minutes_between(b, a)
    assert ab + calendar.business_minutes_between(b, c) == pytest.approx(
        calendar.business_minutes_between(a, c)
    )


@pytest.mark.parametrize(
    ("calendar", "first_day"),
    [
        ("berlin_night", date(2026, 3, 26)),
        ("berlin_night", date(2026, 10, 22)),
        ("berlin_daily", date(2026, 3, 26)),
        ("new_york", date(2026, 10, 29)),
        ("lunch", date(2026, 12, 28)),
        ("exceptions", date(2026, 4, 21)),
        ("sao_paulo_night", date(2018, 11, 1)),
        ("sao_paulo_night", date(2019, 2, 14)),
    ],
)
def test_between_agrees_with_counting_minute_by_minute(calendar: str, first_day: date) -> None:
    cal = CALENDARS[calendar]
    start = datetime.combine(first_day, time(0), tzinfo=cal.zone).astimezone(UTC)
    minutes = 5 * 1440
    counted = sum(cal.is_open(start + timedelta(minutes=m)) for m in range(minutes))
    assert cal.business_minutes_between(start, start + timedelta(minutes=minutes)) == counted


@pytest.mark.parametrize(
    ("calendar", "start"),
    [
        ("sao_paulo_night", "2018-11-03T21:00-03:00"),
        ("sao_paulo_night", "2019-02-16T23:30-03:00"),
        ("sao_paulo_always", "2019-02-16T23:30-02:00"),
        ("berlin_night", "2026-10-25T02:20+01:00"),
        ("new_york", "2026-03-08T12:00-04:00"),
    ],
)
def test_between_undoes_add_around_clock_changes(calendar: str, start: str) -> None:
    cal, moment = CALENDARS[calendar], at(start)
    for minutes in range(0, 2000, 7):
        later = cal.add_business_minutes(moment, minutes)
        earlier = cal.add_business_minutes(moment, -minutes)
        assert cal.business_minutes_between(moment, later) == minutes
        assert cal.business_minutes_between(earlier, moment) == minutes


def test_a_day_that_began_before_the_clocks_went_back_a_whole_day() -> None:
    # Sitka moved from Russian to American time in 1867: the clocks went back 24 hours, so
    # 19 October had begun while the local date read 18 October again.
    sitka = BusinessCalendar.always("America/Sitka")
    moment = datetime(1867, 10, 19, 6, tzinfo=UTC)
    assert moment.astimezone(sitka.zone).date() == date(1867, 10, 18)
    assert sitka.is_open(moment)
    # In UTC: an instant shown twice by the wall clock never equals one in another zone.
    assert sitka.add_business_minutes(moment, -60).astimezone(UTC) == moment - timedelta(hours=1)
    assert sitka.business_minutes_between(moment - timedelta(days=1), moment) == 1440


# ---- refusals -------------------------------------------------------------------------------

NAIVE = datetime(2026, 4, 20, 10)
AWARE = datetime(2026, 4, 20, 10, tzinfo=MOSCOW)


@pytest.mark.parametrize(
    "call",
    [
        lambda: DESK.is_open(NAIVE),
        lambda: DESK.next_open(NAIVE),
        lambda: DESK.add_business_minutes(NAIVE, 10),
        lambda: DESK.business_minutes_between(NAIVE, AWARE),
        lambda: DESK.business_minutes_between(AWARE, NAIVE),
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


@pytest.mark.parametrize("minutes", ["10", None, True])
def test_minutes_must_be_a_number(minutes: Any) -> None:
    with pytest.raises(TypeError, match="minutes must be a number"):
        DESK.add_business_minutes(AWARE, minutes)


@pytest.mark.parametrize("minutes", [float("nan"), float("inf"), float("-inf")])
def test_minutes_must_be_finite(minutes: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        DESK.add_business_minutes(AWARE, minutes)


@pytest.mark.parametrize("hours", [{}, {0: []}, {d: [] for d in range(7)}])
def test_a_calendar_without_hours_is_refused(hours: Any) -> None:
    with pytest.raises(ValueError, match="no open hours"):
        BusinessCalendar("Europe/Moscow", hours)


def test_a_calendar_closed_beyond_the_horizon_raises_instead_of_looping() -> None:
    first = date(2026, 4, 20)
    mondays = frozenset(first + timedelta(weeks=w) for w in range(HORIZON_DAYS // 7 + 2))
    only_closed_mondays = BusinessCalendar("UTC", {0: [(time(9), time(18))]}, closed=mondays)
    start = datetime(2026, 4, 19, tzinfo=UTC)
    with pytest.raises(ValueError, match="no open hours"):
        only_closed_mondays.next_open(start)
    with pytest.raises(ValueError, match="no open hours"):
        only_closed_mondays.add_business_minutes(start, 5)
    assert only_closed_mondays.business_minutes_between(start, start + timedelta(days=900)) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"timezone": ""}, "unknown time zone"),
        ({"hours": {7: [(time(9), time(18))]}}, "weekday must be 0"),
        ({"hours": {0: [(time(18), time(9))]}}, "18:00-09:00 ends before it starts"),
        ({"hours": {0: [(time(9), time(9))]}}, "ends before it starts"),
        (
            {"hours": {0: [(time(9), time(13)), (time(12), time(18))]}},
            "09:00-13:00 overlaps 12:00-18:00",
        ),
        ({"hours": {0: [(time(9), time(0)), (time(10), time(11))]}}, "overlaps"),
        ({"hours": {0: [(time(9), time(18, tzinfo=UTC))]}}, "not a time without a zone"),
        ({"closed": frozenset({datetime(2026, 1, 1, tzinfo=UTC)})}, "closed day must be a date"),
        ({"special": {date(2026, 4, 25): []}}, "has no hours; list it as closed"),
        (
            {"closed": frozenset({date(2026, 4, 25)}), "special": {date(2026, 4, 25): []}},
            "both closed and special",
        ),
        ({"country": "XX"}, "unknown holiday country 'XX'"),
        ({"country": "ru"}, "unknown holiday country 'ru'"),
        ({"country": "Russia"}, "unknown holiday country 'Russia'"),
        ({"country": "RU", "subdivision": 7}, "subdivision must be a string"),
        ({"country": "RU", "subdivision": "MOW"}, "'RU' has no subdivision 'MOW'"),
        ({"subdivision": "BY"}, "needs a country"),
        ({"hours": [(time(9), time(18))]}, "hours must be a mapping"),
        ({"timezone": None}, "timezone must be a string"),
    ],
)
def test_bad_calendars_are_refused(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"timezone": "Europe/Moscow", "hours": WEEKDAYS_9_TO_18} | kwargs
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**arguments)


def test_touching_intervals_are_joined() -> None:
    calendar = BusinessCalendar("UTC", {0: [(time(13), time(18)), (time(9), time(13))]})
    assert calendar.hours[0] == ((time(9), time(18)),)


def test_calendars_are_immutable_values() -> None:
    same = BusinessCalendar("Europe/Moscow", dict(WEEKDAYS_9_TO_18), country="RU")
    assert same == DESK
    assert hash(same) == hash(DESK)
    assert same != LUNCH
    with pytest.raises(AttributeError):
        DESK.country = ""  # type: ignore[misc]
    with pytest.raises(TypeError):
        DESK.hours[5] = [(time(10), time(12))]  # type: ignore[index]


# ---- config ---------------------------------------------------------------------------------

CONFIG = {
    "timezone": "Europe/Moscow",
    "hours": {
        "mon": [["09:00", "13:00"], ["14:00", "18:00"]],
        "tue": [["09:00", "18:00"]],
        "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]],
        "fri": [["09:00", "16:45"]],
        "sun": [["22:00", "24:00"]],
    },
    "country": "RU",
    "subdivision": "",
    "closed": ["2026-04-22", "2026-12-31"],
    "special": {"2026-04-25": [["10:00", "14:00"]], "2026-12-30": [["09:00", "16:00"]]},
}


def test_config_round_trip() -> None:
    calendar = BusinessCalendar.from_config(CONFIG)
    assert calendar.to_config() == CONFIG
    assert BusinessCalendar.from_config(calendar.to_config()) == calendar
    assert calendar.hours[6] == ((time(22), time(0)),)
    assert calendar.special[date(2026, 12, 30)] == ((time(9), time(16)),)
    assert BusinessCalendar.from_config(ALWAYS.to_config()) == ALWAYS


def test_config_needs_only_timezone_and_hours() -> None:
    calendar = BusinessCalendar.from_config(
        {"timezone": "UTC", "hours": {"mon": [["09:00", "18:00"]]}}
    )
    assert calendar == BusinessCalendar("UTC", {0: [(time(9), time(18))]})


def test_config_accepts_00_00_as_the_end_of_the_day() -> None:
    calendar = BusinessCalendar.from_config({"timezone": "UTC", "hours": {"sat": [["00:00"] * 2]}})
    assert calendar == BusinessCalendar("UTC", {5: [(time(0), time(0))]})
    assert calendar.to_config()["hours"] == {"sat": [["00:00", "24:00"]]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "Europe/Moskva"}, "unknown time zone 'Europe/Moskva'"),
        ({"timezone": None}, "timezone is required"),
        ({"hours": None}, "hours is required"),
        ({"hours": {}}, "no open hours"),
        ({"hours": {"monday": [["09:00", "18:00"]]}}, "unknown weekday 'monday'"),
        ({"hours": {"mon": ["09:00", "18:00"]}}, "expected a pair"),
        ({"hours": {"mon": "09:00-18:00"}}, "expected a list of pairs"),
        ({"hours": {"mon": [["18:00", "09:00"]]}}, "18:00-09:00 ends before it starts"),
        (
            {"hours": {"mon": [["09:00", "13:00"], ["12:30", "18:00"]]}},
            "hours for mon: 09:00-13:00 overlaps 12:30-18:00",
        ),
        ({"hours": {"mon": [["9:00", "18:00"]]}}, "expected a time like '09:00', got '9:00'"),
        ({"hours": {"mon": [["09:00", "25:00"]]}}, "'25:00' is not a real time"),
        ({"hours": {"mon": [["24:00", "24:00"]]}}, "cannot start at 24:00"),
        ({"closed": ["2026-02-30"]}, "'2026-02-30' is not a real date"),
        ({"closed": ["31.12.2026"]}, "expected a date like '2026-12-31'"),
        ({"closed": "2026-12-31"}, "closed must be a list"),
        ({"special": {"2026-12-30": [["16:00", "09:00"]]}}, "ends before it starts"),
        ({"special": {"2026-13-01": [["09:00", "16:00"]]}}, "is not a real date"),
        ({"special": {"2026-04-22": [["09:00", "16:00"]]}}, "both closed and special"),
        ({"special": []}, "special must map dates"),
        ({"country": "Russia"}, "unknown holiday country 'Russia'"),
        ({"country": 7}, "country must be a string"),
        ({"holidays": "RU"}, "unknown calendar config keys: holidays"),
    ],
)
def test_bad_configs_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_config(CONFIG | change)


def test_config_must_be_an_object() -> None:
    with pytest.raises(ValueError, match="must be an object"):
        BusinessCalendar.from_config([])  # type: ignore[arg-type]
