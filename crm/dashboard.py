"""The dashboard's figures: one shared picture of the pipeline and the SLA for both teams.

Interface code: it gathers what the page shows from the metric computations
(`sla.metrics.compute`, the same ones the reports, exports and API read), clocks needing
attention from `sla.scorecards` and commitments from `sla.commitments`, so every query the
dashboard runs is started from here, by its view, and counted in its test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leads.models import Campaign
from leads.periods import Period
from leads.selectors import AgingRow, DashboardFilters, StageRow, aging_rows, stage_rows
from sla.commitments import CommitmentProgress, commitments_progress
from sla.metrics.catalogue import PER_GOAL
from sla.metrics.compute import (
    CampaignFigures,
    Figure,
    Figures,
    MetricFilter,
    campaign_figures,
    clock_figures,
    handoff_figures,
    lead_flow_figures,
)
from sla.scorecards import ClocksAtRisk, dashboard_clocks

# The funnel's steps: how many leads reached each step in the period.
FLOW = ("new_leads", "handed_off", "accepted", "opportunities", "won")
MARKETING = ("handed_off", "accepted", "rejected", "acceptance_rate", "acceptance_rate_all")
SALES = (*PER_GOAL, "sla_compliance", "sla_decided", "sla_missed")
OUTCOMES = ("opportunities", "won", "win_rate", "pipeline_value")


def metric_filter(filters: DashboardFilters, now: datetime) -> MetricFilter:
    """The dashboard's filters as the metric computations read them."""
    return MetricFilter(
        period=filters.period_at(now), team=filters.team, campaign_id=filters.campaign_id
    )


@dataclass(frozen=True)
class Dashboard:
    period: Period
    metrics: Figures
    pipeline: list[StageRow]
    aging: list[AgingRow]
    rejected_by_reason: list[tuple[str, int]]
    commitments: list[CommitmentProgress]
    campaign_rows: list[CampaignFigures]
    campaign_total: Figures
    attention: ClocksAtRisk  # SLA clocks at risk or past due now

    def _pick(self, keys: tuple[str, ...]) -> list[Figure]:
        return [self.metrics[key] for key in keys]

    @property
    def flow(self) -> list[Figure]:
        return self._pick(FLOW)

    @property
    def marketing(self) -> list[Figure]:
        return self._pick(MARKETING)

    @property
    def sales(self) -> list[Figure]:
        return self._pick(SALES)

    @property
    def outcomes(self) -> list[Figure]:
        return self._pick(OUTCOMES)

    def chart_data(self) -> dict[str, dict[str, list[Any]]]:
        """What the charts draw: the same numbers as the pipeline and funnel tables."""
        return {
            "pipeline": {
                "labels": [row["label"] for row in self.pipeline],
                "counts": [row["count"] for row in self.pipeline],
            },
            "funnel": {
                "labels": [figure.label for figure in self.flow],
                "counts": [figure.value for figure in self.flow],
            },
        }


def dashboard_read(
    filters: DashboardFilters, now: datetime, *, campaigns: list[Campaign]
) -> Dashboard:
    """Every figure of the dashboard; `campaigns` (all of them, in name order) is the list
    the page's filter offers, read once by the view."""
    scope = metric_filter(filters, now)
    values, by_stage = lead_flow_figures(scope, now)
    handoffs, reasons = handoff_figures(scope)
    values.update(handoffs)
    values.update(clock_figures(scope, now))
    rows, total = campaign_figures(scope, campaigns)
    return Dashboard(
        period=scope.period,
        metrics=Figures(values),
        pipeline=stage_rows(by_stage),
        aging=aging_rows(by_stage),
        rejected_by_reason=reasons,
        commitments=commitments_progress(now=now),
        campaign_rows=rows,
        campaign_total=Figures(total),
        attention=dashboard_clocks(scope, now),
    )
