"""Idempotency-Key: retries replay, a reused key with another body is refused, and
concurrent requests with one key create one lead."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from crm.api.idempotency import idempotency_purge
from crm.models import IdempotencyRecord
from leads.models import Lead
from leads.services.privacy import allow_history_rewrite

LEAD = {"email": "jo.bloggs@acme.example", "first_name": "Jo", "company": "Acme"}


def test_it_replays_the_first_response_for_a_retry(integration) -> None:
    key = str(uuid.uuid4())
    first = integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)
    retry = integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert retry["Location"] == first["Location"]
    assert Lead.objects.count() == 1


def test_a_replay_is_byte_identical_to_the_first_answer(integration, engaged_lead) -> None:
    """jsonb reorders an object's keys; the stored answer must be the bytes first sent."""
    key = str(uuid.uuid4())
    created = [
        integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)
        for _ in range(2)
    ]
    moved = [
        integration.post(
            f"/api/v1/leads/{engaged_lead.pk}/transitions/",
            {"transition": "win"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"{key}-refused",
        )
        for _ in range(2)
    ]

    for first, retry in (created, moved):
        assert retry["Idempotent-Replayed"] == "true"
        assert (retry.status_code, retry["Content-Type"]) == (
            first.status_code,
            first["Content-Type"],
        )
        assert retry.content == first.content
    assert list(created[1].json()) == list(created[0].json())


def test_it_replays_a_refusal_too(integration, make_lead) -> None:
    make_lead(email=LEAD["email"])
    key = str(uuid.uuid4())
    first = integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)
    retry = integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == retry.status_code == 409
    assert retry.json() == first.json()
    assert retry["Content-Type"] == "application/problem+json"


def test_it_refuses_the_same_key_with_another_body(integration) -> None:
    key = str(uuid.uuid4())
    integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)
    other = {**LEAD, "email": "someone.else@acme.example"}

    response = integration.post("/api/v1/leads/", other, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Lead.objects.count() == 1


def test_it_keeps_keys_apart_per_api_key(integration, key_client) -> None:
    key = str(uuid.uuid4())
    integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)
    other_integration = key_client(["leads:read", "leads:write"])
    body = {**LEAD, "email": "other@acme.example"}

    response = other_integration.post(
        "/api/v1/leads/", body, format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert response.status_code == 201


@pytest.mark.parametrize("bad_key", ["short", "x" * 256, "has spaces in it"])
def test_it_refuses_a_malformed_key(integration, bad_key: str) -> None:
    response = integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=bad_key)

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "/Idempotency-Key"
    assert not Lead.objects.exists()


def test_it_keeps_keys_for_a_day_then_purges_them(integration) -> None:
    key = str(uuid.uuid4())
    integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)
    now = timezone.now()

    assert idempotency_purge(now=now + timedelta(hours=23, minutes=59)) == 0
    assert idempotency_purge(now=now + timedelta(hours=24, minutes=1)) == 1
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_creates_one_lead_for_twenty_concurrent_requests(issue_key) -> None:
    raw_key = issue_key(scopes=["leads:read", "leads:write"]).raw_key
    key = str(uuid.uuid4())
    barrier = threading.Barrier(20)
    responses: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def post() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        try:
            barrier.wait(timeout=10)
            response = client.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)
            with lock:
                responses.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(responses) == 20
    assert Lead.objects.count() == 1
    lead_id = Lead.objects.get().pk
    statuses = {code for code, _ in responses}
    assert statuses <= {201, 409}, statuses
    for code, body in responses:
        if code == 201:
            assert body["id"] == lead_id
        else:
            assert body["code"] == "in_progress"
    assert any(code == 201 for code, _ in responses)


def test_it_answers_in_progress_while_the_first_request_runs(integration) -> None:
    key = str(uuid.uuid4())
    integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)
    IdempotencyRecord.objects.update(status_code=None, response_body=None)  # still running

    response = integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 409
    assert response.json()["code"] == "in_progress"
    assert response["Retry-After"] == "1"


def test_it_takes_over_a_key_whose_request_died(integration) -> None:
    key = str(uuid.uuid4())
    integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)
    with transaction.atomic():
        allow_history_rewrite()  # the lead's history goes with it; append-only otherwise
        Lead.objects.all().delete()
    IdempotencyRecord.objects.update(
        status_code=None, response_body=None, created_at=timezone.now() - timedelta(minutes=5)
    )

    response = integration.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().status_code == 201
