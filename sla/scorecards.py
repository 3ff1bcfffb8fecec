"""The dashboard's clocks needing attention, filtered like the rest of the dashboard.

A fixed number of queries whatever the number of clocks; the SLA figures themselves
(compliance, times to goal) are metrics (sla.metrics.compute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from sla.metrics.compute import Figures, MetricFilter, attention_figures
from sla.models import SlaClock, first_of_each, needs_attention_arms


@dataclass(frozen=True)
class ClocksAtRisk:
    figures: Figures  # clocks_at_risk, clocks_past_due
    clocks: list[SlaClock]


_LISTED = (
    "lead_id",
    "policy_id",
    "owner_id",
    "state",
    "due_at",
    "at_risk_at",
    "lead__first_name",
    "lead__last_name",
    "lead__email",
    "policy__name",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


def _listed(
    clocks: QuerySet[SlaClock], arms: list[Q], order: tuple[str, ...], limit: int
) -> list[SlaClock]:
    """The first `limit` clocks matching any of `arms` with what the list shows (lead name,
    promise, owner).

    The clocks are picked in a subquery of their own (each arm from its partial index, no
    joins: `first_of_each`), so the database joins the leads, policies and owners of those
    few rows only; joined up front, the planner hashed the whole lead table before it sorted.
    """
    chosen = first_of_each(clocks, arms, order, limit)
    shown = SlaClock.objects.filter(pk__in=chosen).select_related("lead", "policy", "owner")
    return list(shown.only(*_LISTED).order_by(*order)[:limit])


def dashboard_clocks(scope: MetricFilter, now: datetime, *, limit: int = 10) -> ClocksAtRisk:
    """Clocks at risk or past due now (whatever the period: they need action today)."""
    arms = needs_attention_arms(now)
    # Two short reads rather than one mixed ordering: what is about to be missed comes first,
    # then the latest misses (old ones are in the breach report).
    soon = [arm & Q(due_at__gt=now) for arm in arms]
    clocks = _listed(scope.clocks(), soon, ("due_at", "id"), limit)
    if len(clocks) < limit:
        missed = [arm & Q(due_at__lte=now) for arm in arms]
        clocks += _listed(scope.clocks(), missed, ("-due_at", "-id"), limit - len(clocks))
    for clock in clocks:
        clock.shown_state = clock.display_state(at=now)
    return ClocksAtRisk(figures=Figures(attention_figures(scope, now)), clocks=clocks)
