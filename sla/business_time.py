"""Business-time arithmetic on a weekly working calendar with holidays, in real elapsed time.

Pure standard library, no Django: the SLA engine asks "when is this due?" and "how much working
time has passed?" and these functions answer exactly, to the microsecond.

Working intervals are local wall-clock times in the calendar's time zone. Each bound is turned
into a UTC instant before anything is counted, so a day on which the clocks change contributes
the time that really passed:

* an ambiguous wall time (the autumn fold) means its first occurrence (``fold=0``);
* a wall time that does not exist (the spring-forward gap) means the instant the clocks jump,
  so an interval covers exactly the wall-clock readings that actually occur.

This mapping never goes backwards in time, so the intervals of consecutive days stay sorted and
disjoint. A working day 00:00-24:00 lasts 23 or 25 hours when the clocks change that night.

The open time of an interval is half-open, ``[start, end)``: the end instant itself is closed.

The walk goes day by day over the intervals, never minute by minute, and skips runs of whole
weeks without holidays or clock changes in one step, so even a sparse calendar stays fast.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = [
    "ScheduleError",
    "WorkingSchedule",
    "add_business_time",
    "business_time_between",
    "is_open_at",
    "is_place_zone",
]

_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_MIDNIGHT = time(0, 0)
_EPSILON = timedelta(microseconds=1)
# add_business_time gives up after this many consecutive days without any working time.
_MAX_CLOSED_DAYS = 3660
# Days a calendar remembers (their intervals, midnights and plain weeks) before starting over.
_DAYS_KEPT = 10_000
_V = TypeVar("_V")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Interval = tuple[time, time]


class ScheduleError(ValueError):
    """The working calendar cannot be used: bad zone, bad intervals or no working time."""


@dataclass(frozen=True)
class WorkingSchedule:
    """A weekly working calendar in one time zone.

    ``weekly`` maps a weekday (0 = Monday .. 6 = Sunday) to its sorted, non-overlapping
    ``(start, end)`` local wall-clock intervals; a missing weekday or an empty tuple is a closed
    day. ``end == time(0, 0)`` means midnight at the end of that day, so
    ``(time(0, 0), time(0, 0))`` is the whole day. ``holidays`` are local dates closed all day.
    """

    timezone: str
    weekly: dict[int, tuple[Interval, ...]]
    holidays: frozenset[date] = frozenset()

    def __hash__(self) -> int:
        # The dataclass hash would fail on the dict; hash its content instead.
        weekly = tuple(sorted((day, tuple(spans)) for day, spans in self.weekly.items()))
        return hash((self.timezone, weekly, self.holidays))

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> WorkingSchedule:
        """The 24/7 calendar: every day is a whole working day, no holidays."""
        return cls(timezone=timezone, weekly={day: ((_MIDNIGHT, _MIDNIGHT),) for day in range(7)})

    def validate(self) -> None:
        """Raise ScheduleError naming the first problem found; return None when usable."""
        _load_zone(self.timezone)
        has_working_time = False
        for weekday, intervals in self.weekly.items():
            if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
                raise ScheduleError(f"Weekday {weekday!r} is outside 0 (Monday) to 6 (Sunday)")
            name = _WEEKDAY_NAMES[weekday]
            previous: Interval | None = None
            for interval in intervals:
                _check_interval(name, interval)
                if previous is not None:
                    _check_order(name, previous, interval)
                previous = interval
                has_working_time = True
        if not has_working_time:
            raise ScheduleError("The calendar has no working hours")


def add_business_time(start: datetime, duration: timedelta, schedule: WorkingSchedule) -> datetime:
    """The earliest instant T >= start such that the working time in [start, T] is duration.

    Counting begins at the next opening when start is in closed hours. A duration used up
    exactly at the end of an interval returns that end, not the next opening. A zero duration
    returns start unchanged (in UTC), even in closed hours. The result is in UTC.
    """
    _require_aware("start", start)
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    calendar = _calendar(schedule)
    origin = start.astimezone(UTC)
    if not duration:
        return origin
    return calendar.add(origin, duration)


def business_time_between(a: datetime, b: datetime, schedule: WorkingSchedule) -> timedelta:
    """The working time within [a, b]; negative when b is before a."""
    _require_aware("a", a)
    _require_aware("b", b)
    calendar = _calendar(schedule)
    a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
    if b_utc < a_utc:
        return -calendar.between(b_utc, a_utc)
    return calendar.between(a_utc, b_utc)


def is_open_at(moment: datetime, schedule: WorkingSchedule) -> bool:
    """Whether moment falls inside a working interval (start included, end excluded)."""
    _require_aware("moment", moment)
    return _calendar(schedule).is_open(moment.astimezone(UTC))


def _calendar(schedule: WorkingSchedule) -> _Calendar:
    """The validated calendar of a schedule, built once per schedule: a page of 25 clocks, or
    a sweep of thousands, asks about a handful of schedules again and again."""
    try:
        hash(schedule)
    except TypeError:  # malformed content (validate() names the problem): not cached
        return _Calendar(schedule)
    return _cached_calendar(schedule)


@lru_cache(maxsize=64)
def _cached_calendar(schedule: WorkingSchedule) -> _Calendar:
    return _Calendar(schedule)


class _Calendar:
    """A validated schedule with its zone loaded and its intervals as offsets from midnight."""

    def __init__(self, schedule: WorkingSchedule) -> None:
        schedule.validate()
        self.zone = _load_zone(schedule.timezone)
        self.holidays = schedule.holidays
        self.sorted_holidays = sorted(schedule.holidays)
        self.offsets: dict[int, tuple[tuple[timedelta, timedelta], ...]] = {
            weekday: tuple((_since_midnight(s), _until(e)) for s, e in intervals)
            for weekday, intervals in schedule.weekly.items()
        }
        # Positive: validate() refuses a calendar without working time.
        self.weekly_total = sum(
            (end - begin for spans in self.offsets.values() for begin, end in spans), timedelta(0)
        )
        # What a day is never changes for one schedule: a list's 25 clocks or a sweep's
        # thousands ask about the same few hundred days again and again.
        self._intervals: dict[date, tuple[tuple[datetime, datetime], ...]] = {}
        self._midnights: dict[date, datetime] = {}
        self._weeks: dict[tuple[date, int], int] = {}

    def add(self, origin: datetime, duration: timedelta) -> datetime:
        """The instant duration (positive) of working time after origin."""
        consumed = timedelta(0)
        closed_days = 0
        day = self._local_date(origin)
        while True:
            midnight = self.midnight(day)
            if origin <= midnight:
                # Skip whole weeks only while more than a week's time is left to add.
                wanted = (duration - consumed - _EPSILON) // self.weekly_total
                weeks = self._plain_weeks(day, midnight, wanted)
                if weeks:
                    consumed += weeks * self.weekly_total
                    day = _next_day(day, 7 * weeks)
                    closed_days = 0
                    continue
            spans = self.day_intervals(day)
            closed_days = 0 if spans else closed_days + 1
            if closed_days > _MAX_CLOSED_DAYS:
                raise ScheduleError(
                    f"No working time in the {_MAX_CLOSED_DAYS} days up to {day}: "
                    "check the holidays of the calendar"
                )
            for begin, end in spans:
                if end <= origin:
                    continue
                begin = max(begin, origin)
                left = duration - consumed
                if end - begin >= left:
                    return begin + left
                consumed += end - begin
            day = _next_day(day, 1)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in [a, b], for a <= b."""
        total = timedelta(0)
        day = self._local_date(a)
        while True:
            midnight = self.midnight(day)
            if midnight >= b:
                return total
            weeks = (
                self._plain_weeks(day, midnight, (b - midnight) // _WEEK) if a <= midnight else 0
            )
            if weeks:
                total += weeks * self.weekly_total
                day = _next_day(day, 7 * weeks)
                continue
            for begin, end in self.day_intervals(day):
                begin, end = max(begin, a), min(end, b)
                if begin < end:
                    total += end - begin
            day = _next_day(day, 1)

    def is_open(self, moment: datetime) -> bool:
        # A moment in the second pass of an autumn fold may already belong to the next day.
        day = self._local_date(moment)
        return any(
            begin <= moment < end
            for when in (day, _next_day(day, 1))
            for begin, end in self.day_intervals(when)
        )

    def midnight(self, day: date) -> datetime:
        """The UTC instant a local date begins."""
        found = self._midnights.get(day)
        if found is None:
            found = _remember(self._midnights, day, self.to_utc(datetime.combine(day, _MIDNIGHT)))
        return found

    def day_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working intervals of a local date as sorted, disjoint, non-empty UTC ranges."""
        found = self._intervals.get(day)
        if found is None:
            found = _remember(self._intervals, day, tuple(self._day_intervals(day)))
        return found

    def _day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        midnight = datetime.combine(day, _MIDNIGHT)
        result = []
        for begin, end in self.offsets.get(day.weekday(), ()):
            begin_utc = self.to_utc(midnight + begin)
            end_utc = self.to_utc(midnight + end)
            if begin_utc < end_utc:
                result.append((begin_utc, end_utc))
        return result

    def to_utc(self, local: datetime) -> datetime:
        """A naive local wall time as a UTC instant: fold=0, and a gap time is the jump instant."""
        instant = local.replace(tzinfo=self.zone).astimezone(UTC)
        if instant.astimezone(self.zone).replace(tzinfo=None) == local:
            return instant
        return self._gap_jump(local)

    def _gap_jump(self, local: datetime) -> datetime:
        """The instant the clocks jump over the non-existent wall time local.

        Read with either offset, local lands on both sides of the jump; bisect the instants
        between for the first whose wall time is past local.
        """
        readings = (local.replace(tzinfo=self.zone, fold=fold).astimezone(UTC) for fold in (0, 1))
        before, after = sorted(readings)
        while after - before > _EPSILON:
            middle = before + (after - before) // 2
            if middle.astimezone(self.zone).replace(tzinfo=None) > local:
                after = middle
            else:
                before = middle
        return after

    def _plain_weeks(self, day: date, midnight: datetime, wanted: int) -> int:
        """How many of the next wanted weeks from day hold exactly the nominal working time."""
        found = self._weeks.get((day, wanted))
        if found is None:
            found = _remember(
                self._weeks, (day, wanted), self._count_plain_weeks(day, midnight, wanted)
            )
        return found

    def _count_plain_weeks(self, day: date, midnight: datetime, wanted: int) -> int:
        """See _plain_weeks.

        Such weeks have no holiday and the same UTC offset at every local midnight, so each
        day is its nominal wall-clock day. That no zone changes its offset and back within one
        day holds for all of tzdata (no such pair is even 3 days apart).
        """
        wanted = min(wanted, (date.max - day).days // 7 - 1)
        following = bisect_left(self.sorted_holidays, day)
        if following < len(self.sorted_holidays):
            wanted = min(wanted, (self.sorted_holidays[following] - day).days // 7)
        if wanted <= 0:
            return 0
        local = midnight.astimezone(self.zone)
        if local.replace(tzinfo=None) != datetime.combine(day, _MIDNIGHT):
            return 0
        offset = local.utcoffset()
        plain_days = 0
        for days in range(1, 7 * wanted + 1):
            if (midnight + days * _DAY).astimezone(self.zone).utcoffset() != offset:
                break
            plain_days = days
        return plain_days // 7

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()


def _remember(kept: dict[Any, _V], key: Any, value: _V) -> _V:
    """Keep value under key in a calendar's memory, which starts over when full."""
    if len(kept) >= _DAYS_KEPT:
        kept.clear()
    kept[key] = value
    return value


# Names in the zone database that are no place: `localtime` is whichever zone the server
# happens to run in (a calendar would move with the host), `Factory` and `posixrules` are
# artefacts of how the database is built.
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _place_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_PLACES


def is_place_zone(name: object) -> bool:
    """Whether `name` is an IANA zone of a place, such as Europe/London or UTC."""
    return isinstance(name, str) and name in _place_zones()


def _load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise ScheduleError(f"Unknown time zone {name!r}") from error


def _check_interval(day_name: str, interval: Interval) -> None:
    if len(interval) != 2 or not all(isinstance(t, time) for t in interval):
        raise ScheduleError(f"{day_name}: an interval must be a (start, end) pair of times")
    start, end = interval
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ScheduleError(f"{day_name}: interval times are wall-clock times without a zone")
    if end != _MIDNIGHT and end <= start:
        raise ScheduleError(
            f"{day_name}: {_format(interval)} ends before it starts "
            "(use 00:00 as the end for midnight)"
        )


def _check_order(day_name: str, previous: Interval, current: Interval) -> None:
    (prev_start, prev_end), (start, end) = previous, current
    if _since_midnight(start) < _until(prev_end) and _since_midnight(prev_start) < _until(end):
        raise ScheduleError(f"{day_name}: {_format(previous)} overlaps {_format(current)}")
    if start < prev_start:
        raise ScheduleError(
            f"{day_name}: {_format(previous)} is listed before {_format(current)}; "
            "list the intervals in order"
        )


def _since_midnight(moment: time) -> timedelta:
    return timedelta(
        hours=moment.hour,
        minutes=moment.minute,
        seconds=moment.second,
        microseconds=moment.microsecond,
    )


def _until(end: time) -> timedelta:
    """The end of an interval from the day's midnight: 00:00 means the midnight that ends it."""
    return _DAY if end == _MIDNIGHT else _since_midnight(end)


def _format(interval: Interval) -> str:
    start, end = interval
    return f"{_clock(start)}-{'24:00' if end == _MIDNIGHT else _clock(end)}"


def _clock(moment: time) -> str:
    if moment.second or moment.microsecond:
        return moment.isoformat()
    return moment.strftime("%H:%M")


def _next_day(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise ScheduleError("Business time runs past the end of the supported calendar") from None


def _require_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {moment!r}")
