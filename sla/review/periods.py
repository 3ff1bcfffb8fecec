"""The periods a joint review covers, by name: an ISO week (`2026-W48`, the default), a
month (`2026-11`), a quarter (`2026-Q4`) or any run of days (`2026-11-02..2026-11-15`).

Each is whole days in the teams' zone (settings.TIME_ZONE, as every figure: leads/periods.py),
and each has a previous period of the same kind and length, for the changes the review shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings

from crm.errors import DomainError
from leads.periods import Period, local_today

MAX_DAYS = 366
# The years a review may name: beyond them a date is a typing slip, not a period.
YEARS = (2000, 2100)
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_DAYS = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")
# What the API schema documents for `period`.
PERIOD_PATTERN = r"^(\d{4}-W\d{2}|\d{4}-\d{2}|\d{4}-Q[1-4]|\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2})$"
PERIOD_HELP = (
    "An ISO week `2026-W48`, a month `2026-11`, a quarter `2026-Q4` or days "
    "`2026-11-02..2026-11-15` (both included, at most 366), in the teams' time zone."
)


class Kind:
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    DAYS = "days"


@dataclass(frozen=True)
class ReviewPeriod:
    kind: str
    first: date
    last: date
    zone: str

    @property
    def key(self) -> str:
        """The period's name, as URLs, the API and the digest's delivery keys spell it."""
        if self.kind == Kind.WEEK:
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == Kind.MONTH:
            return f"{self.first:%Y-%m}"
        if self.kind == Kind.QUARTER:
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @property
    def label(self) -> str:
        days = f"{self.first:%-d %b} \u2013 {self.last:%-d %b %Y}"
        if self.kind == Kind.WEEK:
            year, week, _ = self.first.isocalendar()
            return f"Week {week}, {year} ({days})"
        if self.kind == Kind.MONTH:
            return f"{self.first:%B %Y}"
        if self.kind == Kind.QUARTER:
            return f"Q{(self.first.month - 1) // 3 + 1} {self.first.year} ({days})"
        return days

    @property
    def period(self) -> Period:
        return Period(first=self.first, last=self.last, zone=self.zone)

    @property
    def start(self) -> datetime:
        start = self.period.start
        assert start is not None  # a review period always has a first day
        return start

    @property
    def end(self) -> datetime:
        return self.period.end

    def shifted(self, steps: int) -> ReviewPeriod:
        """The period `steps` periods later (earlier when negative), of the same kind."""
        if self.kind == Kind.WEEK:
            return week_of(self.first + timedelta(weeks=steps), self.zone)
        if self.kind in (Kind.MONTH, Kind.QUARTER):
            months = 1 if self.kind == Kind.MONTH else 3
            index = self.first.year * 12 + self.first.month - 1 + steps * months
            first = date(index // 12, index % 12 + 1, 1)
            return _months(self.kind, first, months, self.zone)
        length = self.last - self.first + timedelta(days=1)
        moved = steps * length
        return ReviewPeriod(Kind.DAYS, self.first + moved, self.last + moved, self.zone)

    def previous(self) -> ReviewPeriod:
        return self.shifted(-1)


def _months(kind: str, first: date, months: int, zone: str) -> ReviewPeriod:
    index = first.year * 12 + first.month - 1 + months
    after = date(index // 12, index % 12 + 1, 1)
    return ReviewPeriod(kind, first, after - timedelta(days=1), zone)


def week_of(day: date, zone: str) -> ReviewPeriod:
    monday = day - timedelta(days=day.weekday())
    return ReviewPeriod(Kind.WEEK, monday, monday + timedelta(days=6), zone)


def last_complete_week(now: datetime, zone: str | None = None) -> ReviewPeriod:
    """The week the Monday meeting reviews: the ISO week before the one holding `now`."""
    zone = zone or settings.TIME_ZONE
    return week_of(local_today(now, zone) - timedelta(days=7), zone)


def review_period_choices(now: datetime, zone: str | None = None) -> list[tuple[str, str]]:
    """The periods the page offers: the last eight weeks (this one included), the last three
    months and the last four quarters; any other period can be typed."""
    zone = zone or settings.TIME_ZONE
    this_week = week_of(local_today(now, zone), zone)
    today = local_today(now, zone)
    month = _months(Kind.MONTH, today.replace(day=1), 1, zone)
    quarter = _months(Kind.QUARTER, date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), 3, zone)
    periods = [this_week.shifted(-n) for n in range(8)]
    periods += [month.shifted(-n) for n in range(3)] + [quarter.shifted(-n) for n in range(4)]
    return [(p.key, p.label) for p in periods]


def _refuse(message: str) -> DomainError:
    return DomainError(message, field="period")


def _year(raw: str) -> int:
    year = int(raw)
    if not YEARS[0] <= year <= YEARS[1]:
        raise _refuse(f"period: the year must be between {YEARS[0]} and {YEARS[1]}.")
    return year


def review_period(raw: str | None, *, now: datetime, zone: str | None = None) -> ReviewPeriod:
    """The period named by `raw`; blank means the last complete week. Anything else is
    refused with a DomainError naming `period` and the forms it takes."""
    zone = zone or settings.TIME_ZONE
    text = (raw or "").strip()
    if not text:
        return last_complete_week(now, zone)
    if match := _WEEK.fullmatch(text):
        try:
            monday = date.fromisocalendar(_year(match[1]), int(match[2]), 1)
        except ValueError as exc:
            raise _refuse(f"period: {match[1]} has no week {match[2]}.") from exc
        return week_of(monday, zone)
    if match := _QUARTER.fullmatch(text):
        first = date(_year(match[1]), 3 * int(match[2]) - 2, 1)
        return _months(Kind.QUARTER, first, 3, zone)
    if match := _MONTH.fullmatch(text):
        month = int(match[2])
        if not 1 <= month <= 12:
            raise _refuse("period: a month is 01 to 12.")
        return _months(Kind.MONTH, date(_year(match[1]), month, 1), 1, zone)
    if match := _DAYS.fullmatch(text):
        try:
            first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
        except ValueError as exc:
            raise _refuse("period: both ends must be real dates (YYYY-MM-DD).") from exc
        _year(str(first.year)), _year(str(last.year))
        if last < first:
            raise _refuse("period: the last day comes before the first.")
        if (last - first).days + 1 > MAX_DAYS:
            raise _refuse(f"period: at most {MAX_DAYS} days.")
        return ReviewPeriod(Kind.DAYS, first, last, zone)
    raise _refuse(f"period {text[:40]!r} is not a period. {PERIOD_HELP}")
