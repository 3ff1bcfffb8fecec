"""The dashboard's figures: one shared picture of the pipeline and the SLA for both teams.

Interface code: it gathers what the page shows from the apps that own the data (lead figures
from `leads.selectors`, clocks from `sla.scorecards`, commitments from `sla.commitments`), so
every query the dashboard runs is started from here, by its view, and counted in its test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leads.models import Campaign
from leads.selectors import (
    AgingRow,
    CampaignRow,
    DashboardFilters,
    FunnelStep,
    MarketingScorecard,
    StageRow,
    campaign_performance,
    lead_figures,
    marketing_scorecard,
)
from sla.commitments import CommitmentProgress, commitments_progress
from sla.scorecards import ClocksAtRisk, GoalScore, dashboard_clocks, sales_scorecard


@dataclass(frozen=True)
class Dashboard:
    pipeline: list[StageRow]
    funnel: list[FunnelStep]
    aging: list[AgingRow]
    marketing: MarketingScorecard
    commitments: list[CommitmentProgress]
    campaign_rows: list[CampaignRow]
    attention: ClocksAtRisk  # SLA clocks at risk or past due now
    sales_scores: list[GoalScore]

    def chart_data(self) -> dict[str, dict[str, list[Any]]]:
        """What the charts draw: the same numbers as the pipeline and funnel tables."""
        return {
            "pipeline": {
                "labels": [row["label"] for row in self.pipeline],
                "counts": [row["count"] for row in self.pipeline],
            },
            "funnel": {
                "labels": [step["label"] for step in self.funnel],
                "counts": [step["count"] for step in self.funnel],
            },
        }


def dashboard_read(
    filters: DashboardFilters, now: datetime, *, campaigns: Sequence[Campaign]
) -> Dashboard:
    """Every figure of the dashboard; `campaigns` (all of them, in name order) is the list
    the page's filter offers, read once by the view."""
    leads = lead_figures(filters, now)
    return Dashboard(
        pipeline=leads.pipeline,
        funnel=leads.funnel,
        aging=leads.aging,
        marketing=marketing_scorecard(filters, now),
        commitments=commitments_progress(now=now),
        campaign_rows=campaign_performance(filters.campaign_id, campaigns=campaigns),
        attention=dashboard_clocks(filters, now),
        sales_scores=sales_scorecard(filters, now),
    )
