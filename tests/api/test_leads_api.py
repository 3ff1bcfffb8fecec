"""Leads over the API: create semantics, optimistic locking, transitions, reads."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, LeadEvent
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import LeadFactory


def test_it_creates_a_lead_named_after_the_integration(integration) -> None:
    response = integration.post(
        "/api/v1/leads/", {"email": "jo@acme.example", "first_name": "Jo"}, format="json"
    )

    assert response.status_code == 201
    lead = Lead.objects.get(pk=response.json()["id"])
    assert response["Location"].endswith(f"/api/v1/leads/{lead.pk}/")
    event = LeadEvent.objects.get(lead=lead)
    assert event.actor.role == "integration"
    assert event.actor.first_name == "Web form"


def test_it_answers_a_duplicate_email_with_the_existing_lead(integration, make_lead) -> None:
    existing = make_lead(email="jo@acme.example")

    response = integration.post("/api/v1/leads/", {"email": " Jo+x@ACME.example "}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate"
    assert body["existing_id"] == existing.pk
    assert body["errors"][0]["pointer"] == "/email"


def test_it_upserts_by_source_and_external_id(integration) -> None:
    data = {"email": "jo@acme.example", "source": "webform", "external_id": "wf-1"}
    created = integration.post("/api/v1/leads/", data, format="json")

    updated = integration.post("/api/v1/leads/", {**data, "company": "Acme"}, format="json")

    assert (created.status_code, updated.status_code) == (201, 200)
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["company"] == "Acme"
    assert Lead.objects.count() == 1


def test_it_sends_the_version_as_etag(integration, engaged_lead) -> None:
    response = integration.get(f"/api/v1/leads/{engaged_lead.pk}/")

    assert response.status_code == 200
    assert response["ETag"] == f'"{engaged_lead.version}"'


def test_it_updates_with_a_matching_if_match(integration, engaged_lead) -> None:
    response = integration.patch(
        f"/api/v1/leads/{engaged_lead.pk}/",
        {"company": "Acme Freight"},
        format="json",
        HTTP_IF_MATCH=f'"{engaged_lead.version}"',
    )

    assert response.status_code == 200
    assert response["ETag"] == f'"{engaged_lead.version + 1}"'
    assert Lead.objects.get().company == "Acme Freight"


def test_it_refuses_a_stale_if_match_with_412_and_changes_nothing(
    integration, engaged_lead
) -> None:
    url = f"/api/v1/leads/{engaged_lead.pk}/"
    integration.patch(url, {"company": "First"}, format="json", HTTP_IF_MATCH='"1"')

    response = integration.patch(url, {"company": "Second"}, format="json", HTTP_IF_MATCH='"1"')

    assert response.status_code == 412
    assert response.json()["code"] == "stale"
    lead = Lead.objects.get()
    assert (lead.company, lead.version) == ("First", 2)


def test_it_refuses_a_stale_body_version_with_409(integration, engaged_lead) -> None:
    url = f"/api/v1/leads/{engaged_lead.pk}/"
    integration.patch(url, {"company": "First", "version": 1}, format="json")

    response = integration.patch(url, {"company": "Second", "version": 1}, format="json")

    assert response.status_code == 409
    assert response.json()["errors"][0]["pointer"] == "/version"
    assert Lead.objects.get().company == "First"


def test_it_requires_a_precondition_for_patch(integration, engaged_lead) -> None:
    response = integration.patch(
        f"/api/v1/leads/{engaged_lead.pk}/", {"company": "X"}, format="json"
    )

    assert response.status_code == 428
    assert Lead.objects.get().company == "Acme Logistics"


@pytest.mark.parametrize("field", ["stage", "owner_team", "owner", "created_at", "colour"])
def test_it_refuses_protected_and_unknown_fields_by_name(
    integration, engaged_lead, field: str
) -> None:
    response = integration.patch(
        f"/api/v1/leads/{engaged_lead.pk}/", {field: "won", "version": 1}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == f"/{field}"
    assert Lead.objects.get().version == 1


def test_it_says_where_a_protected_field_is_changed_instead(integration, engaged_lead) -> None:
    response = integration.patch(
        f"/api/v1/leads/{engaged_lead.pk}/", {"stage": "won", "colour": "red"}, format="json"
    )

    messages = {item["pointer"]: item["message"] for item in response.json()["errors"]}
    assert messages["/stage"] == "stage cannot be set here; use POST /leads/{id}/transitions/."
    assert messages["/colour"] == "Unknown field colour."


def test_it_moves_a_lead_through_hand_off_and_acceptance(
    as_user, marketer, sales_rep, engaged_lead
) -> None:
    url = f"/api/v1/leads/{engaged_lead.pk}/transitions/"
    handed = as_user(marketer).post(
        url,
        {"transition": "hand_off", "assignee": sales_rep.pk, "criteria": ALL_REQUIRED_CRITERIA},
        format="json",
    )
    accepted = as_user(sales_rep).post(
        url, {"transition": "accept"}, format="json", HTTP_IF_MATCH=handed["ETag"]
    )

    assert handed.status_code == 200, handed.json()
    assert handed.json()["stage"] == "qualified"
    assert accepted.status_code == 200
    assert accepted.json()["accepted_at"] is not None


def test_it_refuses_an_illegal_transition_with_409(as_user, marketer, engaged_lead) -> None:
    response = as_user(marketer).post(
        f"/api/v1/leads/{engaged_lead.pk}/transitions/", {"transition": "win"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"
    assert response.json()["errors"][0]["pointer"] == "/transition"


def test_it_applies_role_rights_to_users(as_user, other_sales_rep, qualified_lead) -> None:
    response = as_user(other_sales_rep).post(
        f"/api/v1/leads/{qualified_lead.pk}/transitions/", {"transition": "accept"}, format="json"
    )

    assert response.status_code == 403
    assert Lead.objects.get().accepted_at is None


def test_it_logs_activities_and_shows_history(as_user, sales_rep, accepted_lead) -> None:
    client = as_user(sales_rep)
    url = f"/api/v1/leads/{accepted_lead.pk}"
    logged = client.post(f"{url}/activities/", {"kind": "call", "summary": "Intro"}, format="json")

    activities = client.get(f"{url}/activities/").json()["results"]
    history = client.get(f"{url}/history/").json()["results"]

    assert logged.status_code == 201
    assert [a["summary"] for a in activities] == ["Intro"]
    assert [e["kind"] for e in history] == ["activity", "accepted", "transition", "created"]


def test_it_filters_the_list(integration, make_lead, qualified_lead) -> None:
    make_lead(company="Zeta Corp")

    qualified = integration.get("/api/v1/leads/?stage=qualified").json()["results"]
    searched = integration.get("/api/v1/leads/?q=zeta").json()["results"]
    sales = integration.get("/api/v1/leads/?team=sales&accepted=false").json()["results"]

    assert [lead["id"] for lead in qualified] == [qualified_lead.pk]
    assert [lead["company"] for lead in searched] == ["Zeta Corp"]
    assert [lead["id"] for lead in sales] == [qualified_lead.pk]


def test_it_pages_with_a_cursor(integration) -> None:
    LeadFactory.create_batch(7)

    first = integration.get("/api/v1/leads/?page_size=5&ordering=created_at").json()
    second = integration.get(first["next"]).json()

    ids = [lead["id"] for lead in first["results"] + second["results"]]
    assert len(ids) == 7 == len(set(ids))
    assert second["next"] is None


def test_it_runs_a_constant_number_of_queries_whatever_the_page_size(
    integration, sales_rep
) -> None:
    LeadFactory.create_batch(60, owner=sales_rep, stage="qualified", owner_team="sales")
    integration.get("/api/v1/leads/?page_size=1")  # key's last-use stamp settles first

    counts = []
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = integration.get(f"/api/v1/leads/?page_size={size}")
        assert len(response.json()["results"]) == size
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert counts[0] <= 3


def test_it_serves_metrics_from_the_selectors(integration, qualified_lead, make_lead) -> None:
    make_lead()

    pipeline = integration.get("/api/v1/metrics/pipeline/").json()
    conversion = integration.get("/api/v1/metrics/conversion/").json()

    assert {row["stage"]: row["count"] for row in pipeline}["qualified"] == 1
    assert conversion[0] == {
        "from_stage": "engaged",
        "to_stage": "qualified",
        "entered": 2,
        "converted": 1,
        "rate": 0.5,
    }


def test_it_does_not_upsert_into_a_lead_sales_owns_now(integration, marketer, sales_rep) -> None:
    from leads.services.transitions import lead_hand_off

    data = {"email": "jo@acme.example", "source": "webform", "external_id": "wf-9"}
    lead_id = integration.post("/api/v1/leads/", data, format="json").json()["id"]
    lead_hand_off(lead=lead_id, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA)

    response = integration.post("/api/v1/leads/", {**data, "company": "New"}, format="json")

    assert response.status_code == 409
    assert response.json()["existing_id"] == lead_id
    assert Lead.objects.get().company == ""


def test_it_reads_history_in_constant_queries(integration, engaged_lead) -> None:
    from leads.services.leads import lead_update

    url = f"/api/v1/leads/{engaged_lead.pk}/history/"
    integration.get(url)
    with CaptureQueriesContext(connection) as few:
        integration.get(url)
    for n in range(10):
        lead_update(
            lead=engaged_lead.pk,
            actor=engaged_lead.created_by,
            fields={"phone": str(n)},
            expected_version=None,
        )
    with CaptureQueriesContext(connection) as many:
        integration.get(url)

    assert len(few) == len(many)
