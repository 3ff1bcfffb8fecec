"""With a read replica configured, the dashboard, reports and exports read from it and
writes never go there (each query checked by the connection that ran it)."""

from __future__ import annotations

import re

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.models import ApiScope
from leads.models import Campaign

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.replica,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@pytest.fixture
def replica_on(settings) -> None:
    settings.READ_FROM_REPLICA = True


def tables(queries: list[dict]) -> set[str]:
    return {name for q in queries for name in re.findall(r'FROM "(\w+)"', q["sql"])}


def test_the_dashboard_reads_from_the_replica(client, manager, replica_on):
    # A campaign only the replica holds proves which database the page read.
    Campaign.objects.using("replica").create(name="Seen only on the replica")
    client.force_login(manager)
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client.get("/")
    assert response.status_code == 200
    assert "Seen only on the replica" in response.content.decode()
    assert len(replica.captured_queries) >= 5
    assert not [q for q in replica.captured_queries if WRITE.match(q["sql"])]
    # The primary only answered who is signed in (and saved the session, if it changed).
    assert tables(primary.captured_queries) <= {"django_session", "crm_user"}


def test_the_breach_export_streams_from_the_replica(client, manager, replica_on):
    client.force_login(manager)
    with CaptureQueriesContext(connections["replica"]) as replica:
        response = client.get("/sla/breaches.csv")
        body = b"".join(response.streaming_content)
    assert response.status_code == 200, body[:200]
    assert "sla_breach" in tables(replica.captured_queries)


def test_writes_and_reading_them_back_stay_on_the_primary(manager, replica_on, key_for):
    client = key_for(manager)
    with CaptureQueriesContext(connections["replica"]) as replica:
        created = client.post(
            "/api/v1/leads/",
            {"email": "replica-check@acme.example", "first_name": "Rae", "last_name": "Plica"},
            format="json",
        )
        read_back = client.get(f"/api/v1/leads/{created.json()['id']}/")
    assert created.status_code == 201, created.content
    assert read_back.status_code == 200
    assert replica.captured_queries == []


@pytest.fixture
def key_for():
    from crm.keys import api_key_create

    def make(user) -> APIClient:
        key = api_key_create(
            actor=None,
            name="replica",
            scopes=[ApiScope.LEADS_READ, ApiScope.LEADS_WRITE],
            user=user,
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
        return client

    return make
