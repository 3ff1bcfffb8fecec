"""Formatting for SLA figures: durations, "how long ago", clock state badges, the Due cell.

Pure functions of their arguments: the pages' views hand them their data (no query here).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from html import escape
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

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


_DUE_WORDS = {"breached": "overdue", "at_risk": "at risk"}


@register.simple_tag
def due_cell(u: Any) -> SafeString:
    """One lead's most urgent open SLA goal: colour and words, the due moment in the reader's
    zone on hover. `u` is an sla.selectors.Urgency or None. A tag, not an included template:
    lists show one per row."""
    if not u:
        return mark_safe('<span class="muted small">no SLA clock</span>')
    state, due = u.shown_state, localtime(u.due_at)
    # "Mon 7 Dec 2026, 14:30 GMT", as the date filter's "D j M Y, H:i T" writes it (Django's
    # English names, USE_I18N off), without its per-character formatter: 25 rows, two each.
    title = f"Due {due:%a} {due.day} {due:%b %Y, %H:%M} {due.tzname()} ({u.clock.policy.name})"
    return mark_safe(  # every value is escaped
        f'<span class="due nowrap" data-state="{escape(state)}" title="{escape(title)}">'
        f'<span class="badge {clock_badge(state)}">{_DUE_WORDS.get(state, "on time")}</span> '
        f'<time datetime="{due.isoformat()}">{escape(due_words(u.remaining))}</time>'
        "</span>"
    )
