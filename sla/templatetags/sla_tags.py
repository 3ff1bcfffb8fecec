"""Reads behind the SLA parts of shared pages (header, dashboard, lead detail, definitions).

The pages that include them stay unaware of the SLA: each tag runs a fixed, small number of
queries and hands the include its data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template

from crm.notifications import unread_notification_count
from crm.selectors import DashboardFilters
from sla import scorecards
from sla.commitments import CommitmentProgress, commitments_progress
from sla.models import Commitment, SlaClock, SlaPolicy
from sla.selectors import clocks_for_lead
from sla.wording import commitment_in_words, in_lifecycle_order, policy_in_words

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: template.Context) -> int:
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return unread_notification_count(user=user)


@register.simple_tag
def sla_dashboard_clocks(filters: DashboardFilters, now: datetime) -> scorecards.ClocksAtRisk:
    return scorecards.dashboard_clocks(filters, now)


@register.simple_tag
def sla_sales_scorecard(filters: DashboardFilters, now: datetime) -> list[scorecards.GoalScore]:
    return scorecards.sales_scorecard(filters, now)


@register.simple_tag
def sla_commitments(now: datetime) -> list[CommitmentProgress]:
    return commitments_progress(now=now)


@register.simple_tag
def sla_lead_clocks(lead: Any, now: datetime) -> list[SlaClock]:
    return clocks_for_lead(lead_id=lead.pk, now=now)


@register.simple_tag
def sla_policies_in_words() -> dict[str, list[dict[str, Any]]]:
    policies = in_lifecycle_order(SlaPolicy.objects.filter(active=True).select_related("calendar"))
    commitments = Commitment.objects.filter(active=True)
    return {
        "policies": [{"policy": p, "words": policy_in_words(p)} for p in policies],
        "commitments": [{"commitment": c, "words": commitment_in_words(c)} for c in commitments],
    }


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


@register.filter
def policy_words(policy: SlaPolicy) -> str:
    return policy_in_words(policy)
