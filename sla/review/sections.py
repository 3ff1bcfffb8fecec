"""Every section of the joint review, computed from the metric catalogue's functions with one
`MetricFilter` per period, so each figure equals what the dashboard, the API summary and the
CSV say for the same days. A fixed number of queries whatever the number of leads, clocks,
breaches or decisions (the page's test counts them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from leads.lifecycle import Stage
from leads.models import Campaign, Lead, QualificationCriterion, ReasonKind, StageDefinition
from leads.periods import local_today
from sla.commitments import CommitmentProgress, commitments_progress
from sla.metrics.catalogue import BY_KEY, PER_GOAL, Metric, Unit, format_value
from sla.metrics.clock_groups import ClockGroup, Groups, clock_groups
from sla.metrics.compute import (
    NO_REASON,
    CampaignFigures,
    Figure,
    Figures,
    MetricFilter,
    Values,
    breach_figures,
    campaign_figures,
    clock_values,
    decided_clocks,
    handed_off_leads,
    handoff_figures,
    lead_flow_figures,
    lost_leads,
    rate,
    rejected_leads,
)
from sla.models import Breach, CommitmentResult, DecisionStatus, ReviewDecision
from sla.review.periods import ReviewPeriod

# The headline: what both teams read first, each beside the previous period's value.
HEADLINE = (
    "new_leads",
    "handed_off",
    "acceptance_rate",
    "acceptance_rate_all",
    "sla_compliance",
    "sla_compliance_adjusted",
    "time_to_accept_median",
    "opportunities",
    "won",
    "win_rate",
    "breaches",
)
# Policies are shown by name.
_POLICY_NAMES = {"policy_id": "policy__name"}
# Figures where a fall is good news.
LOWER_IS_BETTER = frozenset({"time_to_accept_median", "breaches"})
SALES_GOALS = (*PER_GOAL, "sla_decided", "sla_met", "sla_missed", "sla_exempted")
EXAMPLES = 3  # example leads shown per feedback group
BREACHES_SHOWN = 25


@dataclass(frozen=True)
class Change:
    """A headline figure, the previous period's, and the change between them in words."""

    now: Figure
    before: Figure

    @property
    def direction(self) -> str:
        """up, down, same, or "" when either side has no value."""
        a, b = self.now.value, self.before.value
        if a is None or b is None:
            return ""
        return "up" if a > b else "down" if a < b else "same"

    @property
    def good(self) -> bool | None:
        """Whether the change is good news (None: no change, or nothing to compare)."""
        if self.direction in ("", "same"):
            return None
        return (self.direction == "down") == (self.now.key in LOWER_IS_BETTER)

    @property
    def shown(self) -> str:
        """+3, minus 4.2 pts, +1 h 05 min, "no change", or a dash when there is nothing."""
        if not self.direction:
            return "—"
        if self.direction == "same":
            return "no change"
        a, b = self.now.value, self.before.value
        sign = "+" if a > b else "\u2212"  # a minus sign, not a hyphen
        unit = self.now.metric.unit
        if unit == Unit.PERCENT:
            return f"{sign}{abs(a - b):.1f} pts"
        return sign + format_value(unit, abs(a - b))


@dataclass(frozen=True)
class GroupFigure(Figure):
    """One figure of the catalogue for a part only (a policy, a campaign, a reason group)."""

    group: str  # data-group on the page


@dataclass(frozen=True)
class PolicyRow:
    policy_id: int
    name: str
    met: int
    missed: int

    @property
    def compliance(self) -> GroupFigure:
        return GroupFigure(
            BY_KEY["sla_compliance"], rate(self.met, self.met + self.missed), self.group
        )

    @property
    def group(self) -> str:
        return f"policy:{self.policy_id}"


@dataclass
class FeedbackGroup:
    """Rejected (or lost) leads of one reason, campaign and persona, with a few examples."""

    metric: Metric  # rejected_by_reason or lost
    reason: str
    campaign_id: int | None
    campaign: str
    persona_id: int | None
    persona: str
    count: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def group(self) -> str:
        campaign, persona = self.campaign_id or "", self.persona_id or ""
        return f"reason:{self.reason}|campaign:{campaign}|persona:{persona}"

    @property
    def figure(self) -> GroupFigure:
        return GroupFigure(self.metric, self.count, self.group)


@dataclass(frozen=True)
class CriterionRow:
    """A qualification criterion: of the leads handed off with it ticked, how many sales
    rejected. The ones with the highest share are candidates for the next definition."""

    key: str
    label: str
    handed_off: int
    rejected: int

    @property
    def rejected_share(self) -> float | None:
        return rate(self.rejected, self.handed_off)


@dataclass(frozen=True)
class CampaignRow:
    figures: CampaignFigures
    compliance: GroupFigure


