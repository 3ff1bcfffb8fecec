"""Every page, for every role: nothing for axe-core to find (WCAG 2.1 A/AA), no console error.

The pages carry real data (leads in several stages, a breach, notifications, imports) and are
also checked in the states people meet after a mistake: a form sent back with its errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.outbox import outbox_drain
from leads.models import ImportJob
from leads.services.imports import import_run, import_start, import_upload
from leads.services.transitions import lead_accept, lead_to_opportunity
from sla.sweep import sla_sweep
from tests.factories import CampaignFactory, PersonaFactory, SlaPolicyFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

# Swagger UI's own markup is its authors' to fix; the page around it is ours.
SWAGGER_UI = "#swagger-ui"
CSV = b"First Name,Last Name,Email\nAda,Lovelace,ada@import.example\nBad,Row,not-an-email\n"


@dataclass(frozen=True)
class Visit:
    name: str
    path: str
    status: int = 200
    fill: tuple[tuple[str, str], ...] | None = None  # sent as typed, to see the error state
    exclude: tuple[str, ...] = ()
    search: str | None = None  # typed into the header's box, suggestions left open


@pytest.fixture
def world(manager, sales_rep, marketer, make_lead, handed_off) -> dict[str, int]:
    """Leads in each kind of stage, a breached hand-off with its notices, and two imports."""
    now = timezone.now()
    webinar = CampaignFactory(name="Webinar: Pipeline Hygiene", spend=Decimal("4200"))
    persona = PersonaFactory(name="Head of Revenue Operations")
    SlaPolicyFactory(
        actor=manager, name="Sales accepts within 4 hours", now=now - timedelta(days=5)
    )
    engaged = make_lead(company="Acme Logistics", campaign=webinar.pk, persona=persona.pk)
    waiting = handed_off("Initech", now - timedelta(minutes=30))
    late = handed_off("Globex", now - timedelta(days=3))
    moving = handed_off("Umbrella", now - timedelta(hours=1))
    moving = lead_to_opportunity(
        lead=lead_accept(lead=moving, actor=sales_rep),
        actor=sales_rep,
        estimated_value="12000",
        next_step="Demo on Tuesday",
    )
    sla_sweep(now=now)
    outbox_drain(now=now)
    mapping = import_upload(actor=marketer, filename="webinar.csv", raw=CSV)
    done = import_upload(actor=marketer, filename="fair.csv", raw=CSV)
    import_start(job=done, actor=marketer, mapping=done.mapping)
    import_run(job_id=done.pk)
    assert ImportJob.objects.get(pk=done.pk).is_finished
    return {
        "engaged": engaged.pk,
        "waiting": waiting.pk,
        "late": late.pk,
        "opportunity": moving.pk,
        "mapping": mapping.pk,
        "done": done.pk,
    }


def visits(role: str, ids: dict[str, int]) -> list[Visit]:
    """The pages a person in this role reaches, or is turned away from, with the given data."""
    if role == "anonymous":
        return [
            Visit("sign-in", "/login/"),
            Visit(
                "sign-in refused", "/login/", fill=(("Username", "nobody"), ("Password", "wrong"))
            ),
        ]
    common = [
        Visit("dashboard", "/"),
        Visit("leads", "/leads/"),
        Visit("leads waiting", "/leads/?view=waiting"),
        *(Visit(f"lead {kind}", f"/leads/{ids[kind]}/") for kind in ("engaged", "waiting", "late")),
        Visit("lead opportunity", f"/leads/{ids['opportunity']}/"),
        Visit("lead search suggestions", "/campaigns/", search="Pat"),
        Visit("campaigns", "/campaigns/"),
        Visit("definitions", "/definitions/"),
        Visit("policies", "/sla/policies/"),
        Visit("notifications", "/notifications/"),
        Visit("settings", "/account/"),
        Visit("api docs", "/api/docs/", exclude=(SWAGGER_UI,)),
    ]
    importing = [
        Visit("new lead", "/leads/new/"),
        Visit("new lead refused", "/leads/new/", fill=(("Phone", "not a phone number"),)),
        Visit("import", "/leads/import/"),
        Visit("import mapping", f"/leads/import/{ids['mapping']}/mapping/"),
        Visit("import done", f"/leads/import/{ids['done']}/"),
    ]
    # Everyone signed in reads the breach report (a sales rep's starts filtered to them).
    breaches = Visit("breaches", "/sla/breaches/")
    # The agreement's forms, which the manager writes (and the marketer, campaigns).
    agreement = [
        Visit("new campaign", "/campaigns/new/"),
        Visit("new policy", "/sla/policies/new/"),
        Visit("new calendar", "/sla/calendars/new/"),
        Visit("new commitment", "/sla/commitments/new/"),
        Visit("publish definition", "/definitions/qualified/publish/"),
    ]
    if role == "manager":
        return [*common, *importing, breaches, *agreement]
    if role == "marketer":
        return [*common, *importing, breaches]
    return [*common, breaches, Visit("import", "/leads/import/", status=403)]


ROLES = ["manager", "marketer", "sales_rep", "anonymous"]


def _open(page, live_server, visit: Visit) -> None:
    response = page.goto(f"{live_server.url}{visit.path}")
    assert response is not None and response.status == visit.status, visit.name
    if visit.fill is not None:
        for label, value in visit.fill:
            page.get_by_label(label, exact=True).fill(value)
        page.locator("main form[method=post] button[type=submit]").last.click()
        page.wait_for_load_state()
    if visit.search is not None:
        page.get_by_label("Find a lead").fill(visit.search)
        page.locator("#jump-results .jump-note").wait_for()
    page.wait_for_load_state("networkidle")


def _report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{name}: {line}" for name, lines in found.items() for line in lines)


@pytest.fixture
def signed_in(request, sign_in, page) -> str:
    role = request.param
    if role != "anonymous":
        sign_in(request.getfixturevalue(role))
    return role


@pytest.mark.parametrize("signed_in", ROLES, indirect=True)
def test_axe_finds_nothing_on_any_page(page, live_server, signed_in, world, axe_violations):
    found: dict[str, list[str]] = {}
    for visit in visits(signed_in, world):
        _open(page, live_server, visit)
        if violations := axe_violations(exclude=visit.exclude):
            found[visit.name] = violations
    assert found == {}, _report(found)


@pytest.mark.parametrize("signed_in", ROLES, indirect=True)
def test_no_page_logs_a_console_error(page, live_server, signed_in, world, console_errors):
    found: dict[str, list[str]] = {}
    for visit in visits(signed_in, world):
        _open(page, live_server, visit)
        # A page that answers 403 on purpose reports its own status; nothing else may show.
        refused = f"status of {visit.status} (Forbidden) ({live_server.url}{visit.path})"
        errors = [error for error in console_errors if not error.endswith(refused)]
        if "{#" in (text := page.locator("body").inner_text()) or "{%" in text:
            errors.append("template syntax shown as text")
        if errors:
            found[visit.name] = errors
        console_errors.clear()
    assert found == {}, _report(found)
