"""Availability and exemptions in the browser: a rep records an absence and a hand-off made
during it goes to someone else, the lead page saying why; a rep asks to exempt a breach and
another manager approves it, the breach staying listed beside the adjusted figure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.services.transitions import lead_hand_off
from sla.sweep import sla_sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import ManagerFactory, SlaPolicyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE, NARROW = {"width": 1366, "height": 900}, {"width": 820, "height": 1180}


def test_a_rep_away_is_skipped_and_the_lead_page_says_why(
    page, live_server, sign_in, screenshot, manager, marketer, sales_rep, other_sales_rep,
    make_lead,
):  # fmt: skip
    SlaPolicyFactory(actor=manager)
    today = timezone.localdate()
    sign_in(sales_rep)
    page.goto(f"{live_server.url}/sla/availability/")
    page.get_by_label("First day away").fill(today.isoformat())
    page.get_by_label("Last day away").fill((today + timedelta(days=2)).isoformat())
    page.get_by_label("Note").fill("Conference")
    page.get_by_role("button", name="Add absence").click()
    expect(page.locator(f"#rep-{sales_rep.pk}")).to_have_attribute("data-away", "yes")
    screenshot("availability-1366")
    page.set_viewport_size(NARROW)
    screenshot("availability-820")
    page.set_viewport_size(WIDE)

    lead = make_lead(company="Initech")
    sign_in(marketer)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.get_by_label("Assign to")).to_contain_text(
        f"Next rep in rotation: {other_sales_rep.display_name}"
    )
    for label in (
        "Company fits an ideal customer profile",
        "Budget confirmed or likely",
        "Talking to a decision maker",
        "A specific need or pain identified",
    ):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Hand off", exact=True).click()
    routing = page.locator("[data-routing]")
    expect(routing).to_contain_text(f"Round robin chose {other_sales_rep.display_name}")
    expect(routing).to_contain_text(f"skipped {sales_rep.display_name}: out of office until")
    screenshot("lead-routing-1366")


def test_a_rep_asks_for_an_exemption_and_a_manager_approves_it(
    page, live_server, sign_in, screenshot, manager, marketer, sales_rep, make_lead
):
    now = timezone.now()
    SlaPolicyFactory(actor=manager, now=now - timedelta(days=4))
    started = now - timedelta(days=3)
    lead = make_lead(first_name="Ada", last_name="Lovelace", company="Globex", now=started)
    lead_hand_off(
        lead=lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA, now=started
    )
    sla_sweep(now=now)
    approver = ManagerFactory(username="mo.manager", first_name="Mo")

    sign_in(sales_rep)
    page.goto(f"{live_server.url}/sla/breaches/?owner=")
    row = page.locator("#breach-table tbody tr[data-acknowledged]").first
    row.get_by_text("Ask for an exemption").click()
    row.get_by_label("Reason").select_option(label="Customer asked to be contacted later")
    row.get_by_label("What happened").fill("She asked us to call after her holiday.")
    row.get_by_role("button", name="Ask a manager").click()
    exemption = page.locator(".exemption").first
    expect(exemption).to_have_attribute("data-exemption", "requested")
    expect(exemption).to_contain_text("Exemption asked for; a manager decides.")
    screenshot("exemption-requested-1366")

    sign_in(approver)
    page.goto(f"{live_server.url}/sla/breaches/")
    row = page.locator("#breach-table tbody tr[data-acknowledged]").first
    row.get_by_label("Decision note").fill("Confirmed with the customer's e-mail.")
    row.get_by_role("button", name="Approve exemption").click()
    expect(page.locator(".exemption").first).to_have_attribute("data-exemption", "approved")
    page.reload()
    stats = page.locator("#breach-stats")
    expect(stats.locator('[data-metric="sla_compliance"]')).to_contain_text("0.0%")
    expect(stats.locator('[data-metric="sla_compliance_adjusted"]')).to_contain_text("—")
    expect(page.locator("#breach-table")).to_contain_text("exemption approved")
    screenshot("exemption-approved-1366")
    page.set_viewport_size(NARROW)
    screenshot("exemption-approved-820")
