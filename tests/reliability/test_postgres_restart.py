"""PostgreSQL restarted while a client streams posts: clients only ever see 503 (with
Retry-After) during the restart, and afterwards every lead that was answered 2xx exists
exactly once: retrying a 503 with the same Idempotency-Key never makes a second lead."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
import requests

from tests.reliability.conftest import ROOT, PrivateCluster, Processes, app_env, wait_for

SETUP = """
from crm.keys import api_key_create
from crm.models import ApiScope, Role
from crm.services import user_create
user_create(username="max", role=Role.MANAGER, password="a-long-enough-password-1")
scopes = [ApiScope.LEADS_READ, ApiScope.LEADS_WRITE]
key = api_key_create(actor=None, name="Web form", scopes=scopes)
print(key.raw_key)
"""


@dataclass
class Stream:
    base: str
    api_key: str
    stop: threading.Event = field(default_factory=threading.Event)
    api_statuses: list[int] = field(default_factory=list)
    page_statuses: list[int] = field(default_factory=list)
    answered: dict[str, int] = field(default_factory=dict)  # email -> lead id from the 2xx
    retry_after: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def post_until_answered(self, http: requests.Session, email: str) -> None:
        """One lead, retried with the same key and body until it gets a 2xx."""
        key = str(uuid.uuid4())
        for _ in range(200):
            response = http.post(
                f"{self.base}/api/v1/leads/",
                json={"email": email, "first_name": "Stream", "company": "Acme"},
                headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": key},
                timeout=20,
            )
            self.api_statuses.append(response.status_code)
            if response.status_code in (200, 201):
                self.answered[email] = response.json()["id"]
                return
            if response.status_code == 503:
                assert response.headers["Content-Type"] == "application/problem+json"
                self.retry_after.add(response.headers.get("Retry-After", ""))
            time.sleep(0.05)
        self.errors.append(f"{email} never got a 2xx")

    def run(self, page: requests.Session) -> None:
        try:
            with requests.Session() as http:
                n = 0
                while not self.stop.is_set():
                    self.post_until_answered(http, f"stream{n}@example.com")
                    n += 1
                    self.page_statuses.append(
                        page.get(f"{self.base}/leads/", timeout=20).status_code
                    )
        except Exception as exc:  # surfaced by the test, not lost in the thread
            self.errors.append(repr(exc))


def _signed_in(base: str) -> requests.Session:
    page = requests.Session()
    page.get(f"{base}/login/", timeout=10)
    response = page.post(
        f"{base}/login/",
        data={
            "username": "max",
            "password": "a-long-enough-password-1",
            "csrfmiddlewaretoken": page.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/login/"},
        timeout=10,
    )
    assert response.ok and "sessionid" in page.cookies
    return page


@pytest.mark.postgres
def test_a_postgres_restart_mid_stream_loses_and_doubles_nothing(
    private_cluster: PrivateCluster, processes: Processes, tmp_path: Path
):
    env = app_env(
        database_url=private_cluster.url,
        redis_url="",
        var_dir=tmp_path,
        OUTBOX_ENQUEUE_HINTS="0",
        API_KEY_RATE="100000/min",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    setup = subprocess.run(
        [*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, timeout=60,
        capture_output=True, text=True,
    )  # fmt: skip
    api_key = setup.stdout.strip().splitlines()[-1]
    base = processes.gunicorn(env)

    stream = Stream(base=base, api_key=api_key)
    page = _signed_in(base)
    thread = threading.Thread(target=stream.run, args=(page,))
    thread.start()
    try:
        wait_for(lambda: len(stream.answered) >= 20, 60, "the stream to get going")
        private_cluster.restart()
        restarted_at = len(stream.answered)
        wait_for(lambda: len(stream.answered) >= restarted_at + 20, 60, "the stream to recover")
    finally:
        stream.stop.set()
        thread.join(timeout=60)
        page.close()

    assert not stream.errors, stream.errors
    assert set(stream.api_statuses) <= {200, 201, 503}, stream.api_statuses
    assert set(stream.page_statuses) <= {200, 503}, stream.page_statuses
    assert 503 in stream.api_statuses + stream.page_statuses, "the restart went unnoticed"
    assert stream.retry_after <= {"5"}

    with psycopg2.connect(private_cluster.url) as db, db.cursor() as cursor:
        cursor.execute(
            "SELECT email, array_agg(id) FROM leads_lead WHERE email LIKE 'stream%%' GROUP BY email"
        )
        stored = {email: ids for email, ids in cursor.fetchall()}
    db.close()
    assert set(stored) == set(stream.answered)  # nothing lost, nothing unanswered kept
    for email, lead_id in stream.answered.items():
        assert stored[email] == [lead_id], email  # exactly once, and the one answered
