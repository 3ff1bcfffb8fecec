"""The layout on a desktop (1366 px) and a tablet (820 px): the header on one row or behind a
menu, the lead's actions above its timeline and above the fold, wide tables scrolling inside
their card, the branded error pages."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import expect

from tests.factories import LeadFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1366, "height": 900}


def _nav_rows(page) -> set[float]:
    return set(
        page.eval_on_selector_all(
            "#main-nav a", "links => links.map(a => Math.round(a.getBoundingClientRect().top))"
        )
    )


def test_the_header_keeps_one_row_on_a_desktop_and_a_menu_on_a_tablet(
    page, live_server, sign_in, screenshot, manager
):
    sign_in(manager)
    page.goto(f"{live_server.url}/leads/")
    assert len(_nav_rows(page)) == 1, "the navigation wraps at 1366 px"
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()

    page.set_viewport_size(TABLET)
    header = page.locator("header.top").bounding_box()
    assert header["height"] < 90, f"the header is {header['height']} px tall"
    expect(page.locator("#main-nav")).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Definitions")).to_be_visible()
    assert len(_nav_rows(page)) <= 3
    screenshot("header-menu-open-tablet")
    page.keyboard.press("Escape")
    expect(page.locator("#main-nav")).to_be_hidden()
    expect(page.get_by_role("button", name="Menu")).to_be_focused()


def test_the_lead_page_puts_the_actions_above_the_timeline_and_the_fold_on_a_tablet(
    page, live_server, sign_in, screenshot, sales_rep, qualified_lead
):
    sign_in(sales_rep)
    page.set_viewport_size(TABLET)
    page.goto(f"{live_server.url}/leads/{qualified_lead.pk}/")
    accept = page.get_by_role("button", name="Accept lead")
    box = accept.bounding_box()
    assert box["y"] + box["height"] <= TABLET["height"], "Accept is below the fold"
    actions = page.locator("#h-actions").bounding_box()
    timeline = page.locator("#h-timeline").bounding_box()
    assert actions["y"] < timeline["y"]
    screenshot("lead-detail-tablet")
    page.set_viewport_size(DESKTOP)
    screenshot("lead-detail")
    # In one column (a phone) the actions still come before the timeline.
    page.set_viewport_size({"width": 420, "height": 900})
    actions = page.locator("#h-actions").bounding_box()
    timeline = page.locator("#h-timeline").bounding_box()
    assert actions["y"] < timeline["y"]


def test_a_wide_table_scrolls_inside_its_card_and_says_so(
    page, live_server, sign_in, screenshot, manager
):
    LeadFactory.create_batch(3, company="Very Long Company Name Holdings International")
    sign_in(manager)
    page.set_viewport_size(TABLET)
    page.goto(f"{live_server.url}/leads/")
    wrap = page.locator("#lead-table").locator("xpath=..")
    expect(wrap).to_have_class("card table-wrap scrolls")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= TABLET["width"]
    content = wrap.evaluate("el => getComputedStyle(el, '::before').content")
    assert "Scroll sideways" in content
    screenshot("lead-list-tablet")


def test_the_error_pages_carry_the_brand(page, live_server, sign_in, screenshot, sales_rep):
    sign_in(sales_rep)
    response = page.goto(f"{live_server.url}/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="We could not find that page")).to_be_visible()
    screenshot("not-found")
    page.set_viewport_size(TABLET)
    screenshot("not-found-tablet")

    html = render_to_string("500.html")
    page.route(
        f"{live_server.url}/broken/",
        lambda route: route.fulfill(status=500, body=html, content_type="text/html"),
    )
    page.goto(f"{live_server.url}/broken/")
    expect(page.get_by_role("heading", name="Something went wrong on our side")).to_be_visible()
    assert page.locator(".error-code").evaluate("el => getComputedStyle(el).fontWeight") == "800"
    screenshot("server-error-tablet")
    page.set_viewport_size(DESKTOP)
    screenshot("server-error")
