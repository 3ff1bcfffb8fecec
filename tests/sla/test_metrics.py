"""/metrics: refused without the token; the sweep's lag and flag counters, the outbox backlog
and request timings move with what happens."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from sla.tasks import sweep
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests-0123456789"


@pytest.fixture
def scrape_token(settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return TOKEN


def samples(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Token {TOKEN}", "Bearer "])
def test_metrics_are_refused_without_the_token(client, scrape_token, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 403
    assert b"handoff_" not in response.content


def test_metrics_are_refused_to_everyone_when_nothing_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_an_allowed_address_may_scrape_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.9.9.9").status_code == 403


@pytest.mark.redis
def test_after_a_sweep_the_lag_falls_and_the_flag_counters_move(
    client, scrape_token, hand_off, accept_policy
):
    hand_off()
    late = MONDAY_10AM + timedelta(days=1)
    breached = ("handoff_sla_sweep_flagged_total", (("state", "breached"),))
    runs = ("handoff_sla_sweep_runs_total", ())
    lag = ("handoff_sla_sweep_lag_seconds", ())
    fan_out = ("handoff_outbox_pending", (("channel", "fan_out"),))
    with time_machine.travel(late, tick=False):
        before = samples(client)
        sweep()
        after = samples(client)
    assert before[lag] > 3600
    assert after[lag] == 0
    assert after[breached] == before[breached] + 1
    assert after[runs] == before[runs] + 1
    # The breach's notices wait in the outbox for the drain (which expands them).
    assert after[fan_out] > before[fan_out] == 0


def test_requests_are_timed_per_view(client, scrape_token, db):
    client.get("/healthz")
    client.get("/healthz")
    found = samples(client)
    counts = {
        labels: value
        for (name, labels), value in found.items()
        if name == "handoff_http_request_duration_seconds_count"
        and dict(labels)["view"] == "healthz"
    }
    assert sum(counts.values()) >= 2
    assert {dict(labels)["status"] for labels in counts} == {"200"}


@pytest.mark.redis
def test_a_failing_task_is_counted(client, scrape_token):
    from celery.signals import task_failure

    from crm.celery import app as celery_app

    celery_app.loader.import_default_modules()
    task = celery_app.tasks["sla.tasks.sweep"]
    key = ("handoff_celery_task_failures_total", (("task", "sla.tasks.sweep"),))
    before = samples(client).get(key, 0)
    task_failure.send(sender=task, task_id="t-1", exception=RuntimeError("boom"))
    assert samples(client)[key] == before + 1


def test_imports_are_counted_queued_running_and_stalled(client, scrape_token, marketer, settings):
    from datetime import timedelta

    from django.utils import timezone

    from leads.models import ImportJob

    now = timezone.now()
    settings.IMPORT_STALLED_SECONDS = 120
    common = {"created_by": marketer, "created_at": now, "filename": "a.csv", "content": "x"}
    ImportJob.objects.create(status="queued", progressed_at=now, **common)
    ImportJob.objects.create(status="running", progressed_at=now - timedelta(minutes=5), **common)
    ImportJob.objects.create(status="done", progressed_at=now - timedelta(days=1), **common)
    found = samples(client)
    assert [
        found[("handoff_imports", (("state", s),))] for s in ("queued", "running", "stalled")
    ] == [
        1,
        1,
        1,
    ]
