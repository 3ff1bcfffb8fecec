"""The agreement edited in the app: definitions, campaigns and their spend, from the pages."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import Campaign, StageDefinition

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


def test_a_marketer_creates_a_campaign_and_its_cost_per_lead_follows_spend(
    page, live_server, sign_in, screenshot, marketer, make_lead
):
    sign_in(marketer)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Autumn roadshow")
    page.get_by_label("Channel").select_option("event")
    page.get_by_label("Budget").fill("5000")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("status")).to_contain_text("Campaign created.")
    campaign = Campaign.objects.get(name="Autumn roadshow")
    for _ in range(4):
        make_lead(campaign=campaign.pk)
    page.reload()
    cost = page.locator('[data-metric="cost_per_lead"]')
    expect(cost).to_have_text("0.00")

    month = timezone.localdate().strftime("%Y-%m")
    page.get_by_role("textbox", name="Month").fill(month)
    page.get_by_label("Spend in that month").fill("1000")
    page.get_by_role("button", name="Record spend").click()
    expect(page.get_by_role("status")).to_contain_text("recorded")
    expect(cost).to_have_text("250.00")

    page.get_by_role("textbox", name="Month").fill(month)
    page.get_by_label("Spend in that month").fill("1800")
    page.get_by_role("button", name="Record spend").click()
    expect(cost).to_have_text("450.00")
    expect(page.locator("#campaign-months tbody tr").first).to_contain_text("450.00")
    expect(page.locator("#campaign-history")).to_contain_text("Spend recorded by Mia")
    screenshot("campaign-spend")
