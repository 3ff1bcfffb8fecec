"""Batch ingest is set-based: the queries per batch stay bounded however many items it holds,
with de-duplication, history and SLA clocks all on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import User
from leads.models import Lead, LeadEvent
from sla.models import SlaClock
from tests.factories import SlaPolicyFactory


@pytest.fixture
def engaged_policy(manager: User) -> None:
    SlaPolicyFactory(
        actor=manager,
        name="Touch new leads within a day",
        new_lead_touch=True,
        target=timedelta(hours=24),
    )


def _items(count: int, start: int = 0) -> list[dict]:
    return [
        {"email": f"bulk{n}@acme.example", "source": "form", "external_id": f"f-{n}"}
        for n in range(start, start + count)
    ]


@pytest.mark.parametrize("count", [10, 100])
def test_a_batch_takes_the_same_bounded_number_of_queries_at_any_size(
    integration, engaged_policy, make_lead, count
) -> None:
    make_lead(email="bulk3@acme.example")  # one duplicate of an open lead
    items = _items(count)
    items[5]["email"] = "broken"  # one bad item

    with CaptureQueriesContext(connection) as captured:
        response = integration.post("/api/v1/leads/batch/", {"items": items}, format="json")

    assert response.status_code == 200
    assert response.json()["counts"] == {
        "created": count - 2,
        "updated": 0,
        "duplicate": 1,
        "error": 1,
    }
    assert len(captured) <= 20, [q["sql"][:80] for q in captured.captured_queries]
    created = Lead.objects.filter(source="form")
    assert created.count() == count - 2
    assert LeadEvent.objects.filter(lead__in=created, kind=LeadEvent.Kind.CREATED).count() == (
        count - 2
    )
    assert SlaClock.objects.filter(lead__in=created, state="running").count() == count - 2


def test_items_repeating_a_lead_of_the_same_batch_are_duplicates_or_updates(
    integration, engaged_policy
) -> None:
    items = [
        {"email": "ann@acme.example", "source": "form", "external_id": "a-1"},
        {"email": "Ann+news@acme.example", "source": "form"},  # same person by email
        {"email": "ann@acme.example", "source": "form", "external_id": "a-1", "company": "Acme"},
    ]

    body = integration.post("/api/v1/leads/batch/", {"items": items}, format="json").json()

    assert [r["status"] for r in body["results"]] == ["created", "duplicate", "updated"]
    lead = Lead.objects.get(external_id="a-1")
    assert {r["id"] for r in body["results"]} == {lead.pk}
    assert lead.company == "Acme"
    assert SlaClock.objects.filter(lead=lead).count() == 1


def test_a_lead_created_by_another_writer_meanwhile_sinks_only_its_own_item(
    integration, make_lead, monkeypatch
) -> None:
    """The duplicate lookup ran before another writer committed the same person: the bulk
    insert hits the unique index, and the batch falls back to one savepoint per item."""
    from leads.services import batch

    make_lead(email="raced@acme.example")
    monkeypatch.setattr(batch, "_existing_maps", lambda items: ({}, {}))
    items = [{"email": "raced@acme.example"}, {"email": "calm@acme.example"}]

    body = integration.post("/api/v1/leads/batch/", {"items": items}, format="json").json()

    assert [r["status"] for r in body["results"]] == ["duplicate", "created"]
    assert Lead.objects.filter(email_normalized="calm@acme.example").count() == 1
    assert Lead.objects.filter(email_normalized="raced@acme.example").count() == 1


@pytest.mark.postgres
def test_a_batch_of_1000_writes_its_leads_history_and_clocks_with_one_statement(
    integration, engaged_policy, make_lead
) -> None:
    """Leads, 'created' events, clocks and clock events: one INSERT statement (one CTE per
    table), whatever the size."""
    make_lead(email="bulk3@acme.example")
    items = _items(1000)
    items[5]["email"] = "broken"

    with CaptureQueriesContext(connection) as captured:
        response = integration.post("/api/v1/leads/batch/", {"items": items}, format="json")

    assert response.json()["counts"]["created"] == 998
    writes = [q["sql"] for q in captured if "INSERT INTO" in q["sql"]]
    assert len(writes) == 1
    assert [part.split(" (")[0] for part in writes[0].split("INSERT INTO ")[1:]] == [
        '"leads_lead"',
        '"leads_leadevent"',
        '"sla_slaclock"',
    ]
    assert len(captured) <= 12
