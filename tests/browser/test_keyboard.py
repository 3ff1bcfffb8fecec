"""A sales rep works a lead with the keyboard alone, and always sees where the focus is."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import Activity
from sla.models import Breach
from sla.sweep import sla_sweep
from tests.factories import SlaPolicyFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

# "A few Tabs": from one step's control to the next one's.
FEW_TABS = 5
WHITE = (255, 255, 255)
FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  return {
    tag: element.tagName.toLowerCase(),
    name: (element.innerText || element.getAttribute("aria-label") || element.name || "").trim(),
    outline: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    colour: style.outlineColor,
    page: getComputedStyle(document.body).backgroundColor,
  };
}"""


def _luminance(rgb: tuple[int, ...]) -> float:
    channels = [c / 255 for c in rgb]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _rgb(css: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", css)[:3])


def _assert_ring(focused: dict) -> None:
    """A focus ring at least 2px wide with 3:1 against white and the page (WCAG 1.4.11)."""
    where = f"{focused['tag']} {focused['name']!r}"
    assert focused["tag"] != "body", "focus fell back to the page"
    assert focused["outline"] != "none" and focused["width"] >= 2, f"no focus ring on {where}"
    for background in (WHITE, _rgb(focused["page"])):
        assert _contrast(_rgb(focused["colour"]), background) >= 3, f"faint focus ring on {where}"


def _assert_focus_kept(page) -> None:
    """After an htmx swap settles, focus is on a control or landmark again, ringed."""
    page.wait_for_function(
        "() => document.activeElement && document.activeElement !== document.body",
        timeout=3000,
    )
    _assert_ring(page.evaluate(FOCUSED))


def _tab_to(page, tag: str, name: str) -> int:
    """Press Tab until the control is focused, checking the ring at every stop; count presses."""
    for presses in range(1, FEW_TABS + 1):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        _assert_ring(focused)
        if focused["tag"] == tag and focused["name"].startswith(name):
            return presses
    raise AssertionError(f"{tag} {name!r} is more than {FEW_TABS} Tabs away")


def test_accept_log_a_call_and_reach_edit_details_by_keyboard(
    page, live_server, sign_in, screenshot, sales_rep, qualified_lead
):
    sign_in(sales_rep)
    page.goto(f"{live_server.url}/leads/{qualified_lead.pk}/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")

    _tab_to(page, "button", "Accept lead")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Lead accepted.")
    _assert_focus_kept(page)
    screenshot("keyboard-accepted")

    _tab_to(page, "select", "")  # the activity's kind, first field of "Log activity"
    expect(page.get_by_label("Kind")).to_be_focused()
    page.keyboard.press("c")
    expect(page.get_by_label("Kind")).to_have_value("call")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Summary")).to_be_focused()
    page.keyboard.type("Intro call: budget confirmed for Q1.")
    _tab_to(page, "button", "Log")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Call logged.")
    _assert_focus_kept(page)
    expect(page.get_by_role("button", name="Log", exact=True)).to_be_focused()

    _tab_to(page, "summary", "Edit details")
    screenshot("keyboard-edit-details")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("First name")).to_be_focused()

    qualified_lead.refresh_from_db()
    assert qualified_lead.accepted_by == sales_rep
    assert Activity.objects.filter(lead=qualified_lead, kind="call").count() == 1


@pytest.fixture
def two_breaches(manager, handed_off) -> list[Breach]:
    now = timezone.now()
    SlaPolicyFactory(
        actor=manager, name="Sales accepts within 4 hours", now=now - timedelta(days=4)
    )
    for hours, company in enumerate(("Initech", "Globex")):
        handed_off(company, now - timedelta(days=3, hours=hours))  # newest first on the report
    sla_sweep(now=now)
    return list(Breach.objects.order_by("-breached_at"))


def test_after_acknowledging_a_breach_the_next_one_is_a_few_tabs_away(
    page, live_server, sign_in, manager, two_breaches
):
    first, second = two_breaches
    sign_in(manager)
    page.goto(f"{live_server.url}/sla/breaches/")
    page.get_by_label(f"Note for breach {first.pk}").focus()
    page.keyboard.type("Rep was on leave; cover agreed.")
    _tab_to(page, "button", "Acknowledge")
    page.keyboard.press("Enter")
    expect(page.locator(f"#breach-{first.pk}")).to_contain_text("Breach acknowledged.")
    _assert_focus_kept(page)
    expect(page.get_by_text("Breach acknowledged.")).to_be_focused()
    _tab_to(page, "textarea", "")
    expect(page.get_by_label(f"Note for breach {second.pk}")).to_be_focused()
