"""Campaigns run by marketing: created, edited, spend recorded by month, archived."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.errors import DomainError, ErrorCode
from leads.models import Campaign, CampaignEvent, CampaignSpend
from leads.periods import Period
from leads.services.campaigns import (
    campaign_archive,
    campaign_create,
    campaign_spend_record,
    campaign_update,
)
from sla.metrics.compute import MetricFilter, campaign_figures, campaign_months
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

MARCH = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
APRIL = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def webinar(marketer) -> Campaign:
    return campaign_create(
        actor=marketer, name="Spring webinar", channel="webinar", budget="5000", now=MARCH
    )


def test_spend_by_month_adds_up_and_cost_per_lead_follows_it(webinar, marketer, make_lead):
    make_lead(campaign=webinar.pk, now=MARCH)
    make_lead(campaign=webinar.pk, now=MARCH)
    make_lead(campaign=webinar.pk, now=APRIL)
    campaign_spend_record(
        actor=marketer, campaign=webinar, month=date(2026, 3, 17), amount="600", now=MARCH
    )
    campaign_spend_record(
        actor=marketer, campaign=webinar, month=date(2026, 4, 1), amount="900", now=APRIL
    )
    everything = MetricFilter(period=Period.last_days(None, APRIL))
    webinar.refresh_from_db()
    (row,), _ = campaign_figures(everything, [webinar])
    figures = {key: figure.value for key, figure in row.figures.items()}
    assert (figures["campaign_spend"], figures["campaign_leads"], figures["cost_per_lead"]) == (
        Decimal("1500.00"),
        3,
        Decimal("500.00"),
    )
    assert [(m.month, m.spend, m.leads, m.cost_per_lead) for m in campaign_months(webinar)] == [
        (date(2026, 4, 1), Decimal("900.00"), 1, Decimal("900.00")),
        (date(2026, 3, 1), Decimal("600.00"), 2, Decimal("300.00")),
    ]
    # Recording a month again replaces it; the total follows.
    campaign = campaign_spend_record(
        actor=marketer, campaign=webinar, month=date(2026, 3, 1), amount="300", now=APRIL
    )
    assert campaign.spend == Decimal("1200.00")
    spend_events = webinar.events.filter(kind=CampaignEvent.Kind.SPEND)
    assert spend_events.values_list("changes", flat=True).first() == {
        "month": "2026-03",
        "amount": ["600.00", "300.00"],
    }


def test_a_total_spend_from_the_api_moves_this_months_spend(webinar, marketer):
    campaign_spend_record(
        actor=marketer, campaign=webinar, month=date(2026, 3, 1), amount="600", now=MARCH
    )
    campaign = campaign_update(actor=marketer, campaign=webinar, spend="1000", now=APRIL)
    assert campaign.spend == Decimal("1000.00")
    assert dict(campaign.spends.values_list("month", "amount")) == {
        date(2026, 3, 1): Decimal("600.00"),
        date(2026, 4, 1): Decimal("400.00"),
    }
    with pytest.raises(DomainError) as err:
        campaign_update(actor=marketer, campaign=webinar, spend="100", now=APRIL)
    assert err.value.field == "spend"
    assert Campaign.objects.get(pk=webinar.pk).spend == Decimal("1000.00")


@pytest.mark.parametrize(
    ("amount", "field"),
    [("-1", "amount"), ("abc", "amount"), ("1e20", "amount"), (None, "amount")],
)
def test_it_refuses_bad_spend_and_saves_nothing(webinar, marketer, amount, field):
    with pytest.raises(DomainError) as err:
        campaign_spend_record(
            actor=marketer, campaign=webinar, month=date(2026, 3, 1), amount=amount
        )
    assert err.value.field == field
    assert not CampaignSpend.objects.exists()


def test_sales_cannot_manage_campaigns(webinar, sales_rep):
    with pytest.raises(DomainError) as err:
        campaign_spend_record(
            actor=sales_rep, campaign=webinar, month=date(2026, 3, 1), amount="10"
        )
    assert err.value.code == ErrorCode.FORBIDDEN
    with pytest.raises(DomainError):
        campaign_archive(actor=sales_rep, campaign=webinar)
    assert Campaign.objects.get(pk=webinar.pk).archived_at is None


def test_it_refuses_a_stale_campaign_edit(webinar, marketer, manager):
    campaign_update(actor=manager, campaign=webinar, expected_version=1, budget="6000")
    with pytest.raises(DomainError) as err:
        campaign_update(actor=marketer, campaign=webinar, expected_version=1, budget="7000")
    assert err.value.code == ErrorCode.STALE
    assert Campaign.objects.get(pk=webinar.pk).budget == Decimal("6000.00")


def test_an_archived_campaign_keeps_its_leads_but_new_leads_cannot_pick_it(
    client, webinar, marketer, make_lead
):
    lead = make_lead(campaign=webinar.pk)
    campaign_archive(actor=marketer, campaign=webinar)
    client.force_login(marketer)
    new_form = client.get(reverse("leads:new")).content.decode()
    assert "Spring webinar" not in new_form
    detail = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Spring webinar" in detail
    listing = client.get(reverse("leads:campaigns")).content.decode()
    assert "archived" in listing
    # Leads created through the services (API, import) still take it by id.
    assert make_lead(campaign=webinar.pk).campaign_id == webinar.pk


def test_a_marketer_creates_edits_and_records_spend_through_the_pages(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("leads:campaign_new"),
        {"name": "Partner event", "channel": "event", "budget": "2000", "starts_on": "2026-03-01"},
    )
    campaign = Campaign.objects.get(name="Partner event")
    assert response["Location"] == reverse("leads:campaign", args=[campaign.pk])
    client.post(
        reverse("leads:campaign_edit", args=[campaign.pk]),
        {"name": "Partner event", "channel": "event", "budget": "2500", "version": 1},
    )
    client.post(
        reverse("leads:campaign_spend", args=[campaign.pk]), {"month": "2026-03", "amount": "750"}
    )
    campaign.refresh_from_db()
    assert (campaign.budget, campaign.spend) == (Decimal("2500.00"), Decimal("750.00"))
    page = client.get(reverse("leads:campaign", args=[campaign.pk])).content.decode()
    assert "March 2026" in page and "Spend recorded by Mia" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "channel": "event"}, "This field is required."),
        ({"name": "Late", "channel": "event", "starts_on": "2026-05-01",
          "ends_on": "2026-04-01"}, "ends_on is before starts_on."),
        ({"name": "Taken", "channel": "event"}, "A campaign named &#x27;Taken&#x27; exists."),
        ({"name": "Pricey", "channel": "event", "budget": "-5"}, "greater than or equal to 0"),
        ({"name": "Odd", "channel": "carrier-pigeon"}, "Select a valid choice."),
    ],
)  # fmt: skip
def test_the_campaign_form_refuses_bad_input_and_keeps_it(client, marketer, data, message):
    CampaignFactory(name="Taken")
    client.force_login(marketer)
    response = client.post(reverse("leads:campaign_new"), data)
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    if data["name"]:
        assert f'value="{data["name"]}"' in page
    assert Campaign.objects.count() == 1


def test_the_spend_form_refuses_a_bad_month_with_its_message(client, marketer, webinar):
    client.force_login(marketer)
    response = client.post(
        reverse("leads:campaign_spend", args=[webinar.pk]), {"month": "2026-13", "amount": "9"}
    )
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()
    assert not CampaignSpend.objects.exists()


def test_a_sales_rep_gets_no_campaign_forms(client, sales_rep, webinar):
    client.force_login(sales_rep)
    assert client.get(reverse("leads:campaign_new")).status_code == 403
    url = reverse("leads:campaign_spend", args=[webinar.pk])
    assert client.post(url, {"month": "2026-03", "amount": "9"}).status_code == 403
    page = client.get(reverse("leads:campaign", args=[webinar.pk])).content.decode()
    assert "Record spend" not in page


def test_the_campaign_page_runs_a_constant_number_of_queries(client, marketer, webinar, make_lead):
    client.force_login(marketer)
    url = reverse("leads:campaign", args=[webinar.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for month in range(1, 7):
        campaign_spend_record(
            actor=marketer, campaign=webinar, month=date(2026, month, 1), amount=100 * month
        )
        make_lead(campaign=webinar.pk, now=datetime(2026, month, 5, tzinfo=UTC))
    assert count() == few


def test_the_edit_form_shows_the_campaigns_dates_to_the_date_picker(client, marketer):
    """The browser's date input reads only YYYY-MM-DD: in the site's format (01/03/2026) the
    picker stayed empty, and saving the form cleared the dates."""
    campaign = CampaignFactory(starts_on=date(2026, 3, 1), ends_on=date(2026, 4, 30))
    client.force_login(marketer)
    page = client.get(reverse("leads:campaign_edit", args=[campaign.pk])).content.decode()
    assert 'type="date" name="starts_on" value="2026-03-01"' in page
    assert 'type="date" name="ends_on" value="2026-04-30"' in page
