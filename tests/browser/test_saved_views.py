"""A saved view in the browser: saved once, there again after signing out and back in."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import LeadFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_a_saved_view_is_reopened_after_sign_out(
    page, live_server, sign_in, screenshot, dialogs, sales_rep
):
    LeadFactory(first_name="Zed", company="Zeta Freight")
    LeadFactory(first_name="Abe", company="Alpha Mills")
    LeadFactory(first_name="Won", company="Omega", stage="won", owner_team="sales")
    sign_in(sales_rep)
    page.goto(f"{live_server.url}/leads/?stage=engaged&ordering=company")
    expect(page.locator("#lead-table tbody tr")).to_have_count(2)
    page.get_by_text("Save these filters as a view").click()
    page.get_by_label("Name").fill("Engaged by company")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator("#messages")).to_contain_text("saved")
    screenshot("lead-list-saved-view")
    page.set_viewport_size({"width": 820, "height": 1180})
    screenshot("lead-list-saved-view-tablet")
    page.set_viewport_size({"width": 1366, "height": 900})

    page.get_by_role("button", name="Sign out").click()
    sign_in(sales_rep)
    page.goto(f"{live_server.url}/leads/")
    page.get_by_role("link", name="Engaged by company").click()
    rows = page.locator("#lead-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Alpha Mills")
    expect(rows.nth(1)).to_contain_text("Zeta Freight")
    expect(page.get_by_role("link", name="Engaged by company")).to_have_attribute(
        "aria-current", "true"
    )
    assert dialogs == []
