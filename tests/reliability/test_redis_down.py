"""Redis stopped while leads are posted: every request is accepted quickly, and once Redis
is back beat and a worker deliver every pending notification exactly once."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db.models import Count

from crm.keys import api_key_create
from crm.models import ApiScope, Notification, OutboxChannel, OutboxMessage
from leads.models import Lead
from leads.services.transitions import lead_hand_off
from sla.models import Breach
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import BusinessCalendarFactory, SlaPolicyFactory
from tests.reliability.conftest import (
    MONDAY_10AM,
    PrivateRedis,
    Processes,
    app_env,
    shared_database_url,
    wait_for,
)

OVERDUE_LEADS = 100
NEW_LEADS = 100


@pytest.fixture
def accept_policy(manager):
    calendar = BusinessCalendarFactory(actor=manager, name="Sales hours", now=MONDAY_10AM)
    return SlaPolicyFactory(
        actor=manager,
        name="Accept within 4 business hours",
        calendar=calendar,
        now=MONDAY_10AM,
    )


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_posts_while_redis_is_down_are_accepted_and_notified_once_after(
    private_redis: PrivateRedis,
    processes: Processes,
    tmp_path: Path,
    make_lead,
    marketer,
    sales_rep,
    manager,
    accept_policy,
):
    # Leads handed to the rep days ago: accepting one now records a breach, whose
    # notifications go through the outbox (and whose hints go to the broker).
    handed_at = MONDAY_10AM - timedelta(days=7)
    overdue = []
    for n in range(OVERDUE_LEADS):
        lead = make_lead(email=f"overdue{n}@example.com", now=handed_at - timedelta(hours=1))
        overdue.append(
            lead_hand_off(
                lead=lead,
                actor=marketer,
                assignee=sales_rep,
                criteria=ALL_REQUIRED_CRITERIA,
                now=handed_at,
            )
        )
    scopes = [ApiScope.LEADS_READ, ApiScope.LEADS_WRITE]
    form_key = api_key_create(actor=None, name="Web form", scopes=scopes).raw_key
    rep_key = api_key_create(actor=None, name="Rep", scopes=scopes, user=sales_rep).raw_key

    env = app_env(
        database_url=shared_database_url(),
        redis_url=private_redis.url,
        var_dir=tmp_path,
        OUTBOX_ENQUEUE_HINTS="1",
        SLA_SWEEP_SECONDS="1",
        OUTBOX_DRAIN_SECONDS="1",
    )
    base = processes.gunicorn(env)
    # Warm each web worker up while Redis is there: first-request imports are not the point.
    with requests.Session() as http:
        for _ in range(6):
            warm = http.get(
                f"{base}/api/v1/leads/", headers={"Authorization": f"Bearer {form_key}"}, timeout=10
            )
            assert warm.status_code == 200
    private_redis.stop()

    latencies: list[float] = []
    statuses: list[int] = []
    with requests.Session() as http:

        def post(path: str, key: str, body: dict) -> None:
            started = time.monotonic()
            response = http.post(
                f"{base}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10
            )
            latencies.append(time.monotonic() - started)
            statuses.append(response.status_code)

        for n in range(NEW_LEADS):
            post("/api/v1/leads/", form_key, {"email": f"new{n}@example.com", "company": "Acme"})
        for lead in overdue:
            post(f"/api/v1/leads/{lead.pk}/transitions/", rep_key, {"transition": "accept"})

    assert statuses[:NEW_LEADS] == [201] * NEW_LEADS
    assert statuses[NEW_LEADS:] == [200] * OVERDUE_LEADS
    assert max(latencies) < 2.0, f"slowest request took {max(latencies):.2f}s"
    assert Lead.objects.filter(email__startswith="new").count() == NEW_LEADS
    assert Lead.objects.filter(accepted_at__isnull=False).count() == OVERDUE_LEADS
    assert Breach.objects.filter(processed_at__isnull=True).count() == OVERDUE_LEADS
    assert not Notification.objects.exists()  # nothing could be delivered yet

    # Redis returns; beat's periodic sweep and re-drain pick everything up.
    private_redis.start()
    processes.worker("worker", env)
    processes.celery("beat", env, "beat", "-s", str(tmp_path / "beat-schedule"))
    wait_for(
        lambda: (
            not Breach.objects.filter(processed_at__isnull=True).exists()
            and OutboxMessage.objects.exists()
            and not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()
        ),
        timeout=60,
        what="beat and the worker to notify every breach",
    )
    time.sleep(2)  # another beat tick: a second delivery would show now

    in_app = OutboxMessage.objects.filter(channel=OutboxChannel.IN_APP)
    # The owner and the manager hear about each breach, once each.
    assert in_app.count() == OVERDUE_LEADS * 2
    assert Notification.objects.count() == in_app.count()
    assert set(Notification.objects.values_list("delivery_key", flat=True)) == set(
        in_app.values_list("delivery_key", flat=True)
    )
    assert not Notification.objects.values("delivery_key").annotate(n=Count("id")).filter(n__gt=1)
    assert Notification.objects.filter(user=sales_rep).count() == OVERDUE_LEADS
    assert Notification.objects.filter(user=manager).count() == OVERDUE_LEADS
    assert not OutboxMessage.objects.filter(attempts__gt=1).exists()
