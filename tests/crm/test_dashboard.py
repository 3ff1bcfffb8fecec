"""The dashboard: the same numbers for everyone, computed in the database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.templatetags.charts import bars
from leads.lifecycle import Stage
from leads.models import Reason
from leads.selectors import DashboardFilters, aging_rows, stage_rows
from leads.services.transitions import (
    lead_accept,
    lead_hand_off,
    lead_reject,
    lead_to_opportunity,
    lead_win,
)
from sla.metrics.compute import (
    MetricFilter,
    campaign_figures,
    handoff_figures,
    lead_flow_figures,
)
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(make_lead, marketer, sales_rep):
    """Four leads: one engaged, one rejected, one won (value 5000), one old engaged."""
    campaign = CampaignFactory(name="Webinar", spend=Decimal("900"))
    make_lead(campaign=campaign.pk)
    rejected = make_lead(campaign=campaign.pk)
    won = make_lead(campaign=campaign.pk)
    for lead in (rejected, won):
        lead_hand_off(lead=lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA)
    lead_reject(lead=rejected, actor=sales_rep, reason=Reason.objects.filter(kind="reject").first())
    lead_accept(lead=won, actor=sales_rep)
    lead_to_opportunity(lead=won, actor=sales_rep, estimated_value="5000", next_step="Sign")
    lead_win(lead=won, actor=sales_rep)
    LeadFactory(
        created_at=timezone.now() - timedelta(days=200),
        stage_changed_at=timezone.now() - timedelta(days=200),
    )
    return campaign


def _scope(period: str = "all", **kwargs) -> MetricFilter:
    return MetricFilter(period=DashboardFilters(period=period).period_at(timezone.now()), **kwargs)


def test_it_counts_the_funnel_from_history(history):
    now = timezone.now()
    values, _ = lead_flow_figures(_scope(), now)
    handoffs, _ = handoff_figures(_scope())
    flow = [values["new_leads"], handoffs["handed_off"], handoffs["accepted"]]
    assert [*flow, values["opportunities"], values["won"]] == [4, 2, 1, 1, 1]
    assert lead_flow_figures(_scope("90d"), now)[0]["new_leads"] == 3


def test_it_scores_marketing_by_acceptance(history):
    values, reasons = handoff_figures(_scope("90d"))
    assert (values["handed_off"], values["accepted"], values["rejected"]) == (2, 1, 1)
    assert (values["acceptance_rate"], values["acceptance_rate_all"]) == (50.0, 50.0)
    assert [count for _, count in reasons] == [1]


def test_it_ages_open_leads_by_stage(history):
    _, by_stage = lead_flow_figures(_scope(), timezone.now())
    rows = {r["stage"]: r for r in aging_rows(by_stage)}
    assert rows[Stage.ENGAGED]["count"] == 2
    assert (rows[Stage.ENGAGED]["under_1d"], rows[Stage.ENGAGED]["over_30d"]) == (1, 1)
    assert rows[Stage.NURTURE]["count"] == 1


def test_it_costs_campaigns(history):
    (row,), total = campaign_figures(_scope(), [history])
    values = {key: figure.value for key, figure in row.figures.items()}
    assert values["campaign_leads"] == 3
    assert values["cost_per_lead"] == Decimal("300.00")
    assert values["cost_per_opportunity"] == values["cost_per_won"] == Decimal("900.00")
    assert values["lead_to_won_rate"] == 33.3
    assert total == values


def test_it_filters_by_team_and_campaign(client, history, sales_rep):
    client.force_login(sales_rep)
    response = client.get(reverse("dashboard"), {"team": "sales", "period": "all"})
    pipeline = {row["stage"]: row["count"] for row in response.context["pipeline"]}
    assert pipeline[Stage.WON] == 1 and pipeline[Stage.ENGAGED] == 0
    other = CampaignFactory()
    response = client.get(reverse("dashboard"), {"campaign": other.pk})
    assert response.context["flow"][0].value == 0


def test_it_ignores_malformed_filters(client, sales_rep):
    client.force_login(sales_rep)
    for params in ({"period": "x"}, {"campaign": "9" * 40}, {"team": "<b>"}):
        assert client.get(reverse("dashboard"), params).status_code == 200


def test_it_draws_the_charts_in_the_page_without_scripts(client, history, marketer):
    client.force_login(marketer)
    response = client.get(reverse("dashboard"))
    content = response.content.decode()
    assert 'aria-label="Leads by stage, bar chart; the table below lists the same' in content
    assert content.count('<rect width="100.0"') >= 2  # the longest bars of each chart
    assert "<canvas" not in content and "<script>" not in content
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_bar_lengths_are_shares_of_the_longest_bar():
    chart = {"labels": ["Engaged", "Qualified", "Won"], "counts": [8, 2, 0]}
    assert [(bar.label, bar.length) for bar in bars(chart)] == [
        ("Engaged", "100.0"),
        ("Qualified", "25.0"),
        ("Won", "0.0"),
    ]
    assert [bar.length for bar in bars({"labels": ["Won"], "counts": [0]})] == ["0.0"]


def test_dashboard_runs_a_constant_number_of_queries(client, manager, history):
    client.force_login(manager)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("dashboard"), {"period": "all"}).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    LeadFactory.create_batch(50, campaign=CampaignFactory())
    # Session, user, campaigns, the lead flow (with aging) and the open pipeline's kept
    # counts, the hand-offs, the SLA figures (counts and times to goal together),
    # commitments, campaign figures, clocks needing attention (counts, soonest due, latest
    # missed), and the header's unread count: all read by the view but the last.
    assert count() == few == 13


def test_pipeline_flow_and_aging_come_from_one_query_on_the_leads(history):
    """The period's flow and aging in one query; the open pipeline from the kept counts."""
    with CaptureQueriesContext(connection) as ctx:
        values, by_stage = lead_flow_figures(_scope(), timezone.now())
    query, pipeline = ctx.captured_queries
    assert "leads_leadevent" not in query["sql"]  # milestones, not a history search per lead
    assert "leads_leadtally" in pipeline["sql"] and 'leads_lead"' not in pipeline["sql"]
    assert (values["new_leads"], values["opportunities"], values["won"]) == (4, 1, 1)
    assert sum(row["count"] for row in stage_rows(by_stage)) == 4
