"""Single-lead ingest: a bounded, constant number of queries per create, and an answer that
matches what a read of the new lead returns (the create answers without reading it back)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead
from sla.models import SlaClock
from tests.factories import BusinessCalendarFactory, LeadFactory, SlaPolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def touch_policies(manager):
    calendar = BusinessCalendarFactory(actor=manager, name="Marketing hours")
    for name, target in (
        ("First touch", timedelta(hours=4)),
        ("Touch by tomorrow", timedelta(days=1)),
    ):
        SlaPolicyFactory(
            actor=manager,
            name=name,
            new_lead_touch=True,
            target=target,
            calendar=calendar,
        )


def _create(integration, n: int) -> tuple[int, dict]:
    body = {
        "email": f"ada{n}@example.com",
        "first_name": "Ada",
        "source": "web",
        "external_id": f"w-{n}",
    }
    with CaptureQueriesContext(connection) as queries:
        response = integration.post("/api/v1/leads/", body, format="json")
    assert response.status_code == 201, response.content
    return len(queries), response.json()


def test_it_creates_a_lead_in_the_same_few_queries_whatever_the_data(integration, touch_policies):
    _create(integration, 0)  # the key's last-use stamp settles first
    few, _ = _create(integration, 1)
    LeadFactory.create_batch(30)
    many, _ = _create(integration, 2)

    # Key, upsert lookup, then one transaction: the lead (the unique indexes find
    # duplicates), its history event, the policies, their clocks and the clock events.
    assert few == many <= 9
    assert SlaClock.objects.filter(lead__external_id="w-2").count() == 2


def test_it_answers_a_create_with_what_a_read_returns(integration, touch_policies):
    _, created = _create(integration, 1)

    read = integration.get(f"/api/v1/leads/{created['id']}/").json()

    assert created == read


def test_it_still_names_the_lead_a_new_one_duplicates(integration, make_lead):
    existing = make_lead(email="Jo@Example.com")
    Lead.objects.filter(pk=existing.pk).update(source="web", external_id="w-7")

    by_email = integration.post("/api/v1/leads/", {"email": "jo@example.com"}, format="json")
    upsert = integration.post(
        "/api/v1/leads/",
        {"email": "x@example.com", "source": "web", "external_id": "w-7"},
        format="json",
    )

    assert by_email.status_code == 409 and by_email.json()["existing_id"] == existing.pk
    assert upsert.status_code == 200 and upsert.json()["id"] == existing.pk
