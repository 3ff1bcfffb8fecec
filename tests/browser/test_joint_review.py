"""The joint review in a browser: a manager records a decision during the meeting, the next
week's review lists it open above the closed ones, and a marketer reads why sales rejected
their campaign's leads. Screenshots at 1366 and 820 px, on screen and printed."""

from __future__ import annotations

import pytest
import time_machine
from playwright.sync_api import expect

from sla.models import ReviewDecision
from tests.sla.review_world import AFTER, WEEK, build_review_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(manager, marketer, sales_rep, make_lead):
    with time_machine.travel(AFTER, tick=True):
        yield build_review_world(
            manager=manager, marketer=marketer, sales_rep=sales_rep, make_lead=make_lead
        )


def test_a_manager_records_a_decision_and_the_next_review_shows_it_open(
    page, live_server, sign_in, screenshot, world, manager, marketer
):
    sign_in(manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Week 48, 2026")
    expect(page.locator('#headline-handed_off [data-metric="handed_off"]').first).to_have_text("6")
    expect(page.locator('[data-change="handed_off"]')).to_contain_text("+5")
    form = page.locator("#decision-form")
    form.get_by_label("Decision or action").fill("Add company size to the webinar form")
    form.get_by_label("Owner").select_option(label=f"{marketer.display_name} (Marketer)")
    form.get_by_label("Due").fill("2026-12-11")
    form.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status")).to_contain_text("Decision recorded")
    decision = ReviewDecision.objects.get(text="Add company size to the webinar form")
    assert decision.period == WEEK and decision.recorded_by == manager
    expect(page.locator(f"#decision-{decision.pk}")).to_have_attribute("data-status", "open")
    screenshot("joint-review-1366")

    page.get_by_role("link", name="Week 49, 2026").click()
    rows = page.locator("#decision-table tbody tr")
    expect(rows).to_have_count(2)  # the two open ones; the one closed in week 48 is not
    statuses = rows.evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses == ["open", "open"]
    expect(page.locator(f"#decision-{decision.pk}")).to_contain_text("Mia")


def test_a_marketer_reads_why_their_campaigns_leads_came_back(
    page, live_server, sign_in, screenshot, world, marketer
):
    page.set_viewport_size({"width": 820, "height": 1000})
    sign_in(marketer)
    page.goto(f"{live_server.url}/review/?period={WEEK}")
    rejected = page.locator("#rejected-groups tbody tr").first
    expect(rejected).to_contain_text("Too small")
    expect(rejected).to_contain_text("Autumn webinar")
    expect(rejected.locator('[data-metric="rejected_by_reason"]')).to_have_text("2")
    expect(page.locator("#decision-form")).to_have_count(0)
    screenshot("joint-review-820")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("#review-period")).to_be_hidden()
    screenshot("joint-review-print")
