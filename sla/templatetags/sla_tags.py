"""Formatting filters for SLA figures: durations, "how long ago" and clock state badges.

Pure functions of their arguments: the pages' views hand them their data (no query here).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template

register = template.Library()


@register.filter
def duration_short(value: timedelta | None) -> str:
    """2 days 3 h, 4 h 05 min, 12 min: compact durations for tables."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "under 1 min"


@register.filter
def ago(moment: datetime, now: datetime) -> str:
    """How long before `now` the moment was, compactly ("2 d 21 h")."""
    return duration_short(now - moment)


@register.filter
def clock_badge(state: str) -> str:
    """The badge colour of a clock state."""
    return {"met": "ok", "at_risk": "warn", "breached": "bad"}.get(state, "")