@dataclass(frozen=True)
class JointReview:
    period: ReviewPeriod
    previous: ReviewPeriod
    metrics: Figures  # every figure of the period, by key
    headline: list[Change]
    commitments: list[CommitmentProgress]
    sales_goals: list[Figure]
    policies: list[PolicyRow]
    breach_figures: Figures
    breaches: list[Breach]
    rejected: list[FeedbackGroup]
    lost: list[FeedbackGroup]
    criteria: list[CriterionRow]
    campaigns: list[CampaignRow]
    campaign_total: Figures
    decisions: list[ReviewDecision]


def _period_values(f: MetricFilter, now: datetime, by_goal: Mapping[Any, ClockGroup]) -> Values:
    values, _ = lead_flow_figures(f, now)
    values.update(handoff_figures(f)[0])
    values.update(clock_values(by_goal))
    values.update(breach_figures(f))
    return values


def _clock_groups(f: MetricFilter, now: datetime, *columns: str) -> Groups:
    """The period's decided clocks per goal and `columns` (sla.metrics.clock_groups)."""
    return clock_groups(decided_clocks(f, now), ("goal", *columns), labels=_POLICY_NAMES)


def review_commitments(period: ReviewPeriod, now: datetime) -> list[CommitmentProgress]:
    """Marketing's side: each commitment period that closed in the review period (its result
    as evaluated), then, when the review period is running, each commitment's live progress."""
    results = CommitmentResult.objects.filter(
        period_end__gt=period.start, period_end__lte=period.end
    ).select_related("commitment")
    shown = [
        CommitmentProgress(
            commitment_id=result.commitment_id,
            name=result.commitment.name,
            period_start=result.period_start,
            period_end=result.period_end,
            qualified=result.qualified,
            accepted=result.accepted,
            target_qualified=result.commitment.target_qualified,
            min_acceptance_rate=result.commitment.min_acceptance_rate,
        )
        for result in results.order_by("period_end", "commitment__name")
    ]
    if period.start <= now < period.end:
        shown += commitments_progress(now=now)
    # Missed first: what the meeting has to talk about.
    return sorted(shown, key=lambda c: c.status != "missed")


def _policy_rows(by_policy: Mapping[Any, ClockGroup]) -> list[PolicyRow]:
    found = [PolicyRow(pk, group.label, group.met, group.missed) for pk, group in by_policy.items()]
    # Worst compliance first.
    return sorted(found, key=lambda r: (r.met / (r.met + r.missed), r.name))


def review_breaches(f: MetricFilter) -> list[Breach]:
    """The period's breaches: those awaiting acknowledgement first, newest first."""
    return list(
        Breach.objects.filter(f.during("breached_at"))
        .select_related("policy", "owner", "lead", "acknowledged_by", "commitment")
        .order_by(F("acknowledged_at").desc(nulls_first=True), "-breached_at", "-id")[
            :BREACHES_SHOWN
        ]
    )


_GROUP_FIELDS = ("reason_id", "campaign_id", "persona_id")
_EXAMPLE_FIELDS = ("id", "first_name", "last_name", "email", "company", *_GROUP_FIELDS)


def _feedback(leads: QuerySet[Lead], metric: Metric, kind: str) -> list[FeedbackGroup]:
    """Leads grouped by reason, campaign and persona (largest first), with the latest few of
    each group: two queries whatever the number of leads."""
    rows = leads.values(
        *_GROUP_FIELDS, "reason__label", "reason__kind", "campaign__name", "persona__name"
    ).annotate(n=Count("id"))
    groups: dict[tuple[Any, ...], FeedbackGroup] = {}
    for row in rows:
        reason = row["reason__label"] if row["reason__kind"] == kind else NO_REASON
        key = (reason, row["campaign_id"], row["persona_id"])
        if key in groups:
            groups[key].count += row["n"]
            continue
        groups[key] = FeedbackGroup(
            metric=metric,
            reason=reason,
            campaign_id=row["campaign_id"],
            campaign=row["campaign__name"] or "No campaign",
            persona_id=row["persona_id"],
            persona=row["persona__name"] or "No persona",
            count=row["n"],
        )
    if groups:
        ranked = (
            leads.annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F(name) for name in _GROUP_FIELDS],
                    order_by=[F("stage_changed_at").desc(), F("id").desc()],
                )
            )
            .filter(rank__lte=EXAMPLES)
            .values(*_EXAMPLE_FIELDS, "reason__label", "reason__kind")
        )
        for lead in ranked:
            reason = lead["reason__label"] if lead["reason__kind"] == kind else NO_REASON
            group = groups.get((reason, lead["campaign_id"], lead["persona_id"]))
            if group is not None and len(group.examples) < EXAMPLES:
                group.examples.append(lead)
    return sorted(groups.values(), key=lambda g: (-g.count, g.reason, g.campaign, g.persona))


