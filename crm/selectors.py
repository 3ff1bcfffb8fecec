"""The dashboard's numbers: one shared picture of the pipeline for both teams.

Every function runs a fixed number of aggregate queries whatever the number of leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypedDict

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet

from leads.lifecycle import OPEN_STAGES, Stage
from leads.models import Campaign, Lead, LeadEvent
from leads.selectors import StageRow, pipeline_by_stage

PERIODS: dict[str, tuple[str, int | None]] = {
    "7d": ("Last 7 days", 7),
    "30d": ("Last 30 days", 30),
    "90d": ("Last 90 days", 90),
    "365d": ("Last 12 months", 365),
    "all": ("All time", None),
}
DEFAULT_PERIOD = "90d"


@dataclass(frozen=True)
class DashboardFilters:
    period: str = DEFAULT_PERIOD
    team: str = ""
    campaign_id: int | None = None

    def since(self, now: datetime) -> datetime | None:
        days = PERIODS.get(self.period, PERIODS[DEFAULT_PERIOD])[1]
        return None if days is None else now - timedelta(days=days)

    def leads(self, now: datetime) -> QuerySet[Lead]:
        """Leads created in the period, of the chosen campaign and owning team."""
        queryset = Lead.objects.order_by()
        since = self.since(now)
        if since is not None:
            queryset = queryset.filter(created_at__gte=since)
        if self.campaign_id:
            queryset = queryset.filter(campaign_id=self.campaign_id)
        if self.team:
            queryset = queryset.filter(owner_team=self.team)
        return queryset

    def events(self, now: datetime) -> QuerySet[LeadEvent]:
        """Events that happened in the period, on leads of the chosen campaign."""
        queryset = LeadEvent.objects.order_by()
        since = self.since(now)
        if since is not None:
            queryset = queryset.filter(created_at__gte=since)
        if self.campaign_id:
            queryset = queryset.filter(lead__campaign_id=self.campaign_id)
        return queryset


def pipeline(filters: DashboardFilters, now: datetime) -> list[StageRow]:
    """Leads and estimated value per current stage, within the dashboard's filters."""
    return pipeline_by_stage(filters.leads(now))


class FunnelStep(TypedDict):
    key: str
    label: str
    count: int
    conversion: float | None  # share of the previous step, in percent


def funnel(filters: DashboardFilters, now: datetime) -> list[FunnelStep]:
    """How far the period's leads got: created, handed off, accepted, opportunity, won.

    A lead counts for a step if it ever reached it (its history says so), not only if it is
    there now, so a lead that was handed off and later rejected still counts as handed off.
    """
    reached = LeadEvent.objects.filter(lead=OuterRef("pk"), kind=LeadEvent.Kind.TRANSITION)
    accepted = LeadEvent.objects.filter(lead=OuterRef("pk"), kind=LeadEvent.Kind.ACCEPTED)
    counts = filters.leads(now).aggregate(
        created=Count("id"),
        handed_off=Count("id", filter=Q(Exists(reached.filter(to_stage=Stage.QUALIFIED)))),
        accepted=Count("id", filter=Q(Exists(accepted))),
        opportunity=Count("id", filter=Q(Exists(reached.filter(to_stage=Stage.OPPORTUNITY)))),
        won=Count("id", filter=Q(stage=Stage.WON)),
    )
    labels = (
        ("created", "Engaged"),
        ("handed_off", "Handed off"),
        ("accepted", "Accepted"),
        ("opportunity", "Opportunity"),
        ("won", "Won"),
    )
    steps: list[FunnelStep] = []
    previous: int | None = None
    for key, label in labels:
        count = counts[key] or 0
        conversion = None
        if previous is not None:
            conversion = round(100 * count / previous, 1) if previous else None
        steps.append(FunnelStep(key=key, label=label, count=count, conversion=conversion))
        previous = count
    return steps


class AgingRow(TypedDict):
    stage: str
    label: str
    count: int
    under_1d: int
    d1_7: int
    d7_30: int
    over_30d: int
    oldest_since: datetime | None


