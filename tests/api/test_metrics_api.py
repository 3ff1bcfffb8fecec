"""The metrics API: the catalogue, and every figure for a period with the dashboard's filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import ApiScope
from leads.services.transitions import lead_accept, lead_hand_off
from sla.metrics.catalogue import CATALOGUE
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def _values(response) -> dict[str, object]:
    assert response.status_code == 200, response.content
    return {row["key"]: row["value"] for row in response.json()["metrics"] if not row["reason"]}


def test_it_lists_the_catalogue(key_client) -> None:
    body = key_client([ApiScope.SLA_READ]).get("/api/v1/metrics/").json()
    assert [row["key"] for row in body] == [metric.key for metric in CATALOGUE]
    rate = next(row for row in body if row["key"] == "acceptance_rate")
    assert rate["unit"] == "percent" and "answered" in rate["label"]
    assert "accepted + rejected" in rate["formula"]


def test_labels_are_unique_across_the_catalogue() -> None:
    labels = [metric.label.lower() for metric in CATALOGUE]
    assert len(labels) == len(set(labels))


def test_the_default_period_is_the_dashboards(key_client, make_lead, marketer, sales_rep) -> None:
    now = timezone.now()
    recent = make_lead(now=now - timedelta(days=89))
    make_lead(now=now - timedelta(days=91))
    client = key_client([ApiScope.SLA_READ])
    body = client.get("/api/v1/metrics/summary/").json()
    assert body["period_to"] == timezone.localdate().isoformat()
    assert body["period_from"] == (timezone.localdate() - timedelta(days=89)).isoformat()
    assert _values(client.get("/api/v1/metrics/summary/"))["new_leads"] == 1
    lead_hand_off(lead=recent, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA)
    everything = {"from": "2000-01-01", "to": timezone.localdate().isoformat()}
    assert _values(client.get("/api/v1/metrics/summary/", everything))["new_leads"] == 2


def test_it_filters_like_the_dashboard(key_client, make_lead, marketer, sales_rep) -> None:
    campaign = CampaignFactory()
    for fields in ({"campaign": campaign.pk}, {}):
        lead = lead_hand_off(
            lead=make_lead(**fields),
            actor=marketer,
            assignee=sales_rep,
            criteria=ALL_REQUIRED_CRITERIA,
        )
    lead_accept(lead=lead, actor=sales_rep)
    client = key_client([ApiScope.SLA_READ])
    everyone = _values(client.get("/api/v1/metrics/summary/"))
    assert (everyone["handed_off"], everyone["accepted"]) == (2, 1)
    one = _values(client.get("/api/v1/metrics/summary/", {"campaign": campaign.pk}))
    assert (one["handed_off"], one["accepted"], one["acceptance_rate_all"]) == (1, 0, 0.0)
    theirs = _values(client.get("/api/v1/metrics/summary/", {"rep": sales_rep.pk}))
    assert theirs["handed_off"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"team": "finance"}, "team"),
        ({"rep": "x"}, "rep"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_filters_are_refused_by_name(key_client, query, field) -> None:
    response = key_client([ApiScope.SLA_READ]).get("/api/v1/metrics/summary/", query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert f"/{field}" in {error["pointer"] for error in response.json()["errors"]}


def test_a_key_needs_sla_read(key_client) -> None:
    response = key_client([ApiScope.LEADS_READ]).get("/api/v1/metrics/summary/")
    assert response.status_code == 403
