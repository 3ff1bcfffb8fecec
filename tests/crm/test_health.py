"""Liveness and readiness probes, and a hung database answered with 503 in seconds."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from crm.keys import api_key_create
from crm.models import ApiScope
from tests.hung_server import hung_server

pytestmark = pytest.mark.django_db

CHECKS = {"database", "migrations", "sweep_lag", "redis", "broker"}


@pytest.mark.redis
def test_readyz_names_every_check_and_answers_200_when_all_pass(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == CHECKS
    assert body["failing"] == []
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_answers_503_naming_redis_when_redis_cannot_be_reached(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["redis"]
    assert body["checks"]["redis"]["detail"].startswith("ConnectionError")
    assert response["Retry-After"]


def _in_thread(requests: list[tuple[str, dict[str, str]]], timeout: float) -> list[Any]:
    """Send the requests from a fresh thread (so a fresh database connection), giving up
    after `timeout` seconds: a request that hangs leaves its slot empty."""
    answers: list[Any] = [None] * len(requests)

    def send() -> None:
        client = Client()
        for index, (path, headers) in enumerate(requests):
            answers[index] = client.get(path, headers=headers)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    thread.join(timeout)
    return answers


@pytest.mark.postgres
def test_a_hung_database_answers_503_within_seconds_and_healthz_says_it_is_down(
    monkeypatch, manager
):
    key = api_key_create(actor=None, name="probe", scopes=[ApiScope.LEADS_READ], user=manager)
    with hung_server() as frozen_postgres:
        monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connection.settings_dict, "PORT", str(frozen_postgres.port))
        healthz, readyz, api, page = _in_thread(
            [
                ("/healthz", {}),
                ("/readyz", {}),
                ("/api/v1/leads/", {"Authorization": f"Bearer {key.raw_key}"}),
                ("/", {"Cookie": "sessionid=not-a-session-but-read-from-the-database"}),
            ],
            timeout=60,
        )
    assert healthz is not None, "/healthz hung on a frozen database"
    assert (healthz.status_code, healthz.json()) == (200, {"status": "ok", "database": "down"})
    assert readyz is not None and readyz.status_code == 503
    assert "database" in readyz.json()["failing"]
    assert api is not None and api.status_code == 503
    assert api["Content-Type"] == "application/problem+json"
    assert api["Retry-After"]
    assert page is not None and page.status_code == 503
    assert page["Retry-After"]


@pytest.mark.postgres
def test_the_database_connection_carries_statement_and_idle_timeouts():
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        statement = cursor.fetchone()[0]
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        idle = cursor.fetchone()[0]
    assert statement not in {"0", "0ms"}
    assert idle not in {"0", "0ms"}
