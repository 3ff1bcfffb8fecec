"""The header's jump-to-lead box in a real browser: suggestions as you type, the keyboard,
a refused term's message, and Enter listing every match."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import LeadFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_it_suggests_leads_as_you_type_and_opens_one_from_the_keyboard(
    page, live_server, sign_in, marketer, screenshot
):
    wanted = LeadFactory(first_name="Ines", last_name="Okafor", company="Delta Foods")
    LeadFactory(first_name="Ivan", last_name="Okafo", company="Other Corp")
    LeadFactory(first_name="Nobody", last_name="Else", company="Elsewhere")
    sign_in(marketer)

    box = page.get_by_label("Find a lead")
    box.press_sequentially("okafor", delay=30)
    suggestions = page.locator("#jump-results")
    expect(suggestions.get_by_role("status")).to_have_text("1 best match for “okafor”")
    expect(suggestions.get_by_role("link", name=re.compile("Ines Okafor"))).to_be_visible()
    expect(suggestions.get_by_text("Nobody")).to_have_count(0)
    expect(box).to_have_attribute("aria-expanded", "true")
    screenshot("jump-box")

    box.press("ArrowDown")
    expect(suggestions.get_by_role("link", name=re.compile("Ines Okafor"))).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(suggestions.get_by_role("link", name=re.compile("All leads matching"))).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/leads/{wanted.pk}/")

    box = page.get_by_label("Find a lead")
    box.fill("okaf")
    expect(suggestions.get_by_role("status")).to_have_text("2 best matches for “okaf”")
    box.press("Escape")
    expect(suggestions.get_by_role("link")).to_have_count(0)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/leads/\?q=okaf$"))
    expect(page.locator("#lead-table tbody").get_by_role("link")).to_have_count(2)


def test_it_says_why_a_term_is_refused(page, live_server, sign_in, marketer):
    sign_in(marketer)

    box = page.get_by_label("Find a lead")
    # maxlength stops typing at 200; a pasted or scripted value can still carry more.
    box.evaluate("(el) => { el.removeAttribute('maxlength'); el.value = 'x'.repeat(300); }")
    box.dispatch_event("input")

    expect(page.locator("#jump-results").get_by_role("alert")).to_contain_text(
        "at most 200 characters"
    )
