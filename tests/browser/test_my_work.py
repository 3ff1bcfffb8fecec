"""My work in the browser: a rep's queue by urgency, a manager reassigning from a breach row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import Lead
from leads.services.transitions import lead_hand_off
from sla.sweep import sla_sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import SlaPolicyFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def queue(manager, marketer, sales_rep, make_lead):
    """Three leads handed to the rep: one overdue, one at risk, one just in; swept."""
    now = timezone.now()
    SlaPolicyFactory(actor=manager, name="Accept within 4 hours", now=now - timedelta(days=1))
    leads = {}
    for name, hours in (("Fresh", 0.5), ("Overdue", 6), ("Risky", 3.5)):
        at = now - timedelta(hours=hours)
        lead = make_lead(first_name=name, last_name="Lead", now=at - timedelta(minutes=1))
        leads[name] = lead_hand_off(
            lead=lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA, now=at
        )
    sla_sweep(now=now)
    return leads


def test_a_rep_lands_on_my_work_with_the_overdue_lead_first(
    page, live_server, sign_in, screenshot, dialogs, sales_rep, queue
):
    sign_in(sales_rep)
    expect(page.get_by_role("heading", name="My work", exact=True)).to_be_visible()
    rows = page.locator("#my-queue tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Overdue Lead")
    expect(rows.nth(0)).to_contain_text("overdue by 2 h")
    expect(rows.nth(1)).to_contain_text("Risky Lead")
    expect(rows.nth(1)).to_contain_text("at risk")
    expect(rows.nth(2)).to_contain_text("Fresh Lead")
    assert rows.nth(0).locator(".due").get_attribute("title").startswith("Due ")
    screenshot("my-work-rep")
    page.set_viewport_size({"width": 820, "height": 1180})
    screenshot("my-work-rep-tablet")
    page.get_by_role("link", name="shared dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    assert dialogs == []


def test_a_manager_reassigns_from_a_breach_row(
    page, live_server, sign_in, screenshot, dialogs, manager, other_sales_rep, queue
):
    overdue = queue["Overdue"]
    sign_in(manager)
    row = page.locator("#my-breaches tbody tr").filter(has_text="Overdue Lead")
    expect(row).to_have_count(1)
    screenshot("my-work-manager")
    row.get_by_label("New sales rep for Overdue Lead").select_option(str(other_sales_rep.pk))
    row.get_by_label("Why Overdue Lead is reassigned").fill("Sam is off sick today")
    row.get_by_role("button", name="Reassign").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("#messages")).to_contain_text("Lead reassigned.")
    assert Lead.objects.get(pk=overdue.pk).owner == other_sales_rep
    load = page.locator(f'#rep-load tr[data-rep="{other_sales_rep.pk}"]')
    expect(load.locator("td").nth(1)).to_have_text("1")
    page.set_viewport_size({"width": 820, "height": 1180})
    screenshot("my-work-manager-tablet")
    assert dialogs == []
