"""Ten integrations send the same (source, external_id) at the same moment, on real
PostgreSQL connections: one creates the lead, the nine others become its updates. The unique
index decides the race; the loser's insert is retried as the update (once), never a 409 that
drops the change. SQLite serialises whole transactions, which would hide the race."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection
from rest_framework.test import APIClient

from crm.models import ApiScope
from leads.models import Lead, LeadEvent

SENDERS = 10
PHONES = [f"+44 20 7946 {n:04d}" for n in range(SENDERS)]


def race(post: Callable[[APIClient, int], int], raw_keys: list[str]) -> list[int]:
    """Call `post(client, n)` once per key, all at the same moment, each on its own
    connection; what each call returned."""
    barrier = threading.Barrier(len(raw_keys))
    answers: list[int] = []
    lock = threading.Lock()

    def send(n: int, raw_key: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        try:
            barrier.wait(timeout=10)
            answer = post(client, n)
            with lock:
                answers.append(answer)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n, k)) for n, k in enumerate(raw_keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.fixture
def raw_keys(issue_key) -> list[str]:
    scopes = [ApiScope.LEADS_READ, ApiScope.LEADS_WRITE]
    return [issue_key(name=f"Sync {n}", scopes=scopes).raw_key for n in range(SENDERS)]


def _item(n: int) -> dict[str, str]:
    return {
        "email": "race@acme.example",
        "source": "hubspot",
        "external_id": "hs-42",
        "phone": PHONES[n],
    }


def _the_lead_took_every_update() -> None:
    lead = Lead.objects.get()
    assert lead.phone in PHONES
    kinds = Counter(LeadEvent.objects.filter(lead=lead).values_list("kind", flat=True))
    # Each sender's phone differs, so each of the nine updates changed something.
    assert kinds == {LeadEvent.Kind.CREATED: 1, LeadEvent.Kind.UPDATED: SENDERS - 1}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_creates_with_one_external_id_become_one_create_and_updates(raw_keys):
    statuses = race(
        lambda client, n: client.post("/api/v1/leads/", _item(n), format="json").status_code,
        raw_keys,
    )

    assert sorted(statuses) == [200] * (SENDERS - 1) + [201]
    _the_lead_took_every_update()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_batches_with_one_external_id_become_one_create_and_updates(raw_keys):
    def post(client: APIClient, n: int) -> str:
        body = client.post("/api/v1/leads/batch/", {"items": [_item(n)]}, format="json").json()
        return body["results"][0]["status"]

    outcomes = race(post, raw_keys)

    assert Counter(outcomes) == {"created": 1, "updated": SENDERS - 1}
    _the_lead_took_every_update()
