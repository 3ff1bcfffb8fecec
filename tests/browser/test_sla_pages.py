"""SLA pages in the browser: breach review by a manager, notifications, role gates, hostile text."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.outbox import outbox_drain
from leads.services.transitions import lead_hand_off
from sla.models import Breach
from sla.sweep import sla_sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import SlaPolicyFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

XSS = "<script>alert(1)</script>"


@pytest.fixture
def breached(manager, marketer, sales_rep, make_lead):
    """Two leads handed off three days ago, never answered; the sweep has flagged them."""
    now = timezone.now()
    policy = SlaPolicyFactory(actor=manager, name=XSS, now=now - timedelta(days=4))
    for n, company in enumerate(("Initech", "Globex")):
        started = now - timedelta(days=3, hours=n)
        lead = make_lead(first_name="Ada", last_name=f"Lovelace {n}", company=company, now=started)
        lead_hand_off(
            lead=lead,
            actor=marketer,
            assignee=sales_rep,
            criteria=ALL_REQUIRED_CRITERIA,
            now=started,
        )
    sla_sweep(now=now)
    outbox_drain(now=now)
    return policy


def test_a_manager_acknowledges_a_breach_with_a_note(
    page, live_server, sign_in, screenshot, dialogs, manager, breached
):
    sign_in(manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Breaches").click()
    expect(page.get_by_role("heading", name="Breach report")).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart('chart-compliance-week')"
        " && Chart.getChart('chart-compliance-policy')"
    )
    expect(page.locator("#compliance-policy")).to_contain_text(XSS)
    expect(page.locator("#compliance-policy")).to_contain_text("0.0%")
    rows = page.locator("#breach-table tbody tr[data-acknowledged]")
    expect(rows).to_have_count(2)
    screenshot("breach-report")

    row = rows.first
    row.get_by_role("button", name="Acknowledge").click()  # empty: the browser asks for a note
    assert Breach.objects.filter(acknowledged_at__isnull=False).count() == 0
    row.get_by_role("textbox").fill(f"Rep was at a trade fair; cover arranged. {XSS}")
    row.get_by_role("button", name="Acknowledge").click()
    expect(row.get_by_role("status")).to_have_text("Breach acknowledged.")
    expect(row).to_have_attribute("data-acknowledged", "yes")
    expect(row.locator(".note")).to_have_text(f"Rep was at a trade fair; cover arranged. {XSS}")
    screenshot("breach-acknowledged")
    acknowledged = Breach.objects.get(acknowledged_at__isnull=False)
    assert acknowledged.acknowledged_by == manager

    page.get_by_label("Status").select_option("acknowledged")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    content = download.value.path().read_text()
    assert content.count("\n") == 2 and "trade fair" in content
    assert dialogs == []


def test_a_sales_rep_clears_notifications_and_reads_but_does_not_acknowledge_breaches(
    page, live_server, sign_in, screenshot, dialogs, sales_rep, breached
):
    sign_in(sales_rep)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Breaches")).to_have_count(1)
    expect(page.locator("#unread-count")).to_contain_text("2")
    nav.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.locator("#notifications li.unread")).to_have_count(2)
    screenshot("notifications")

    first = page.locator("#notifications li.unread").first
    first.get_by_role("button", name=re.compile(r"^Mark read")).click()
    expect(page.locator("#unread-count")).to_contain_text("1")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_role("status")).to_contain_text("1 notification marked read.")
    expect(page.locator("#unread-count")).to_have_count(0)
    expect(page.locator("#notifications li.unread")).to_have_count(0)
    page.locator("#notifications li").first.get_by_role("link").click()
    expect(page.locator("#lead-clocks")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Breaches").click()
    expect(page.get_by_role("heading", name="Breach report")).to_be_visible()
    rows = page.locator("#breach-table tbody tr[data-acknowledged]")
    expect(rows.first).to_contain_text("awaiting acknowledgement")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    screenshot("breach-report-read-only")
    assert dialogs == []


def test_the_policies_page_and_at_risk_view(
    page, live_server, sign_in, screenshot, dialogs, marketer, breached
):
    sign_in(marketer)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SLA").click()
    expect(page.locator("#policy-table")).to_contain_text(
        "Sales accepts or rejects a handed-over lead within 4 hours (around the clock)."
    )
    expect(page.locator("#policy-table")).to_contain_text(XSS)
    screenshot("sla-policies")
    page.goto(f"{live_server.url}/leads/")
    page.get_by_role("link", name="SLA at risk or past due").click()
    expect(page.locator("#lead-table tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Ada Lovelace 0").click()
    expect(page.locator("#lead-clocks tbody tr")).to_have_attribute("data-state", "breached")
    expect(page.locator("#lead-clocks")).to_contain_text("overdue by")
    screenshot("lead-detail-breached")
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator("#sla-clocks")).to_contain_text("Ada Lovelace 1")
    screenshot("dashboard-sla")
    assert dialogs == []
