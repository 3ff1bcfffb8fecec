"""The hand-off seen through the browser: marketing logs and hands off, sales accepts and calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from sla.models import SlaGoal
from tests.factories import SlaPolicyFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def response_policies(manager) -> None:
    """Around-the-clock promises, so the clocks do not depend on when the test runs."""
    SlaPolicyFactory(actor=manager, name="Sales accepts within 4 hours")
    SlaPolicyFactory(
        actor=manager,
        name="First touch within 8 hours",
        goal=SlaGoal.FIRST_TOUCH,
        target=timedelta(hours=8),
    )


def test_marketer_hands_off_and_sales_rep_accepts_and_logs_a_call(
    page, live_server, sign_in, screenshot, marketer, sales_rep, response_policies
):
    sign_in(marketer)
    page.get_by_role("main").get_by_role("link", name="New lead").click()
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Email").fill("grace@navy.example")
    page.get_by_label("Company").fill("Navy Labs")
    screenshot("new-lead")
    page.get_by_role("button", name="Create lead").click()
    expect(page.get_by_role("status")).to_contain_text("Lead created.")
    expect(page.locator("#lead-stage")).to_have_text("Engaged")

    # Handing off without the criteria is refused with the definition's words.
    page.get_by_role("button", name="Hand off", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Cannot hand off")
    for label in (
        "Company fits an ideal customer profile",
        "Budget confirmed or likely",
        "Talking to a decision maker",
        "A specific need or pain identified",
    ):
        page.get_by_label(label).check()
    page.get_by_label("Assign to").select_option(str(sales_rep.pk))
    page.get_by_role("button", name="Hand off", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Lead handed off to sales.")
    expect(page.locator("#lead-stage")).to_have_text("Qualified")
    clocks = page.locator("#lead-clocks tbody tr")
    expect(clocks).to_have_count(2)
    expect(clocks.first).to_have_attribute("data-state", "running")
    expect(page.locator("#lead-clocks")).to_contain_text("left")
    lead = Lead.objects.get(email="grace@navy.example")
    assert lead.owner == sales_rep

    sign_in(sales_rep)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").click()
    page.get_by_role("link", name="Waiting for my acceptance").click()
    screenshot("leads-waiting")
    page.get_by_role("link", name="Grace Hopper").click()
    page.get_by_role("button", name="Accept lead").click()
    expect(page.get_by_role("status")).to_contain_text("Lead accepted.")
    page.get_by_label("Kind").select_option("call")
    page.get_by_label("Summary").fill("Intro call: budget confirmed for Q1.")
    page.get_by_role("button", name="Log", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Call logged.")
    expect(page.locator("#timeline")).to_contain_text("Intro call: budget confirmed for Q1.")
    expect(page.locator("#timeline")).to_contain_text("First touch by the assigned rep.")
    expect(clocks).to_have_count(2)
    for row in clocks.all():
        expect(row).to_have_attribute("data-state", "met")
        expect(row.get_by_text("met", exact=True)).to_be_visible()
    screenshot("lead-detail")
    lead.refresh_from_db()
    assert lead.accepted_by == sales_rep and lead.first_touch_at is not None
