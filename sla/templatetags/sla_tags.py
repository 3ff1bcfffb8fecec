"""Formatting filters for SLA figures: durations, "how long ago" and clock state badges.

Pure functions of their arguments: the pages' views hand them their data (no query here).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django import template

from sla.metrics.catalogue import duration_words
from sla.metrics.catalogue import money as format_money

register = template.Library()


@register.filter
def duration_short(value: timedelta | None) -> str:
    """2 d 3 h, 4 h 05 min, 12 min: compact durations for tables."""
    return "—" if value is None else duration_words(value)


@register.filter
def money(value: Decimal | None) -> str:
    """An amount in the one currency (settings.CURRENCY), with thousands separators."""
    return "—" if value is None else format_money(value)


@register.filter
def ago(moment: datetime, now: datetime) -> str:
    """How long before `now` the moment was, compactly ("2 d 21 h")."""
    return duration_short(now - moment)


@register.filter
def clock_badge(state: str) -> str:
    """The badge colour of a clock state."""
    return {"met": "ok", "at_risk": "warn", "breached": "bad"}.get(state, "")


@register.filter
def due_words(remaining: timedelta) -> str:
    """Business time left before a goal is due: "due in 2 h 05 min" or "overdue by 1 d 3 h"."""
    if remaining < timedelta(0):
        return f"overdue by {duration_short(-remaining)}"
    return f"due in {duration_short(remaining)}"
