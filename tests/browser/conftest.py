"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live server.

Without the browser the tests are skipped locally and fail under HANDOFF_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# (fixtures, assertions) are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("HANDOFF_CHROMIUM", "/usr/bin/chromium"))
# axe-core, pinned in package.json and installed by `make axe` (npm ci) into node_modules/.
AXE = Path(
    os.environ.get(
        "HANDOFF_AXE", Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
    )
)
# The success criteria of WCAG 2.0 and 2.1, levels A and AA.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
REQUIRE_SERVICES = os.environ.get("HANDOFF_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        message = f"needs Chromium at {CHROMIUM} (Debian package chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}: required with HANDOFF_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {
        **browser_context_args,
        "viewport": {"width": 1366, "height": 900},
        "accept_downloads": True,
    }


@pytest.fixture
def screenshot(page) -> Callable[[str], None]:
    """Save the current page, full length, for people to look at (git ignores the folder)."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def sign_in(page, live_server, password) -> Callable[[object], None]:
    def sign_in_as(user) -> None:
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")

    return sign_in_as


@pytest.fixture
def dialogs(page) -> Iterator[list[str]]:
    """Every JavaScript dialog the page opens (an injected alert() would land here)."""
    opened: list[str] = []

    def record(dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    yield opened


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        message = f"needs axe-core at {AXE} (run `make axe`)"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}: required with HANDOFF_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def axe_violations(page, axe_source) -> Callable[..., list[str]]:
    """Run axe-core's WCAG 2.1 A/AA rules on the current page; one line per failing element.

    The script goes in through the browser's debugging protocol, which the page's
    Content-Security-Policy does not govern, so the page is checked under its real policy.
    """

    def run(*, exclude: tuple[str, ...] = ()) -> list[str]:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(axe_source)
        results = page.evaluate(
            """([exclude, tags]) => axe.run(
                exclude.length ? {exclude: exclude.map((s) => [s])} : document,
                {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]},
            )""",
            [list(exclude), WCAG_21_AA],
        )
        return [
            f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            f"{' '.join(node['target'])}: {node['failureSummary']}"
            for violation in results["violations"]
            for node in violation["nodes"]
        ]

    return run


@pytest.fixture
def console_errors(page) -> list[str]:
    """Every error the page logs or throws, Content-Security-Policy refusals included."""
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and errors.append(f"{message.text} ({message.location.get('url', '')})")
        ),
    )
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors


@pytest.fixture
def handed_off(marketer, sales_rep, make_lead) -> Callable[..., object]:
    """A lead of `company` handed off to the sales rep at `started` (clocks start then)."""
    from leads.services.transitions import lead_hand_off
    from tests.conftest import ALL_REQUIRED_CRITERIA

    def hand_off(company: str, started: datetime) -> object:
        return lead_hand_off(
            lead=make_lead(company=company, now=started),
            actor=marketer,
            assignee=sales_rep,
            criteria=ALL_REQUIRED_CRITERIA,
            now=started,
        )

    return hand_off
