"""The agreement edited in the app: definitions published and compared from the pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from leads.models import StageDefinition

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_a_manager_publishes_the_next_definition_and_sees_the_diff(
    page, live_server, sign_in, screenshot, manager
):
    sign_in(manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Definitions").click()
    page.get_by_role("link", name="publish a new version").nth(1).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Qualified: publish version 2")
    page.get_by_label("Criterion 2", exact=True).fill("Budget confirmed by the buyer")
    page.get_by_label("Criterion 5 required").check()
    page.get_by_label("Criterion 3 remove").check()
    page.get_by_label("Criterion 6", exact=True).fill("Uses a CRM today")
    screenshot("definition-publish")
    page.get_by_role("button", name="Publish version 2").click()

    expect(page.get_by_role("status")).to_contain_text("Version 2 published.")
    diff = page.locator("#definition-diff")
    expect(diff).to_contain_text("Version 1 → version 2")
    expect(diff.locator(".diff-added")).to_contain_text("Uses a CRM today")
    expect(diff.locator(".diff-removed")).to_contain_text("Talking to a decision maker")
    expect(diff.locator(".diff-changed")).to_contain_text("Budget confirmed by the buyer")
    expect(diff.locator(".diff-changed")).to_contain_text("now required (was optional)")
    versions = page.locator("#definition-versions tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text(manager.display_name)
    screenshot("definition-diff")
    current = StageDefinition.objects.get(stage="qualified", is_current=True)
    assert current.version == 2 and current.criteria.count() == 5
