"""A batch writes, lead for lead, the rows a single create writes: the lead, its 'created'
event, its SLA clocks and their timeline events, in the same order on the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db.models import Model

from crm.models import User
from leads.lifecycle import Stage
from leads.models import Campaign, Lead, LeadEvent, Persona
from sla.models import SlaClock, SlaGoal
from tests.factories import BusinessCalendarFactory, SlaPolicyFactory, weekday_hours

NOW = datetime(2026, 3, 4, 15, 30, 12, 345678, tzinfo=UTC)


@pytest.fixture
def two_engaged_policies(manager: User) -> None:
    """Two policies start on a new lead, one on a business calendar: their clocks differ in
    goal, team, target and deadlines."""
    calendar = BusinessCalendarFactory(
        actor=manager, name="London office", weekly_hours=weekday_hours(("09:00", "17:30"))
    )
    SlaPolicyFactory(actor=manager, name="Touch new leads within four hours", new_lead_touch=True)
    SlaPolicyFactory(
        actor=manager,
        name="Qualify within ten working days",
        goal=SlaGoal.EXIT_STAGE,
        trigger_stage=Stage.ENGAGED,
        target=timedelta(hours=240),
        calendar=calendar.pk,
    )


def _row(instance: Model, *skip: str) -> dict[str, Any]:
    return {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if not f.primary_key and f.attname not in skip
    }


def _trail(lead: Lead) -> dict[str, Any]:
    """Everything written for one lead, minus what names the person."""
    events = [
        _row(e, "lead_id")
        | {"changes": {**e.changes, "email": "…"} if e.kind == "created" else e.changes}
        for e in LeadEvent.objects.filter(lead=lead).order_by("id")
    ]
    clocks = [_row(c, "lead_id") for c in SlaClock.objects.filter(lead=lead).order_by("id")]
    return {
        "lead": _row(lead, "email", "email_normalized", "external_id", "search_text"),
        "events": events,
        "clocks": clocks,
    }


def test_it_writes_for_each_lead_what_a_single_create_writes(
    integration, two_engaged_policies
) -> None:
    campaign = Campaign.objects.create(name="Spring webinar")
    persona = Persona.objects.create(name="Ops lead")
    fields = {
        "first_name": "  Ada ",
        "last_name": "Lovelace",
        "phone": "+44 20 7946 0000",
        "company": "Analytical Engines",
        "job_title": "Head of Ops",
        "campaign": campaign.pk,
        "persona": persona.pk,
        "source": "webinar",
        "estimated_value": "1234.50",
    }
    with time_machine.travel(NOW, tick=False):
        single = integration.post(
            "/api/v1/leads/",
            {**fields, "email": "single@acme.example", "external_id": "w-0"},
            format="json",
        )
        batch = integration.post(
            "/api/v1/leads/batch/",
            {
                "items": [
                    {**fields, "email": f"batch{n}@acme.example", "external_id": f"w-{n}"}
                    for n in (1, 2, 3)
                ]
            },
            format="json",
        )

    assert single.status_code == 201
    assert batch.json()["counts"]["created"] == 3
    expected = _trail(Lead.objects.get(pk=single.json()["id"]))
    assert len(expected["clocks"]) == 2
    assert [e["kind"] for e in expected["events"]] == ["created", "clock", "clock"]
    assert {c["goal"] for c in expected["clocks"]} == {SlaGoal.FIRST_TOUCH, SlaGoal.EXIT_STAGE}
    for result in batch.json()["results"]:
        lead = Lead.objects.get(pk=result["id"])
        assert _trail(lead) == expected
        assert lead.email == f"batch{result['index'] + 1}@acme.example"
        assert lead.external_id == f"w-{result['index'] + 1}"


def test_it_answers_each_item_with_the_lead_it_created(integration) -> None:
    items = [{"email": f"order{n}@acme.example", "external_id": f"o-{n}"} for n in range(50)]

    body = integration.post("/api/v1/leads/batch/", {"items": items}, format="json").json()

    for result in body["results"]:
        lead = Lead.objects.get(pk=result["id"])
        assert lead.external_id == f"o-{result['index']}"