def aging(filters: DashboardFilters, now: datetime) -> list[AgingRow]:
    """Open leads by time spent in their current stage (one GROUP BY, bucketed in SQL)."""
    day, week, month = now - timedelta(days=1), now - timedelta(days=7), now - timedelta(days=30)
    rows = {
        row["stage"]: row
        for row in filters.leads(now)
        .filter(stage__in=OPEN_STAGES)
        .values("stage")
        .annotate(
            count=Count("id"),
            under_1d=Count("id", filter=Q(stage_changed_at__gt=day)),
            d1_7=Count("id", filter=Q(stage_changed_at__lte=day, stage_changed_at__gt=week)),
            d7_30=Count("id", filter=Q(stage_changed_at__lte=week, stage_changed_at__gt=month)),
            over_30d=Count("id", filter=Q(stage_changed_at__lte=month)),
            oldest_since=Min("stage_changed_at"),
        )
    }
    empty = {"count": 0, "under_1d": 0, "d1_7": 0, "d7_30": 0, "over_30d": 0}
    return [
        AgingRow(
            stage=stage,
            label=Stage(stage).label,
            count=rows.get(stage, empty)["count"],
            under_1d=rows.get(stage, empty)["under_1d"],
            d1_7=rows.get(stage, empty)["d1_7"],
            d7_30=rows.get(stage, empty)["d7_30"],
            over_30d=rows.get(stage, empty)["over_30d"],
            oldest_since=rows.get(stage, {}).get("oldest_since"),
        )
        for stage in OPEN_STAGES
    ]


class MarketingScorecard(TypedDict):
    handed_off: int
    accepted: int
    rejected: int
    acceptance_rate: float | None


def marketing_scorecard(filters: DashboardFilters, now: datetime) -> MarketingScorecard:
    """Hand-offs in the period and how sales answered them (accepted vs rejected)."""
    counts = filters.events(now).aggregate(
        handed_off=Count("id", filter=Q(kind=LeadEvent.Kind.TRANSITION, to_stage=Stage.QUALIFIED)),
        accepted=Count("id", filter=Q(kind=LeadEvent.Kind.ACCEPTED)),
        rejected=Count(
            "id",
            filter=Q(
                kind=LeadEvent.Kind.TRANSITION,
                from_stage=Stage.QUALIFIED,
                to_stage=Stage.NURTURE,
            ),
        ),
    )
    answered = counts["accepted"] + counts["rejected"]
    return MarketingScorecard(
        handed_off=counts["handed_off"],
        accepted=counts["accepted"],
        rejected=counts["rejected"],
        acceptance_rate=round(100 * counts["accepted"] / answered, 1) if answered else None,
    )


class CampaignRow(TypedDict):
    id: int
    name: str
    channel: str
    budget: Decimal
    spend: Decimal
    leads: int
    opportunities: int
    won: int
    cost_per_lead: Decimal | None
    cost_per_opportunity: Decimal | None
    cost_per_won: Decimal | None
    conversion: float | None  # won / leads, percent


def _per(spend: Decimal, count: int) -> Decimal | None:
    return (spend / count).quantize(Decimal("0.01")) if count else None


def campaign_performance(campaign_id: int | None = None) -> list[CampaignRow]:
    """Spend against results for every campaign, all time (spend is not split by period)."""
    # Two GROUP BYs instead of a history lookup per lead: the second reads only the
    # "reached opportunity" events (leadevent_reached_opp_idx), not every lead.
    per_campaign = {
        row["campaign_id"]: {**row, "opportunities": 0}
        for row in Lead.objects.order_by()
        .filter(campaign__isnull=False)
        .values("campaign_id")
        .annotate(leads=Count("id"), won=Count("id", filter=Q(stage=Stage.WON)))
    }
    reached_opportunity = (
        LeadEvent.objects.order_by()
        .filter(
            kind=LeadEvent.Kind.TRANSITION,
            to_stage=Stage.OPPORTUNITY,
            lead__campaign__isnull=False,
        )
        .values_list("lead__campaign_id")
        .annotate(leads=Count("lead_id", distinct=True))
    )
    for campaign_pk, reached in reached_opportunity:
        if campaign_pk in per_campaign:
            per_campaign[campaign_pk]["opportunities"] = reached
    campaigns = Campaign.objects.order_by("name")
    if campaign_id:
        campaigns = campaigns.filter(pk=campaign_id)
    rows: list[CampaignRow] = []
    for campaign in campaigns:
        stats = per_campaign.get(campaign.pk, {"leads": 0, "opportunities": 0, "won": 0})
        rows.append(
            CampaignRow(
                id=campaign.pk,
                name=campaign.name,
                channel=campaign.get_channel_display(),
                budget=campaign.budget,
                spend=campaign.spend,
                leads=stats["leads"],
                opportunities=stats["opportunities"],
                won=stats["won"],
                cost_per_lead=_per(campaign.spend, stats["leads"]),
                cost_per_opportunity=_per(campaign.spend, stats["opportunities"]),
                cost_per_won=_per(campaign.spend, stats["won"]),
                conversion=round(100 * stats["won"] / stats["leads"], 1)
                if stats["leads"]
                else None,
            )
        )
    return rows


__all__ = [
    "PERIODS",
    "DashboardFilters",
    "aging",
    "campaign_performance",
    "funnel",
    "marketing_scorecard",
    "pipeline",
]
