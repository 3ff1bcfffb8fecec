"""Monitoring for Prometheus at `/metrics`: request rates and latencies per view, and the
product's own figures (sweep lag and flags, outbox backlog, webhook outcomes, imports, task
failures).

prometheus-client rather than django-prometheus: the figures that matter are read from the
database at scrape time (the truth every process shares), and request timing is one
middleware; django-prometheus would swap in its own database and cache backends for figures
we do not need. Counters that workers produce (sweep flags, task failures) live in the
shared cache, so any web process's scrape sees them; request metrics are per process, or
shared through files when `PROMETHEUS_MULTIPROC_DIR` is set (docs/operations.md).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from crm.circuit import Breaker
from crm.outbox import outbox_backlog
from leads.models import ImportJob
from leads.services.imports import stalled_q, unfinished_imports
from sla.models import WebhookDelivery
from sla.selectors import sweep_lag
from sla.webhooks import IN_FLIGHT

logger = logging.getLogger("handoff.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# ---------------------------------------------------------------- counters in the shared cache

COUNTER_PREFIX = "metrics:"
SWEEP_FLAGGED = "sla_sweep_flagged"
SWEEP_RUNS = "sla_sweep_runs"
TASK_FAILURES = "celery_task_failures"
FLAG_STATES = ("at_risk", "breached")
_counter_breaker = Breaker(5.0)


def count(name: str, label: str = "", amount: int = 1) -> None:
    """Add to a shared counter. Never raises: a cache that is down loses a few counts, not
    the task that counted."""
    if amount <= 0 or _counter_breaker.is_open():
        return
    key = f"{COUNTER_PREFIX}{name}:{label}"
    try:
        if not cache.add(key, amount, timeout=None):
            cache.incr(key, amount)
    except Exception:
        _counter_breaker.trip()
        logger.warning("metrics counter %s not counted: cache unavailable", key)


def _read_counters(name: str, labels: list[str]) -> dict[str, int]:
    if _counter_breaker.is_open():
        return {}
    keys = {f"{COUNTER_PREFIX}{name}:{label}": label for label in labels}
    try:
        found = cache.get_many(list(keys))
    except Exception:
        _counter_breaker.trip()
        return {}
    return {keys[key]: int(value) for key, value in found.items()}


# ---------------------------------------------------------------- request timing

_requests = CollectorRegistry()
REQUEST_SECONDS = Histogram(
    "handoff_http_request_duration_seconds",
    "Time to answer a request, by view name, method and status code.",
    ["view", "method", "status"],
    registry=_requests,
)


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        REQUEST_SECONDS.labels(
            view=match.view_name if match else "unmatched",
            method=request.method if request.method in KNOWN_METHODS else "other",
            status=str(response.status_code),
        ).observe(time.perf_counter() - started)
        return response


KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

# ---------------------------------------------------------------- figures from the database


def import_counts(now: datetime) -> dict[str, int]:
    """Imports waiting or running, and those of them that stalled (the rule beat uses to
    resume them, leads.services.imports.stalled_q)."""
    return unfinished_imports().aggregate(
        queued=Count("id", filter=Q(status=ImportJob.Status.QUEUED)),
        running=Count("id", filter=Q(status=ImportJob.Status.RUNNING)),
        stalled=Count("id", filter=stalled_q(now)),
    )


def webhook_outcomes() -> dict[str, int]:
    counts = WebhookDelivery.objects.aggregate(
        outcome_succeeded=Count("id", filter=Q(succeeded=True)),
        outcome_in_flight=Count("id", filter=Q(succeeded=False, error=IN_FLIGHT)),
        outcome_failed=Count("id", filter=Q(succeeded=False) & ~Q(error=IN_FLIGHT)),
    )
    return {key.removeprefix("outcome_"): value for key, value in counts.items()}


class ProductCollector(Collector):
    """Read at scrape time: five queries, whatever the size of the tables' open parts."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now
        yield GaugeMetricFamily(
            "handoff_sla_sweep_lag_seconds",
            "How long the oldest open clock past its due time has waited for the sweep.",
            value=sweep_lag(now=now).total_seconds(),
        )
        flagged = CounterMetricFamily(
            "handoff_sla_sweep_flagged",
            "Clocks the sweep flagged, by the state it set.",
            labels=["state"],
        )
        found = _read_counters(SWEEP_FLAGGED, list(FLAG_STATES))
        for state in FLAG_STATES:
            flagged.add_metric([state], found.get(state, 0))
        yield flagged
        yield CounterMetricFamily(
            "handoff_sla_sweep_runs",
            "Sweep runs finished.",
            value=_read_counters(SWEEP_RUNS, [""]).get("", 0),
        )
        yield from _outbox_metrics(now)
        outcomes = CounterMetricFamily(
            "handoff_webhook_deliveries",
            "Webhook delivery attempts by outcome (in_flight: sent, no answer recorded).",
            labels=["outcome"],
        )
        for outcome, value in webhook_outcomes().items():
            outcomes.add_metric([outcome], value)
        yield outcomes
        imports = GaugeMetricFamily(
            "handoff_imports",
            "CSV imports by state; stalled ones are also queued or running.",
            labels=["state"],
        )
        for state, value in import_counts(now).items():
            imports.add_metric([state], value)
        yield imports
        failures = CounterMetricFamily(
            "handoff_celery_task_failures", "Celery tasks that raised, by task.", labels=["task"]
        )
        for task, value in sorted(_read_counters(TASK_FAILURES, _task_names()).items()):
            failures.add_metric([task], value)
        yield failures


def _outbox_metrics(now: datetime) -> Iterator[Metric]:
    pending = GaugeMetricFamily(
        "handoff_outbox_pending", "Messages waiting for delivery, by channel.", labels=["channel"]
    )
    failed = GaugeMetricFamily(
        "handoff_outbox_failed", "Messages given up after every retry.", labels=["channel"]
    )
    oldest = GaugeMetricFamily(
        "handoff_outbox_oldest_pending_age_seconds",
        "How long the oldest pending message has waited, by channel.",
        labels=["channel"],
    )
    for row in outbox_backlog(now=now):
        pending.add_metric([row.channel], row.pending)
        failed.add_metric([row.channel], row.failed)
        oldest.add_metric([row.channel], row.oldest_pending_age.total_seconds())
    yield from (pending, failed, oldest)


def _task_names() -> list[str]:
    from celery import current_app

    return sorted(name for name in current_app.tasks if not name.startswith("celery."))


# ---------------------------------------------------------------- exposition and access


def scrape(now: datetime) -> bytes:
    """The exposition text: request metrics (every process's, in multiprocess mode) then
    the product's figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        requests_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests_registry)
    else:
        requests_registry = _requests
    product = CollectorRegistry()
    product.register(ProductCollector(now))
    return generate_latest(requests_registry) + generate_latest(product)


def scrape_allowed(request: HttpRequest) -> bool:
    """A bearer token equal to METRICS_TOKEN, or a client address in METRICS_ALLOWED_IPS;
    with neither configured nobody may scrape."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    return request.META.get("REMOTE_ADDR", "") in settings.METRICS_ALLOWED_IPS
