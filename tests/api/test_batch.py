"""Batch create: a result per item in input order; bad items never sink the good ones."""

from __future__ import annotations

from leads.models import Lead, LeadEvent

BAD_INDEXES = (17, 500, 998)


def _items(count: int) -> list[dict]:
    return [
        {"email": f"prospect{n}@acme.example", "first_name": "Pat", "source": "webinar"}
        for n in range(count)
    ]


def test_it_creates_997_of_1000_and_reports_the_3_bad_by_index(integration) -> None:
    items = _items(1000)
    items[17]["email"] = "not-an-email"
    items[500] = {"email": "ok@acme.example", "first_name": 42 * "x" * 10}  # name too long
    items[998] = {"email": "fine@acme.example", "stage": "won"}  # protected field

    response = integration.post("/api/v1/leads/batch/", {"items": items}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"created": 997, "updated": 0, "duplicate": 0, "error": 3}
    assert [r["index"] for r in body["results"]] == list(range(1000))
    errors = {r["index"]: r["errors"] for r in body["results"] if r["status"] == "error"}
    assert sorted(errors) == list(BAD_INDEXES)
    assert errors[17][0]["pointer"] == "/items/17/email"
    assert errors[500][0]["pointer"] == "/items/500/first_name"
    assert errors[998][0]["pointer"] == "/items/998/stage"
    assert Lead.objects.count() == 997
    assert LeadEvent.objects.filter(kind="created").count() == 997


def test_it_reports_duplicates_with_the_existing_lead(integration, make_lead) -> None:
    existing = make_lead(email="jo@acme.example")
    items = [
        {"email": "JO+promo@acme.example"},  # same person as an open lead
        {"email": "new@acme.example"},
        {"email": "new@acme.example"},  # repeated within the batch
    ]

    body = integration.post("/api/v1/leads/batch/", {"items": items}, format="json").json()

    statuses = [(r["status"], r["id"]) for r in body["results"]]
    new_id = Lead.objects.get(email="new@acme.example").pk
    assert statuses == [("duplicate", existing.pk), ("created", new_id), ("duplicate", new_id)]


def test_it_upserts_by_source_and_external_id(integration) -> None:
    first = {"email": "jo@acme.example", "source": "hubspot", "external_id": "hs-1"}
    integration.post("/api/v1/leads/batch/", {"items": [first]}, format="json")
    again = {**first, "company": "Acme Logistics"}

    body = integration.post("/api/v1/leads/batch/", {"items": [again]}, format="json").json()

    lead = Lead.objects.get()
    assert body["results"][0] == {"index": 0, "status": "updated", "id": lead.pk, "errors": []}
    assert lead.company == "Acme Logistics"


def test_it_refuses_more_than_1000_items_with_413(integration) -> None:
    response = integration.post("/api/v1/leads/batch/", {"items": _items(1001)}, format="json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["pointer"] == "/items"
    assert not Lead.objects.exists()


def test_it_refuses_a_batch_without_items(integration) -> None:
    response = integration.post("/api/v1/leads/batch/", {"items": []}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "/items"
