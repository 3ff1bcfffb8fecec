"""Reads that span models: used by pages, the API and reports alike.

The dashboard's lead figures (pipeline, funnel, aging, the marketing scorecard, campaign
performance) are here with the filters every dashboard figure shares; each runs a fixed number
of aggregate queries whatever the number of leads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from django.db import connections
from django.db.models import Case, Count, DateField, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth

from leads.lifecycle import OPEN_STAGES, STAGE_ORDER, STAGE_OWNER, Stage
from leads.models import HANDOFF_AND_ANSWERS, Campaign, Lead, LeadEvent
from leads.search import clean_term, closeness, exact_identity

# How many of the newest matches the jump box ranks. Ranking every match of a common word
# reads all of them (3 s for 200,000 matches among a million leads, docs/search.md); the newest
# few hundred are read from one index slice, and an exact e-mail is fetched by its own index.
SUGGESTION_CANDIDATES = 200


class StageRow(TypedDict):
    stage: str
    label: str
    owner_team: str
    count: int
    value: Decimal


def pipeline_by_stage(leads: QuerySet[Lead] | None = None) -> list[StageRow]:
    """Leads and estimated value per stage, in funnel order, from one GROUP BY."""
    leads = Lead.objects.all() if leads is None else leads
    totals = {
        row["stage"]: row
        for row in leads.order_by()
        .values("stage")
        .annotate(count=Count("id"), value=Sum("estimated_value"))
    }
    return stage_rows(totals)


def stage_rows(totals: Mapping[str, Mapping[str, Any]]) -> list[StageRow]:
    """Every stage in funnel order from per-stage `count` and `value` (missing ones are 0)."""
    return [
        StageRow(
            stage=stage,
            label=Stage(stage).label,
            owner_team=STAGE_OWNER[stage],
            count=totals.get(stage, {}).get("count", 0),
            value=totals.get(stage, {}).get("value") or Decimal("0"),
        )
        for stage in STAGE_ORDER
    ]


class ConversionRow(TypedDict):
    from_stage: str
    to_stage: str
    entered: int
    converted: int
    rate: float | None


# Each step can only be reached from the one before it (see TRANSITIONS), so the leads that
# ever entered the later stage are exactly the ones that converted.
FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    (Stage.ENGAGED, Stage.QUALIFIED),
    (Stage.QUALIFIED, Stage.OPPORTUNITY),
    (Stage.OPPORTUNITY, Stage.WON),
)


def conversion_between_stages(
    *, created_from: datetime | None = None, created_to: datetime | None = None
) -> list[ConversionRow]:
    """Leads that ever entered each funnel stage and the share that reached the next one,
    from the history, in one GROUP BY; optionally for leads created in a date range."""
    events = LeadEvent.objects.filter(to_stage__in={s for step in FUNNEL_STEPS for s in step})
    if created_from is not None:
        events = events.filter(lead__created_at__gte=created_from)
    if created_to is not None:
        events = events.filter(lead__created_at__lt=created_to)
    entered = dict(
        events.order_by()
        .values("to_stage")
        .annotate(n=Count("lead", distinct=True))
        .values_list("to_stage", "n")
    )
    rows: list[ConversionRow] = []
    for before, after in FUNNEL_STEPS:
        base, reached = entered.get(before, 0), entered.get(after, 0)
        rows.append(
            ConversionRow(
                from_stage=before,
                to_stage=after,
                entered=base,
                converted=reached,
                rate=round(reached / base, 4) if base else None,
            )
        )
    return rows


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


class FunnelStep(TypedDict):
    key: str
    label: str
    count: int
    conversion: float | None  # share of the previous step, in percent


class AgingRow(TypedDict):
    stage: str
    label: str
    count: int
    under_1d: int
    d1_7: int
    d7_30: int
    over_30d: int
    oldest_since: datetime | None


@dataclass(frozen=True)
class LeadFigures:
    pipeline: list[StageRow]
    funnel: list[FunnelStep]
    aging: list[AgingRow]


FUNNEL_LABELS = (
    ("created", "Engaged"),
    ("handed_off", "Handed off"),
    ("accepted", "Accepted"),
    ("opportunity", "Opportunity"),
    ("won", "Won"),
)
AGING_BUCKETS = ("count", "under_1d", "d1_7", "d7_30", "over_30d")


def lead_figures(filters: DashboardFilters, now: datetime) -> LeadFigures:
    """The period's pipeline, funnel and aging, all from one GROUP BY stage.

    Funnel: a lead counts for a step if it ever reached it (its milestone is set), not only
    if it is there now, so a lead that was handed off and later rejected still counts as
    handed off. Aging: open leads by time spent in their current stage.
    """
    day, week, month = now - timedelta(days=1), now - timedelta(days=7), now - timedelta(days=30)
    changed = "stage_changed_at"
    rows = {
        row["stage"]: row
        for row in filters.leads(now)
        .values("stage")
        .annotate(
            count=Count("id"),
            value=Sum("estimated_value"),
            handed_off=Count("id", filter=Q(first_handed_off_at__isnull=False)),
            accepted=Count("id", filter=Q(first_accepted_at__isnull=False)),
            opportunity=Count("id", filter=Q(first_opportunity_at__isnull=False)),
            under_1d=Count("id", filter=Q(**{f"{changed}__gt": day})),
            d1_7=Count("id", filter=Q(**{f"{changed}__lte": day, f"{changed}__gt": week})),
            d7_30=Count("id", filter=Q(**{f"{changed}__lte": week, f"{changed}__gt": month})),
            over_30d=Count("id", filter=Q(**{f"{changed}__lte": month})),
            oldest_since=Min(changed),
        )
    }
    return LeadFigures(
        pipeline=stage_rows(rows), funnel=_funnel_steps(rows), aging=_aging_rows(rows)
    )


def _funnel_steps(rows: dict[str, dict[str, Any]]) -> list[FunnelStep]:
    counts = {
        key: sum(row[key] for row in rows.values())
        for key in ("handed_off", "accepted", "opportunity")
    }
    counts["created"] = sum(row["count"] for row in rows.values())
    counts["won"] = rows.get(Stage.WON, {}).get("count", 0)
    steps: list[FunnelStep] = []
    previous: int | None = None
    for key, label in FUNNEL_LABELS:
        count = counts[key]
        conversion = None
        if previous is not None:
            conversion = round(100 * count / previous, 1) if previous else None
        steps.append(FunnelStep(key=key, label=label, count=count, conversion=conversion))
        previous = count
    return steps


def _aging_rows(rows: dict[str, dict[str, Any]]) -> list[AgingRow]:
    aging: list[AgingRow] = []
    for stage in OPEN_STAGES:
        row = rows.get(stage, {})
        buckets = {key: row.get(key, 0) for key in AGING_BUCKETS}
        aging.append(
            AgingRow(
                stage=stage,
                label=Stage(stage).label,
                oldest_since=row.get("oldest_since"),
                **buckets,  # type: ignore[typeddict-item]
            )
        )
    return aging


class MarketingScorecard(TypedDict):
    handed_off: int
    accepted: int
    rejected: int
    acceptance_rate: float | None


def marketing_scorecard(filters: DashboardFilters, now: datetime) -> MarketingScorecard:
    """Hand-offs in the period and how sales answered them (accepted vs rejected)."""
    counts = (
        filters.events(now)
        .filter(HANDOFF_AND_ANSWERS)
        .aggregate(
            handed_off=Count(
                "id", filter=Q(kind=LeadEvent.Kind.TRANSITION, to_stage=Stage.QUALIFIED)
            ),
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
    archived: bool


CHANNEL_LABELS: dict[str, str] = dict(Campaign.Channel.choices)


def _per(spend: Decimal, count: int) -> Decimal | None:
    """Cost per lead, opportunity or won deal: the one place the division is written."""
    return (spend / count).quantize(Decimal("0.01")) if count else None


def campaign_performance(
    campaign_id: int | None = None, *, campaigns: Sequence[Campaign] | None = None
) -> list[CampaignRow]:
    """Spend against results for every campaign, all time (spend is not split by period).

    One GROUP BY campaign; a lead counts as an opportunity once it ever reached that stage
    (its milestone). `campaigns`, all of them in name order, saves the caller's second read.
    """
    leads = Lead.objects.order_by().filter(campaign__isnull=False)
    if campaign_id:
        leads = leads.filter(campaign_id=campaign_id)
    per_campaign = {
        row["campaign_id"]: row
        for row in leads.values("campaign_id").annotate(
            leads=Count("id"),
            opportunities=Count("id", filter=Q(first_opportunity_at__isnull=False)),
            won=Count("id", filter=Q(stage=Stage.WON)),
        )
    }
    if campaigns is None:
        campaigns = Campaign.objects.order_by("name")
        if campaign_id:
            campaigns = campaigns.filter(pk=campaign_id)
    elif campaign_id:
        campaigns = [campaign for campaign in campaigns if campaign.pk == campaign_id]
    none = {"leads": 0, "opportunities": 0, "won": 0}
    rows: list[CampaignRow] = []
    for campaign in campaigns:
        stats = per_campaign.get(campaign.pk, none)
        rows.append(
            CampaignRow(
                id=campaign.pk,
                name=campaign.name,
                channel=CHANNEL_LABELS.get(campaign.channel, campaign.channel),
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
                archived=campaign.archived_at is not None,
            )
        )
    return rows


class CampaignMonth(TypedDict):
    month: date
    spend: Decimal
    leads: int
    cost_per_lead: Decimal | None


def campaign_months(campaign: Campaign) -> list[CampaignMonth]:
    """Spend and new leads per calendar month (in the server's zone), newest first: cost per
    lead as it follows spend over time. Two reads, whatever the number of months."""
    spend = dict(campaign.spends.order_by().values_list("month", "amount"))
    leads = dict(
        Lead.objects.filter(campaign=campaign)
        .order_by()
        .annotate(month=TruncMonth("created_at", output_field=DateField()))
        .values("month")
        .annotate(n=Count("id"))
        .values_list("month", "n")
    )
    return [
        CampaignMonth(
            month=month,
            spend=spend.get(month, Decimal("0")),
            leads=leads.get(month, 0),
            cost_per_lead=_per(spend.get(month, Decimal("0")), leads.get(month, 0)),
        )
        for month in sorted({*spend, *leads}, reverse=True)
    ]


def lead_suggestions(*, term: str, limit: int = 8) -> list[Lead]:
    """The leads the header's jump box offers for `term`, best first: the lead whose e-mail or
    external id is the term, then the closest names and companies among the newest matches,
    newest first among equals. Two queries whatever the number of leads."""
    term = clean_term(term)
    if not term:
        return []
    vendor = connections[Lead.objects.db].vendor
    columns = ("first_name", "last_name", "email", "company", "stage", "created_at")
    # By its own (email_normalized) index, however many leads contain the term.
    exact = list(Lead.objects.filter(email_normalized=term.lower()).only(*columns)[:limit])
    newest = Lead.objects.search(term).order_by("-created_at", "-id")[:SUGGESTION_CANDIDATES]
    ranked = (
        Lead.objects.filter(pk__in=newest.values("pk"))
        .exclude(pk__in=[lead.pk for lead in exact])
        .annotate(
            is_exact=Case(When(exact_identity(term), then=Value(0)), default=Value(1)),
            closeness=closeness(term, vendor=vendor),
        )
        .order_by("is_exact", "-closeness", "-created_at", "-id")
        .only(*columns)[: max(limit - len(exact), 0)]
    )
    return exact + list(ranked)
