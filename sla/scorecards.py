"""The dashboard's SLA numbers, filtered like the rest of the dashboard.

Each function runs a fixed number of queries whatever the number of clocks: counts are
aggregates and a median is read as the middle row(s) of the met clocks ordered by duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet

from leads.selectors import DashboardFilters
from sla.models import ClockState, SlaClock, SlaClockQuerySet, SlaGoal, shown_state_q


def _clocks(filters: DashboardFilters) -> SlaClockQuerySet:
    clocks = SlaClock.objects.order_by()
    if filters.team:
        clocks = clocks.filter(team=filters.team)
    if filters.campaign_id:
        clocks = clocks.filter(lead__campaign_id=filters.campaign_id)
    return clocks


@dataclass(frozen=True)
class ClocksAtRisk:
    at_risk: int
    breached: int
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


def _listed(clocks: QuerySet[SlaClock], order: tuple[str, ...], limit: int) -> list[SlaClock]:
    """The first `limit` clocks with what the list shows (lead name, promise, owner).

    The clocks are picked in a subquery of their own (from the partial indexes, no joins), so
    the database joins the leads, policies and owners of those few rows only; joined up
    front, the planner hashed the whole lead table before it sorted.
    """
    chosen = clocks.order_by(*order).values("pk")[:limit]
    shown = SlaClock.objects.filter(pk__in=chosen).select_related("lead", "policy", "owner")
    return list(shown.only(*_LISTED).order_by(*order))


def dashboard_clocks(filters: DashboardFilters, now: datetime, *, limit: int = 10) -> ClocksAtRisk:
    """Clocks at risk or past due now (whatever the period: they need action today)."""
    waiting = _clocks(filters).needs_attention(now)
    counts = waiting.aggregate(
        breached=Count("id", filter=shown_state_q(ClockState.BREACHED, now)),
        at_risk=Count("id", filter=shown_state_q(ClockState.AT_RISK, now)),
    )
    # Two short reads rather than one mixed ordering: what is about to be missed comes first,
    # then the latest misses (old ones are in the breach report).
    clocks = _listed(waiting.filter(due_at__gt=now), ("due_at", "id"), limit)
    if len(clocks) < limit:
        clocks += _listed(waiting.filter(due_at__lte=now), ("-due_at", "-id"), limit - len(clocks))
    for clock in clocks:
        clock.shown_state = clock.display_state(at=now)
    return ClocksAtRisk(at_risk=counts["at_risk"], breached=counts["breached"], clocks=clocks)


@dataclass(frozen=True)
class GoalScore:
    goal: str
    label: str
    met: int
    breached: int
    median: timedelta | None

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def compliance_percent(self) -> float | None:
        return None if not self.decided else round(100 * self.met / self.decided, 1)


_DURATION = ExpressionWrapper(F("met_at") - F("started_at"), output_field=DurationField())


def _median_time_to_goal(met: QuerySet[SlaClock], count: int) -> timedelta | None:
    if not count:
        return None
    low, high = (count - 1) // 2, count // 2
    middle = list(
        met.annotate(took=_DURATION)
        .order_by("took", "id")
        .values_list("took", flat=True)[low : high + 1]
    )
    return sum(middle, timedelta()) / len(middle)


def sales_scorecard(filters: DashboardFilters, now: datetime) -> list[GoalScore]:
    """Response-time compliance and median time to accept / to first touch, for the period.

    A clock counts once decided (met, breached, or open and past due), by when it started.
    """
    clocks = _clocks(filters).filter(goal__in=[SlaGoal.ACCEPT, SlaGoal.FIRST_TOUCH])
    since = filters.since(now)
    if since is not None:
        clocks = clocks.filter(started_at__gte=since)
    totals = {
        row["goal"]: row
        for row in clocks.values("goal").annotate(
            met=Count("id", filter=Q(state=ClockState.MET)),
            breached=Count("id", filter=shown_state_q(ClockState.BREACHED, now)),
        )
    }
    scores = []
    for goal, label in ((SlaGoal.ACCEPT, "Accept or reject"), (SlaGoal.FIRST_TOUCH, "First touch")):
        met = totals.get(goal, {}).get("met", 0)
        scores.append(
            GoalScore(
                goal=goal,
                label=label,
                met=met,
                breached=totals.get(goal, {}).get("breached", 0),
                median=_median_time_to_goal(
                    clocks.filter(goal=goal, state=ClockState.MET, met_at__isnull=False), met
                ),
            )
        )
    return scores
