"""Two clients edit the same lead with the same ETag at the same moment, on real connections.

The row lock in lead_update orders them; the version check then refuses the second: one
200, one 412, and the version rises by exactly one. SQLite serialises whole transactions,
which would hide a missing lock, hence PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from crm.models import ApiScope
from leads.models import Lead, LeadEvent

ROUNDS = 3


def race(url: str, edits: list[tuple[str, str]], version: int) -> list[int]:
    """PATCH `url` once per (API key, phone), all at the same moment, each on its own
    connection, every one with If-Match of `version`; the statuses answered."""
    barrier = threading.Barrier(len(edits))
    statuses: list[int] = []
    lock = threading.Lock()

    def patch(raw_key: str, phone: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        try:
            barrier.wait(timeout=10)
            response = client.patch(
                url, {"phone": phone}, format="json", HTTP_IF_MATCH=f'"{version}"'
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=patch, args=edit) for edit in edits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_of_two_concurrent_edits_with_the_same_etag_wins(issue_key, engaged_lead) -> None:
    keys = [
        issue_key(name=f"Sync {n}", scopes=[ApiScope.LEADS_READ, ApiScope.LEADS_WRITE]).raw_key
        for n in range(2)
    ]
    url = f"/api/v1/leads/{engaged_lead.pk}/"

    for round_number in range(ROUNDS):
        before = Lead.objects.get(pk=engaged_lead.pk).version
        events_before = LeadEvent.objects.filter(lead_id=engaged_lead.pk).count()

        statuses = race(
            url,
            [(key, f"+44 20 7946 {round_number}{n}00") for n, key in enumerate(keys)],
            before,
        )

        assert sorted(statuses) == [200, 412]
        assert Lead.objects.get(pk=engaged_lead.pk).version == before + 1
        assert LeadEvent.objects.filter(lead_id=engaged_lead.pk).count() == events_before + 1
