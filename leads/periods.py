"""Reporting periods: whole days in a time zone, turned into the instants that bound them.

One rule for every figure: a period runs from local midnight of its first day to local
midnight after its last day, so whatever happens at 23:59 on the last day (in the period's
zone) counts in it. Teams read their numbers in the site's zone (settings.TIME_ZONE) unless a
caller passes another one (a commitment carries its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def local_midnight(day: date, zone: str) -> datetime:
    """The UTC instant at which `day` starts in `zone` (correct across DST changes)."""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def local_today(now: datetime, zone: str | None = None) -> date:
    return now.astimezone(ZoneInfo(zone or settings.TIME_ZONE)).date()


@dataclass(frozen=True)
class Period:
    """Whole days `first`..`last`, both included; `first=None` means since the beginning."""

    first: date | None
    last: date
    zone: str

    @classmethod
    def last_days(cls, days: int | None, now: datetime, zone: str | None = None) -> Period:
        """The `days` days ending today (today included), or all time when `days` is None."""
        zone = zone or settings.TIME_ZONE
        today = local_today(now, zone)
        first = None if days is None else today - timedelta(days=days - 1)
        return cls(first=first, last=today, zone=zone)

    @property
    def start(self) -> datetime | None:
        return None if self.first is None else local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return local_midnight(self.last + timedelta(days=1), self.zone)
