"""Script payloads typed into every free-text field come back escaped on every page that
shows them: the raw markup never reaches the HTML."""

from __future__ import annotations

import contextlib
import html
import itertools
from datetime import timedelta

import pytest
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Reason
from leads.services.activities import activity_log
from leads.services.campaigns import campaign_create
from leads.services.catalog import definition_publish, persona_create, reason_create
from leads.services.transitions import lead_accept, lead_hand_off, lead_reject, lead_to_opportunity
from sla.models import Breach
from sla.services import breach_acknowledge
from sla.sweep import sla_sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import BusinessCalendarFactory, SlaPolicyFactory

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def payload(kind: str) -> str:
    """A script payload with a number of its own, so each field's output can be found."""
    n = next(_numbers)
    if kind == "script":
        return f"<script>alert({n})</script>"
    return f'"><img src=x onerror=alert({n})>'


def raw_markers(text: str) -> list[str]:
    return [marker for marker in ("<script>alert(", "<img src=x onerror=") if marker in text]


@pytest.fixture
def hostile_data(make_lead, marketer, sales_rep, manager) -> dict[str, object]:
    fields: dict[str, str] = {}

    def value(field: str, kind: str = "script") -> str:
        fields[field] = payload(kind)
        return fields[field]

    now = timezone.now()
    campaign = campaign_create(actor=manager, name=value("campaign name"))
    persona = persona_create(
        actor=manager, name=value("persona name"), description=value("persona description", "img")
    )
    reason = reason_create(actor=manager, kind=Reason.Kind.REJECT, label=value("reason label"))
    calendar = BusinessCalendarFactory(
        actor=manager, name=value("calendar name", "img"), always_open=True, now=now
    )
    SlaPolicyFactory(
        actor=manager,
        name=value("policy name"),
        target=timedelta(hours=1),
        calendar=calendar,
        now=now,
    )
    handed_at = now - timedelta(days=2)
    moved = make_lead(
        first_name=value("first name"),
        last_name=value("last name", "img"),
        company=value("company"),
        job_title=value("job title", "img"),
        campaign=campaign.pk,
        persona=persona.pk,
        now=handed_at - timedelta(hours=1),
    )
    lead_hand_off(
        lead=moved,
        actor=marketer,
        assignee=sales_rep,
        criteria=ALL_REQUIRED_CRITERIA,
        now=handed_at,
    )
    sla_sweep(now=now)  # the accept clock is long past due: a breach to acknowledge
    breach = Breach.objects.get(lead=moved)
    breach_acknowledge(breach=breach, actor=manager, note=value("breach note", "img"))
    lead_accept(lead=moved, actor=sales_rep, now=now)
    activity_log(lead=moved, actor=sales_rep, kind="call", summary=value("activity summary"))
    lead_to_opportunity(
        lead=moved, actor=sales_rep, estimated_value=5000, next_step=value("next step", "img")
    )
    rejected = make_lead(company="Plain Co", now=handed_at)
    lead_hand_off(lead=rejected, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA)
    lead_reject(lead=rejected, actor=sales_rep, reason=reason, note=value("reject note", "img"))
    definition_publish(
        actor=manager,
        stage=Stage.ENGAGED,
        title=value("definition title"),
        description=value("definition description", "img"),
        criteria=[{"key": "xss", "label": value("criterion label"), "required": False}],
    )
    return {"fields": fields, "leads": [moved.pk, rejected.pk], "search": payload("script")}


def _pages(leads: list[int], search: str) -> list[str]:
    pages = [
        reverse("dashboard"),
        reverse("leads:list"),
        reverse("leads:list") + "?" + f"q={search}",
        *(reverse("leads:detail", args=[pk]) for pk in leads),
        reverse("leads:campaigns"),
        reverse("leads:definitions"),
    ]
    for optional in ("/sla/breaches/", "/sla/policies/", "/sla/reports/"):
        try:
            resolve(optional)
        except Resolver404:
            continue
        pages.append(optional)
    with contextlib.suppress(NoReverseMatch):
        pages.append(reverse("notifications"))
    return pages


def test_every_free_text_field_is_escaped_on_every_page(client, manager, hostile_data):
    client.force_login(manager)
    shown: dict[str, list[str]] = {}
    for page in _pages(hostile_data["leads"], hostile_data["search"]):
        response = client.get(page)
        assert response.status_code == 200, page
        text = response.content.decode()
        assert raw_markers(text) == [], f"unescaped payload on {page}"
        for field, value in hostile_data["fields"].items():
            if html.escape(value) in text or html.escape(value, quote=False) in text:
                shown.setdefault(field, []).append(page)
    # The check means something only if the pages really show the fields. Calendars,
    # policies and criteria labels appear on the SLA pages (checked above when they exist).
    never_shown = set(hostile_data["fields"]) - set(shown)
    assert never_shown <= {"calendar name", "criterion label", "policy name"}, (never_shown, shown)
