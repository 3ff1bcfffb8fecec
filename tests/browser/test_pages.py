"""Every main page in the browser: rendered, screenshotted, safe with hostile data, role-gated."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from leads.services.leads import LeadInput, lead_create
from tests.factories import CampaignFactory, PersonaFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def some_leads(marketer, make_lead):
    webinar = CampaignFactory(name="Webinar: Pipeline Hygiene", spend=Decimal("4200"))
    paid = CampaignFactory(name="LinkedIn Ads Q4", channel="paid_social", spend=Decimal("7800"))
    persona = PersonaFactory(name="Head of Revenue Operations", description="Owns the CRM budget.")
    for n in range(12):
        make_lead(
            company=f"Company {n}",
            campaign=(webinar if n % 2 else paid).pk,
            persona=persona.pk if n % 3 == 0 else None,
        )


def test_a_lead_named_with_a_script_tag_is_shown_as_text(
    page, live_server, sign_in, dialogs, marketer
):
    lead = lead_create(
        actor=marketer,
        data=LeadInput(email="xss@example.com", first_name="<script>alert(1)</script>"),
    )
    sign_in(marketer)
    page.goto(f"{live_server.url}/leads/")
    expect(page.get_by_role("link", name="<script>alert(1)</script>")).to_be_visible()
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.locator("#lead-name")).to_have_text("<script>alert(1)</script>")
    assert dialogs == []


def test_a_sales_rep_cannot_reach_pages_outside_their_role(page, live_server, sign_in, sales_rep):
    sign_in(sales_rep)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Import")).to_have_count(0)
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    response = page.goto(f"{live_server.url}/leads/import/")
    assert response is not None and response.status == 403


def test_the_skip_link_and_focus_are_visible_from_the_keyboard(page, live_server, sign_in, manager):
    sign_in(manager)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"


def test_main_pages_render_for_a_manager(
    page, live_server, sign_in, screenshot, manager, some_leads
):
    sign_in(manager)
    expect(page.get_by_role("heading", name="My work", exact=True)).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Pipeline by stage")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("bar chart"))).to_have_count(2)
    expect(page.locator("#funnel-table")).to_contain_text("New leads")
    screenshot("dashboard")

    page.get_by_label("Campaign").select_option(label="LinkedIn Ads Q4")
    expect(page).to_have_url(re.compile(r"campaign=\d+"))
    expect(page.locator("#funnel-table tbody tr").first).to_contain_text("6")

    for path, heading, name in (
        ("/leads/", "Leads", "leads"),
        ("/campaigns/", "Campaigns", "campaigns"),
        ("/definitions/", "Definitions", "definitions"),
        ("/leads/import/", "Import leads from CSV", "import"),
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        screenshot(name)
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{live_server.url}/dashboard/")
    screenshot("dashboard-tablet")