def criteria_rows(f: MetricFilter) -> list[CriterionRow]:
    """Per qualification criterion, the leads handed off in the period with it ticked and
    how many of them sales rejected, highest rejected share first. Grouped by the set of
    criteria ticked (a handful of sets), so the cost does not follow the leads."""
    rejected = rejected_leads(f).values("pk")
    sets = (
        handed_off_leads(f)
        .values("criteria_met")
        .annotate(n=Count("id"), rejected=Count("id", filter=Q(pk__in=rejected)))
    )
    counts: dict[str, list[int]] = {}
    for row in sets:
        for key in set(row["criteria_met"] or []):
            total = counts.setdefault(str(key), [0, 0])
            total[0] += row["n"]
            total[1] += row["rejected"]
    if not counts:
        return []
    labels = dict(
        QualificationCriterion.objects.filter(
            definition__in=StageDefinition.objects.filter(stage=Stage.QUALIFIED),
            key__in=list(counts),
        )
        .order_by("definition__version")
        .values_list("key", "label")
    )
    rows = [CriterionRow(key, labels.get(key, key), n, r) for key, (n, r) in counts.items()]
    return sorted(rows, key=lambda r: (-(r.rejected_share or 0), -r.rejected, r.label))


def _campaign_rows(
    f: MetricFilter, by_campaign: Mapping[Any, ClockGroup]
) -> tuple[list[CampaignRow], Values]:
    """Each campaign's results (all time, as the catalogue counts them) beside the SLA
    compliance of its leads' clocks started in the period; campaigns still running or with
    clocks in the period, in name order."""
    compliance = {pk: group for pk, group in by_campaign.items() if pk is not None}
    campaigns = list(
        Campaign.objects.filter(Q(archived_at__isnull=True) | Q(pk__in=list(compliance))).order_by(
            "name"
        )
    )
    rows, total = campaign_figures(f, campaigns)
    shown = []
    for row in rows:
        found = compliance.get(row.campaign.pk) or ClockGroup()
        value = rate(found.met, found.total)
        shown.append(CampaignRow(row, GroupFigure(BY_KEY["sla_compliance"], value, row.group)))
    return shown, total


def review_decisions(period: ReviewPeriod, now: datetime) -> list[ReviewDecision]:
    """Every decision still open (earliest due first): recorded before the period ended, or
    during its own review (the meeting follows the week); then those closed in the period;
    each marked `overdue` when open past its due day (in the teams' zone)."""
    today = local_today(now, period.zone)
    decisions = ReviewDecision.objects.filter(
        Q(status=ReviewDecision.Status.OPEN)
        & (Q(recorded_at__lt=period.end) | Q(period=period.key))
        | Q(closed_at__gte=period.start, closed_at__lt=period.end)
    ).select_related("owner", "recorded_by", "closed_by")
    shown = sorted(decisions, key=lambda d: (d.status != DecisionStatus.OPEN, d.due_on, d.pk))
    for decision in shown:
        decision.overdue = decision.is_overdue(today)
    return shown


def joint_review(period: ReviewPeriod, now: datetime) -> JointReview:
    """Every section of the review of `period`, as of `now`."""
    scope = MetricFilter(period=period.period)
    previous = period.previous()
    # One read of the period's clocks serves its figures, policies and campaigns.
    clocks = _clock_groups(scope, now, "policy_id", "lead__campaign_id")
    values = _period_values(scope, now, clocks["goal"])
    earlier_scope = MetricFilter(period=previous.period)
    before = _period_values(earlier_scope, now, _clock_groups(earlier_scope, now)["goal"])
    metrics, earlier = Figures(values), Figures(before)
    campaigns, campaign_total = _campaign_rows(scope, clocks["lead__campaign_id"])
    return JointReview(
        period=period,
        previous=previous,
        metrics=metrics,
        headline=[Change(metrics[key], earlier[key]) for key in HEADLINE],
        commitments=review_commitments(period, now),
        sales_goals=[metrics[key] for key in SALES_GOALS],
        policies=_policy_rows(clocks["policy_id"]),
        breach_figures=Figures({k: values[k] for k in ("breaches", "breaches_unacknowledged")}),
        breaches=review_breaches(scope),
        rejected=_feedback(rejected_leads(scope), BY_KEY["rejected_by_reason"], ReasonKind.REJECT),
        lost=_feedback(lost_leads(scope), BY_KEY["lost"], ReasonKind.LOST),
        criteria=criteria_rows(scope),
        campaigns=campaigns,
        campaign_total=Figures(campaign_total),
        decisions=review_decisions(period, now),
    )
