"""Business time: the hours a team works, in its time zone, without its country's holidays.

Conventions, the same in every method:

- An open interval includes its start and excludes its end: a desk open 09:00-18:00 is open at
  09:00 and closed at 18:00.
- An end of ``time(0)`` is the midnight that ends the day (written ``"24:00"`` in the config), so
  ``(time(0), time(0))`` is a whole day. An interval cannot run past midnight: 22:00-02:00 is
  22:00-24:00 on one day and 00:00-02:00 on the next.
- Business minutes are minutes that really pass (UTC), so a day of 09:00-18:00 is 540 minutes even
  when the clocks change that day, and a whole day is 1380 or 1500 minutes on a change day.
- Hours are wall-clock times. A time the clocks skip (02:30 when they jump from 02:00 to 03:00)
  means the moment of the jump; a time they show twice means its first occurrence.
- Inputs are aware datetimes in any zone (naive ones are refused); outputs are in the
  calendar's zone. Subtract and compare them in UTC: Python subtracts two datetimes of one zone
  as wall-clock times, and never finds a time the clocks show twice equal to one in another zone.
- ``add_business_minutes(at, 0)`` is ``next_open(at)``: ``at`` itself when open, else the next
  opening. Adding a positive amount that ends exactly at a closing time returns the closing time;
  subtracting one that ends exactly at an opening returns the opening.
- ``business_minutes_between(a, b)`` is negative when ``b`` is before ``a``.

A day's hours are decided in this order: ``special`` (also opens a holiday or a weekend), then
``closed``, then the country's days off (holidays and the weekdays it moves them to), then the
weekly ``hours``. A weekend day the country makes a working day (Russia's working Saturdays) gets
the hours of the last weekday before the country's weekend (Friday's, for Russia); put the date in
``special`` or ``closed`` when a team does otherwise.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

Interval = tuple[time, time]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# How many days in a row may have no open hours before a search gives up instead of looping.
HORIZON_DAYS = 3 * 366

_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
_CONFIG_KEYS = frozenset({"timezone", "hours", "country", "subdivision", "closed", "special"})
_TIME_RE = re.compile(r"\d{2}:\d{2}(:\d{2})?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works: weekly hours in a time zone, less holidays and closed days, with
    special days. Immutable and hashable; see the module docstring for the conventions."""

    timezone: str
    hours: Mapping[int, Sequence[Interval]]
    country: str = ""
    subdivision: str = ""
    closed: frozenset[date] = frozenset()
    special: Mapping[date, Sequence[Interval]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("timezone", "country", "subdivision"):
            if not isinstance(value := getattr(self, name), str):
                raise ValueError(f"{name} must be a string, got {value!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        for name in ("hours", "special"):
            if not isinstance(value := getattr(self, name), Mapping):
                raise ValueError(f"{name} must be a mapping, got {value!r}")
        hours: dict[int, tuple[Interval, ...]] = {}
        for weekday, intervals in self.hours.items():
            if isinstance(weekday, bool) or weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
            if normal := _normalise(intervals, f"hours for {WEEKDAYS[weekday]}"):
                hours[weekday] = normal
        if not hours:
            raise ValueError("calendar has no open hours on any weekday")
        closed = frozenset(self.closed)
        for day in closed:
            _check_date(day, "closed day")
        special: dict[date, tuple[Interval, ...]] = {}
        for day, intervals in sorted(self.special.items()):
            _check_date(day, "special day")
            if day in closed:
                raise ValueError(f"{day.isoformat()} is both closed and special")
            special[day] = _normalise(intervals, f"hours for {day.isoformat()}")
            if not special[day]:
                raise ValueError(f"special day {day.isoformat()} has no hours; list it as closed")
        _check_region(self.country, self.subdivision)
        object.__setattr__(self, "hours", MappingProxyType(dict(sorted(hours.items()))))
        object.__setattr__(self, "closed", closed)
        object.__setattr__(self, "special", MappingProxyType(special))

    def __hash__(self) -> int:
        return hash(
            (
                self.timezone,
                tuple(self.hours.items()),
                self.country,
                self.subdivision,
                self.closed,
                tuple(self.special.items()),
            )
        )

    @classmethod
    def always(cls, timezone: str = "UTC") -> BusinessCalendar:
        """A calendar open around the clock, every day."""
        return cls(timezone=timezone, hours={d: [(_MIDNIGHT, _MIDNIGHT)] for d in range(7)})

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return ZoneInfo(self.timezone)

    # ---- queries -------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls in an open interval (an interval's end is closed)."""
        instant = _utc(at, "at")
        day = instant.astimezone(self.zone).date()
        return any(
            start <= instant < end
            for d in (day, day + _DAY)
            for start, end in self._utc_intervals(d)
        )

    def open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of the local date ``day``, in order, as aware datetimes in the
        calendar's zone; empty when the day is closed."""
        _check_date(day, "day")
        zone = self.zone
        return [(s.astimezone(zone), e.astimezone(zone)) for s, e in self._utc_intervals(day)]

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself if the calendar is open then, else the next opening.

        Raises ValueError when nothing opens for ``HORIZON_DAYS`` days in a row."""
        for start, _ in self._forward(_utc(at, "at")):
            return start.astimezone(self.zone)
        raise AssertionError("unreachable: _forward ends only by raising")  # pragma: no cover

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` business minutes after ``start`` (before it, if negative).

        Zero gives ``next_open(start)``. Going forward, an amount that ends exactly at a closing
        time gives that closing time; going back, one that ends exactly at an opening gives that
        opening. Raises ValueError when nothing opens for ``HORIZON_DAYS`` days in a row."""
        if isinstance(minutes, bool) or not isinstance(minutes, int | float):
            raise TypeError(f"minutes must be a number, got {minutes!r}")
        if not math.isfinite(minutes):
            raise ValueError(f"minutes must be finite, got {minutes!r}")
        instant = _utc(start, "start")
        if minutes == 0:
            return self.next_open(instant)
        left = timedelta(minutes=abs(minutes))
        if minutes > 0:
            for open_at, close_at in self._forward(instant):
                if left <= close_at - open_at:
                    return (open_at + left).astimezone(self.zone)
                left -= close_at - open_at
        else:
            for open_at, close_at in self._backward(instant):
                if left <= close_at - open_at:
                    return (close_at - left).astimezone(self.zone)
                left -= close_at - open_at
        raise AssertionError("unreachable: the search ends only by returning or raising")

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes from ``start`` to ``end``; negative when ``end`` is before ``start``,
        so ``between(a, b) == -between(b, a)``."""
        begin, finish = _utc(start, "start"), _utc(end, "end")
        if finish < begin:
            return -self.business_minutes_between(end, start)
        total = timedelta(0)
        for open_at, close_at in self._forward(begin, until=finish):
            total += close_at - open_at
        return total.total_seconds() / 60

    # ---- config --------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BusinessCalendar:
        """A calendar from its JSON form, as ``to_config`` writes it. ``timezone`` and ``hours``
        are required; weekdays missing from ``hours`` are closed. Raises ValueError that names
        the bad part."""
        if not isinstance(config, Mapping):
            raise ValueError("calendar config must be an object")
        if unknown := set(config) - _CONFIG_KEYS:
            raise ValueError(
                f"unknown calendar config keys: {', '.join(sorted(map(str, unknown)))}"
            )
        timezone = config.get("timezone")
        if not isinstance(timezone, str) or not timezone:
            raise ValueError("timezone is required, e.g. 'Europe/Moscow'")
        raw_hours = config.get("hours")
        if not isinstance(raw_hours, Mapping):
            raise ValueError('hours is required, e.g. {"mon": [["09:00", "18:00"]]}')
        hours: dict[int, list[Interval]] = {}
        for name, intervals in raw_hours.items():
            if name not in WEEKDAYS:
                raise ValueError(f"hours: unknown weekday {name!r}; use {', '.join(WEEKDAYS)}")
            hours[WEEKDAYS.index(name)] = _parse_intervals(intervals, f"hours.{name}")
        country = config.get("country", "")
        subdivision = config.get("subdivision", "")
        for key, value in (("country", country), ("subdivision", subdivision)):
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a string, got {value!r}")
        raw_closed = config.get("closed", [])
        if not isinstance(raw_closed, list):
            raise ValueError('closed must be a list of dates, e.g. ["2026-12-31"]')
        raw_special = config.get("special", {})
        if not isinstance(raw_special, Mapping):
            raise ValueError('special must map dates to hours, e.g. {"2026-12-30": [...]}')
        return cls(
            timezone=timezone,
            hours=hours,
            country=country,
            subdivision=subdivision,
            closed=frozenset(_parse_date(d, "closed") for d in raw_closed),
            special={
                _parse_date(d, "special"): _parse_intervals(intervals, f"special.{d}")
                for d, intervals in raw_special.items()
            },
        )

    def to_config(self) -> dict[str, Any]:
        """The JSON form that ``from_config`` reads."""
        return {
            "timezone": self.timezone,
            "hours": {WEEKDAYS[d]: _format_intervals(i) for d, i in self.hours.items()},
            "country": self.country,
            "subdivision": self.subdivision,
            "closed": sorted(d.isoformat() for d in self.closed),
            "special": {d.isoformat(): _format_intervals(i) for d, i in self.special.items()},
        }

    # ---- internals -----------------------------------------------------------------------

    def _wall_hours(self, day: date) -> Sequence[Interval]:
        if day in self.special:
            return self.special[day]
        if day in self.closed:
            return ()
        weekday = day.weekday()
        if self.country:
            days_off, weekend_workdays, weekend = _country_days(
                self.country, self.subdivision, day.year
            )
            if day in days_off:
                return ()
            if day in weekend_workdays:
                weekday = _last_weekday_before(weekday, weekend)
        return self.hours.get(weekday, ())

    def _utc_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        # Wall to UTC is monotone (see _instant), so the intervals stay ordered and disjoint,
        # also across days; an interval wholly inside a skipped hour disappears.
        zone = self.zone
        spans = []
        for start, end in self._wall_hours(day):
            open_at = _instant(day, start, zone)
            close_at = _instant(day + _DAY if end == _MIDNIGHT else day, end, zone)
            if open_at < close_at:
                spans.append((open_at, close_at))
        return spans

    def _forward(
        self, start: datetime, until: datetime | None = None
    ) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals in UTC from ``start`` on, clipped to ``start`` and ``until``."""
        zone = self.zone
        # Earlier days end by the first midnight of this local date, which is not after start.
        day = start.astimezone(zone).date()
        last = None if until is None else until.astimezone(zone).date() + _DAY
        idle = 0
        while last is None or day <= last:
            spans = self._utc_intervals(day)
            for open_at, close_at in spans:
                if close_at <= start:
                    continue
                if until is not None and open_at >= until:
                    return
                yield max(open_at, start), close_at if until is None else min(close_at, until)
            idle = 0 if spans else idle + 1
            if until is None and idle > HORIZON_DAYS:
                raise ValueError(f"calendar has no open hours for {HORIZON_DAYS} days")
            day += _DAY

    def _backward(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals in UTC before ``start``, latest first, clipped to ``start``."""
        # The next day may already have begun when clocks went back across midnight.
        day = start.astimezone(self.zone).date() + _DAY
        idle = 0
        while True:
            spans = self._utc_intervals(day)
            for open_at, close_at in reversed(spans):
                if open_at < start:
                    yield open_at, min(close_at, start)
            idle = 0 if spans else idle + 1
            if idle > HORIZON_DAYS:
                raise ValueError(f"calendar has no open hours for {HORIZON_DAYS} days")
            day -= _DAY


@functools.lru_cache(maxsize=256)
def _country_days(
    country: str, subdivision: str, year: int
) -> tuple[frozenset[date], frozenset[date], frozenset[int]]:
    """A country's days off in ``year``, its weekend days made working days, and its weekend
    weekdays."""
    # The next year's rules may move a day of this year (a working Saturday in December).
    found = holidays.country_holidays(country, subdiv=subdivision or None, years=(year, year + 1))
    return (
        frozenset(d for d in found if d.year == year),
        frozenset(d for d in found.weekend_workdays if d.year == year),
        frozenset(found.weekend),
    )


@functools.lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    return frozenset(holidays.list_supported_countries())


@functools.lru_cache(maxsize=64)
def _subdivision_known(country: str, subdivision: str) -> bool:
    try:
        holidays.country_holidays(country, subdiv=subdivision, years=())
    except NotImplementedError:
        return False
    return True


def _check_region(country: str, subdivision: str) -> None:
    if not country:
        if subdivision:
            raise ValueError(f"subdivision {subdivision!r} needs a country")
        return
    # The package also takes class names ("Russia"); only the codes are accepted here.
    if country not in _countries():
        raise ValueError(f"unknown holiday country {country!r}; use a code such as 'RU'")
    if subdivision and not _subdivision_known(country, subdivision):
        raise ValueError(f"country {country!r} has no subdivision {subdivision!r}")


def _last_weekday_before(weekday: int, weekend: frozenset[int]) -> int:
    for back in range(1, 7):
        if (candidate := (weekday - back) % 7) not in weekend:
            return candidate
    return weekday


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC moment the wall clock of ``zone`` shows ``at`` on ``day``: the first occurrence
    of a time shown twice, the moment of the jump for a time skipped."""
    wall = datetime.combine(day, at)
    moment = wall.replace(tzinfo=zone).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) == wall:
        return moment
    # Skipped: the jump lies between the readings with the offsets before and after it.
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = int(min(moment, other).timestamp()), int(max(moment, other).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _utc(at: datetime, name: str) -> datetime:
    if not isinstance(at, datetime):
        raise TypeError(f"{name} must be a datetime, got {at!r}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def _check_date(day: object, what: str) -> None:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValueError(f"{what} must be a date, got {day!r}")


def _normalise(intervals: Sequence[Interval], where: str) -> tuple[Interval, ...]:
    """Sorted intervals with touching ones joined; ValueError for reversed or overlapping."""
    if isinstance(intervals, str | bytes) or not isinstance(intervals, Sequence):
        raise ValueError(f"{where}: expected a list of (start, end) pairs, got {intervals!r}")
    checked: list[Interval] = []
    for pair in intervals:
        if not (isinstance(pair, Sequence) and len(pair) == 2):
            raise ValueError(f"{where}: expected a (start, end) pair, got {pair!r}")
        start, end = pair
        for t in (start, end):
            if not isinstance(t, time) or t.tzinfo is not None:
                raise ValueError(f"{where}: {t!r} is not a time without a zone")
        start, end = start.replace(fold=0), end.replace(fold=0)
        if end != _MIDNIGHT and end <= start:
            raise ValueError(f"{where}: {_format_interval((start, end))} ends before it starts")
        checked.append((start, end))
    checked.sort()
    joined: list[Interval] = []
    for start, end in checked:
        # An end of midnight is the day's end, so nothing can come after it.
        if joined and (joined[-1][1] == _MIDNIGHT or start < joined[-1][1]):
            raise ValueError(
                f"{where}: {_format_interval(joined[-1])} overlaps {_format_interval((start, end))}"
            )
        if joined and start == joined[-1][1]:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return tuple(joined)


def _parse_date(value: object, where: str) -> date:
    if not (isinstance(value, str) and _DATE_RE.fullmatch(value)):
        raise ValueError(f"{where}: expected a date like '2026-12-31', got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a real date") from None


def _parse_time(value: object, where: str, *, end: bool) -> time:
    if not (isinstance(value, str) and _TIME_RE.fullmatch(value)):
        raise ValueError(f"{where}: expected a time like '09:00', got {value!r}")
    if value in ("24:00", "24:00:00"):
        if not end:
            raise ValueError(f"{where}: an interval cannot start at 24:00")
        return _MIDNIGHT
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a real time") from None


def _parse_intervals(value: object, where: str) -> list[Interval]:
    if not isinstance(value, list):
        raise ValueError(f'{where}: expected a list of pairs, e.g. [["09:00", "18:00"]]')
    intervals = []
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError(f'{where}: expected a pair like ["09:00", "18:00"], got {pair!r}')
        intervals.append(
            (_parse_time(pair[0], where, end=False), _parse_time(pair[1], where, end=True))
        )
    return intervals


def _format_time(t: time, *, end: bool = False) -> str:
    if end and t == _MIDNIGHT:
        return "24:00"
    return t.isoformat(timespec="minutes" if not (t.second or t.microsecond) else "auto")


def _format_interval(interval: Interval) -> str:
    return f"{_format_time(interval[0])}-{_format_time(interval[1], end=True)}"


def _format_intervals(intervals: Sequence[Interval]) -> list[list[str]]:
    return [[_format_time(s), _format_time(e, end=True)] for s, e in intervals]


# A calendar open around the clock, for policies that count plain time.
ALWAYS = BusinessCalendar.always(timezone="UTC")
