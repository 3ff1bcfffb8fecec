"""One data set, every surface: each metric reads the same on the dashboard, the breach
report, the campaign page, the API summary and the CSV export.

Values are read back from what each surface sends (the pages' `data-metric` elements, the
API's JSON, the CSV's rows), never by calling the computation a second time.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Reason
from leads.services.activities import activity_log
from leads.services.transitions import (
    lead_accept,
    lead_hand_off,
    lead_lose,
    lead_reject,
    lead_to_opportunity,
    lead_win,
)
from sla.metrics.catalogue import BY_KEY, CATALOGUE, Unit
from sla.models import SlaGoal
from sla.sweep import sla_sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import CampaignFactory, SlaPolicyFactory
from tests.metrics.figures import csv_figures, page_figures, page_labels

pytestmark = pytest.mark.django_db

# Figures that exist only per group, per reason or per commitment, never as one total.
NOT_A_TOTAL = {
    "time_to_goal_median",
    "rejected_by_reason",
    "commitment_volume",
    "commitment_acceptance",
}


@pytest.fixture
def one_data_set(make_lead, manager, marketer, sales_rep):
    """A week of work: hand-offs answered quickly and late, rejections, deals won and lost,
    two campaigns with spend, and a swept breach."""
    now = timezone.now()
    SlaPolicyFactory(actor=manager, name="Accept within an hour", target=timedelta(hours=1))
    SlaPolicyFactory(
        actor=manager,
        name="Touch within two hours",
        goal=SlaGoal.FIRST_TOUCH,
        target=timedelta(hours=2),
    )
    webinar = CampaignFactory(name="Webinar", spend=Decimal("12345.67"))
    ads = CampaignFactory(name="Ads", spend=Decimal("1000"))
    reason = Reason.objects.filter(kind="reject").first()
    lost_reason = Reason.objects.filter(kind="lost").first()
    leads = []
    for n in range(8):
        at = now - timedelta(days=6 - n % 6, hours=n)
        lead = make_lead(now=at - timedelta(hours=1), campaign=(webinar if n % 2 else ads).pk)
        leads.append(
            lead_hand_off(
                lead=lead,
                actor=marketer,
                assignee=sales_rep,
                criteria=ALL_REQUIRED_CRITERIA,
                now=at,
            )
        )
    make_lead(campaign=webinar.pk)  # new, never handed off
    for n, lead in enumerate(leads[:6]):
        answered = lead.handed_off_at + timedelta(minutes=20 + 30 * n)  # late from n = 2
        if n == 5:
            lead_reject(lead=lead, actor=sales_rep, reason=reason, now=answered)
            continue
        lead = lead_accept(lead=lead, actor=sales_rep, now=answered)
        activity_log(lead=lead, actor=sales_rep, kind="call", now=answered + timedelta(hours=n))
        if n < 3:
            lead = lead_to_opportunity(
                lead=lead,
                actor=sales_rep,
                estimated_value=str(1500 * (n + 1)),
                next_step="Demo",
                now=answered + timedelta(hours=6),
            )
        if n == 0:
            lead_win(lead=lead, actor=sales_rep, now=answered + timedelta(hours=7))
        if n == 1:
            lead_lose(
                lead=lead, actor=sales_rep, reason=lost_reason, now=answered + timedelta(hours=7)
            )
    sla_sweep(now=now)
    return {"webinar": webinar, "ads": ads}


def _api_summary(client) -> dict[str, dict]:
    body = client.get("/api/v1/metrics/summary/").json()
    return {row["key"]: row for row in body["metrics"] if row["reason"] is None}


def test_every_metric_reads_the_same_everywhere(client, manager, one_data_set):
    client.force_login(manager)
    today = timezone.localdate()
    window = {"since": (today - timedelta(days=89)).isoformat(), "until": today.isoformat()}
    pages = {
        "dashboard": page_figures(client.get(reverse("dashboard")).content.decode()),
        "breach report": page_figures(client.get(reverse("sla:breaches"), window).content.decode()),
        "campaign page": page_figures(client.get(reverse("leads:campaigns")).content.decode()),
        "joint review": page_figures(
            client.get(
                reverse("sla:review"), {"period": f"{window['since']}..{window['until']}"}
            ).content.decode()
        ),
    }
    api = _api_summary(client)
    exported = csv_figures(client.get(reverse("dashboard_csv")).content.decode("utf-8-sig"))

    totals = {metric.key for metric in CATALOGUE} - NOT_A_TOTAL
    assert set(api) == set(exported) == totals
    for key in sorted(totals):
        shown = {api[key]["shown"]}
        assert exported[key]["shown"] == api[key]["shown"], key
        assert float(exported[key]["value"] or "nan") == pytest.approx(
            api[key]["value"] if api[key]["value"] is not None else float("nan"), nan_ok=True
        ), key
        on_pages = [name for name, figures in pages.items() if key in figures]
        assert on_pages, f"{key} is on no page"
        for name in on_pages:
            assert pages[name][key] == shown, f"{key} on the {name}"


def test_the_data_set_is_not_trivial(client, manager, one_data_set):
    """Each kind of figure holds a value worth comparing: a rate strictly between 0 and
    100, a duration, an amount with thousands separators in the one currency."""
    client.force_login(manager)
    api = _api_summary(client)
    assert (api["handed_off"]["value"], api["accepted"]["value"], api["rejected"]["value"]) == (
        8,
        5,
        1,
    )
    assert api["acceptance_rate"]["shown"] == "83.3%"
    assert api["acceptance_rate_all"]["shown"] == "62.5%"
    assert 0 < api["sla_compliance_accept"]["value"] < 100
    assert api["time_to_accept_median"]["unit"] == Unit.DURATION
    assert api["time_to_accept_median"]["value"] > 0
    assert api["campaign_spend"]["shown"] == "€13,345.67"
    assert api["won"]["value"] == 1 and api["win_rate"]["shown"] == "50.0%"
    assert api["breaches"]["value"] > 0


def test_each_label_names_one_metric_across_the_product(client, manager, one_data_set):
    """No two figures share a label: every label shown links to one metric, and it is that
    metric's label in the catalogue."""
    client.force_login(manager)
    pages = [
        reverse("dashboard"),
        reverse("sla:breaches"),
        reverse("leads:campaigns"),
        reverse("sla:policies"),
    ]
    shown: dict[str, set[str]] = {}
    for url in pages:
        for label, key in page_labels(client.get(url).content.decode()):
            shown.setdefault(label, set()).add(key)
            assert label == BY_KEY[key].label, url
    assert len(shown) > 20
    assert {label: keys for label, keys in shown.items() if len(keys) > 1} == {}
