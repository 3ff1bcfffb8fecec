"""The agreement edited in the app (definitions, campaigns and their spend) and the
notifications people read, through the browser."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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
    expect(cost).to_have_text("€0.00")

    month = timezone.localdate().strftime("%Y-%m")
    page.get_by_role("textbox", name="Month (required)", exact=True).fill(month)
    page.get_by_label("Spend in that month").fill("1000")
    page.get_by_role("button", name="Record spend").click()
    expect(page.get_by_role("status")).to_contain_text("recorded")
    expect(cost).to_have_text("€250.00")

    page.get_by_role("textbox", name="Month (required)", exact=True).fill(month)
    page.get_by_label("Spend in that month").fill("1800")
    page.get_by_role("button", name="Record spend").click()
    expect(cost).to_have_text("€450.00")
    expect(page.locator("#campaign-months tbody tr").first).to_contain_text("450.00")
    expect(page.locator("#campaign-history")).to_contain_text("Spend recorded by Mia")
    screenshot("campaign-spend")


def test_a_rep_reads_a_notification_in_their_zone_and_opens_the_lead(
    page, live_server, sign_in, screenshot, manager, make_lead, marketer, sales_rep
):
    from crm.outbox import outbox_drain
    from crm.services import user_preferences_update
    from leads.services.transitions import lead_hand_off
    from sla.sweep import sla_sweep
    from tests.conftest import ALL_REQUIRED_CRITERIA
    from tests.factories import SlaPolicyFactory

    handed_at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    SlaPolicyFactory(actor=manager, name="Accept within 4 hours", now=handed_at)
    lead = make_lead(first_name="Priya", last_name="Raman", company="Northwind", now=handed_at)
    lead_hand_off(
        lead=lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA,
        now=handed_at,
    )  # fmt: skip
    user_preferences_update(actor=sales_rep, user=sales_rep, time_zone="America/New_York")
    later = handed_at + timedelta(hours=6)
    sla_sweep(now=later)
    outbox_drain(now=later)

    sign_in(sales_rep)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications").click()
    expect(page.get_by_text("Times in America/New_York")).to_be_visible()
    group = page.locator(f'[data-lead="{lead.pk}"]')
    expect(group.get_by_role("heading")).to_have_text("Priya Raman (Northwind)")
    expect(group).to_contain_text(f"{sales_rep.display_name} has not accepted Priya Raman")
    expect(group.locator(".due time")).to_have_text("2 Mar, 09:00 EST")
    screenshot("notifications")
    group.get_by_role("button", name=re.compile("^Sam .* has not accepted Priya Raman")).click()
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.locator("#lead-name")).to_have_text("Priya Raman")


def test_a_manager_edits_a_policy_and_is_told_running_clocks_keep_their_due_time(
    page, live_server, sign_in, screenshot, manager, make_lead, marketer, sales_rep
):
    from leads.services.transitions import lead_hand_off
    from sla.models import SlaClock
    from tests.conftest import ALL_REQUIRED_CRITERIA
    from tests.factories import SlaPolicyFactory

    policy = SlaPolicyFactory(actor=manager, name="Accept within 4 hours")
    lead = make_lead()
    lead_hand_off(lead=lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA)
    running = SlaClock.objects.get(lead=lead, policy=policy)
    sign_in(manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SLA").click()
    page.get_by_role("link", name="Edit Accept within 4 hours").click()
    expect(page.locator("#applies-to-new-clocks")).to_contain_text(
        "Clocks already running keep the target and due time they started with"
    )
    page.get_by_label("Target (hours)").fill("0")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator(".field.invalid")).to_contain_text("target must be longer than zero")
    expect(page.get_by_label("Target (hours)")).to_have_value("0")
    page.get_by_label("Target (hours)").fill("6")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("status")).to_contain_text("clocks already running keep their due time")
    screenshot("policy-saved")
    policy.refresh_from_db()
    assert policy.target == timedelta(hours=6)
    # What the page said: the clock already running kept its target and due time.
    kept = SlaClock.objects.get(pk=running.pk)
    assert (kept.target, kept.due_at) == (running.target, running.due_at)


def test_a_manager_edits_a_commitment_and_reads_the_change_in_its_history(
    page, live_server, sign_in, screenshot, manager, monthly_commitment
):
    sign_in(manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SLA").click()
    page.get_by_role("link", name="Edit 120 SQLs a month").click()
    expect(page.locator("#commitment-from-now-on")).to_contain_text(
        "periods already closed keep their results"
    )
    target = page.get_by_label("Qualified leads handed over, at least")
    target.fill("0")
    page.get_by_role("button", name="Save commitment").click()
    expect(page.locator(".field.invalid")).to_contain_text("whole number above zero")
    expect(target).to_have_value("0")
    target.fill("150")
    page.get_by_role("button", name="Save commitment").click()
    expect(page.get_by_role("status")).to_contain_text("periods already closed keep their results")
    page.get_by_role("link", name="Edit 120 SQLs a month").click()
    expect(page.locator("#commitment-history")).to_contain_text(
        "Qualified leads handed over, at least 120 → 150"
    )
    screenshot("commitment-history")


def test_a_rep_chooses_a_daily_digest_at_their_hour(
    page, live_server, sign_in, screenshot, sales_rep
):
    from crm.models import User

    sign_in(sales_rep)
    page.get_by_role("link", name=sales_rep.display_name).click()
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_label("One e-mail a day, at the hour chosen").check()
    page.get_by_label("Daily e-mail at").select_option("7")
    screenshot("settings-digest")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved.")
    expect(page.get_by_label("One e-mail a day, at the hour chosen")).to_be_checked()
    fresh = User.objects.get(pk=sales_rep.pk)
    assert (fresh.time_zone, fresh.email_digest, fresh.email_digest_hour) == (
        "America/New_York",
        "daily",
        7,
    )
