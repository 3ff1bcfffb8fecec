"""The sweep: flag at-risk and breached clocks, then notify new breaches in a claimed step.

Every step claims rows with one conditional, batched UPDATE ... RETURNING whose WHERE repeats
the state it expects, so two sweeps at once, a replayed task or a worker killed mid-batch
never flag or notify a row twice: a batch commits whole or not at all, and a row another
sweep already changed no longer matches. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets a second
sweep take other rows instead of waiting. The cost follows the due rows, through the partial
indexes `slaclock_open_due_idx` and `slaclock_running_risk_idx`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from crm.outbox import outbox_write
from sla.escalation import active_managers, at_risk_deliveries, breach_deliveries
from sla.models import Breach, ClockState, SlaClock, WebhookEndpoint
from sla.services import breaches_record, record_clock_events

BATCH_SIZE = 500
MAX_BATCHES = 40


@dataclass
class SweepResult:
    at_risk: int = 0
    breached: int = 0
    notified: int = 0

    def __str__(self) -> str:
        return f"{self.breached} breached, {self.at_risk} at risk, {self.notified} notified"


def _skip_locked() -> str:
    return " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""


def _id_in(subquery: str) -> str:
    """`id IN (subquery)`. On PostgreSQL the subquery runs once, as an InitPlan feeding the
    primary key: with `id IN (...)` and statistics from before a backlog (an estimate of one
    row), the planner may pick a nested loop that re-runs the locking subquery for every
    candidate row, and a 100,000-breach backlog then stalls for minutes."""
    if connection.vendor == "postgresql":
        return f"id = ANY(ARRAY({subquery}))"
    return f"id IN ({subquery})"


def _claim(sql: str, params: list[object]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _flag_breached(now: datetime, limit: int) -> list[int]:
    """Open clocks past due become breached, with breached_at = due_at (never the sweep time)."""
    return _claim(*breached_claim_sql(now, limit))


def breached_claim_sql(now: datetime, limit: int) -> tuple[str, list[object]]:
    table = SlaClock._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)
    # Uses slaclock_open_due_idx (partial: state IN running, at_risk).
    sql = (
        f"UPDATE {table} SET state = %s, breached_at = due_at "
        "WHERE "
        + _id_in(
            f"SELECT id FROM {table} WHERE state IN (%s, %s) AND due_at <= %s "
            f"ORDER BY due_at LIMIT %s{_skip_locked()}"
        )
        + " AND state IN (%s, %s) RETURNING id"
    )
    open_states = [ClockState.RUNNING.value, ClockState.AT_RISK.value]
    return sql, [ClockState.BREACHED.value, *open_states, at, limit, *open_states]


def _flag_at_risk(now: datetime, limit: int) -> list[int]:
    return _claim(*at_risk_claim_sql(now, limit))


def at_risk_claim_sql(now: datetime, limit: int) -> tuple[str, list[object]]:
    table = SlaClock._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)
    # Uses slaclock_running_risk_idx (partial: state = running).
    sql = (
        f"UPDATE {table} SET state = %s "
        "WHERE "
        + _id_in(
            f"SELECT id FROM {table} WHERE state = %s AND at_risk_at <= %s "
            f"AND due_at > %s ORDER BY at_risk_at LIMIT %s{_skip_locked()}"
        )
        + " AND state = %s RETURNING id"
    )
    running = ClockState.RUNNING.value
    return sql, [ClockState.AT_RISK.value, running, at, at, limit, running]


def _claim_unprocessed_breaches(now: datetime, limit: int) -> list[int]:
    table = Breach._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)
    # Uses breach_unprocessed_idx (partial: processed_at IS NULL).
    sql = (
        f"UPDATE {table} SET processed_at = %s "
        "WHERE "
        + _id_in(
            f"SELECT id FROM {table} WHERE processed_at IS NULL "
            f"ORDER BY id LIMIT %s{_skip_locked()}"
        )
        + " AND processed_at IS NULL RETURNING id"
    )
    return _claim(sql, [at, limit])


def sla_sweep(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
    dry_run: bool = False,
) -> SweepResult:
    """Flag due clocks and notify new breaches; each batch is one transaction."""
    now = now or timezone.now()
    result = SweepResult()
    if dry_run:
        result.breached = SlaClock.objects.past_due(now).count()
        result.at_risk = SlaClock.objects.filter(
            state=ClockState.RUNNING, at_risk_at__lte=now, due_at__gt=now
        ).count()
        result.notified = Breach.objects.filter(processed_at__isnull=True).count()
        return result
    for _ in range(max_batches):
        with transaction.atomic():
            ids = _flag_breached(now, batch_size)
            if ids:
                clocks = list(SlaClock.objects.filter(pk__in=ids).select_related("policy"))
                breaches_record(clocks, now=now)
                record_clock_events(
                    [
                        (
                            c.lead_id,
                            c.due_at,
                            {
                                "policy": c.policy.name,
                                "state": ["open", ClockState.BREACHED],
                                "flagged_at": now.isoformat(),
                            },
                            "",
                        )
                        for c in clocks
                    ]
                )
        result.breached += len(ids)
        if len(ids) < batch_size:
            break
    for _ in range(max_batches):
        with transaction.atomic():
            ids = _flag_at_risk(now, batch_size)
            if ids:
                clocks = list(SlaClock.objects.filter(pk__in=ids).select_related("policy"))
                record_clock_events(
                    [
                        (
                            c.lead_id,
                            c.at_risk_at,
                            {
                                "policy": c.policy.name,
                                "state": [ClockState.RUNNING, ClockState.AT_RISK],
                            },
                            "",
                        )
                        for c in clocks
                    ]
                )
                outbox_write(at_risk_deliveries(clocks, now), now=now)
        result.at_risk += len(ids)
        if len(ids) < batch_size:
            break
    result.notified = breaches_notify(now=now, batch_size=batch_size, max_batches=max_batches)
    return result


def breaches_notify(
    *, now: datetime | None = None, batch_size: int = BATCH_SIZE, max_batches: int = MAX_BATCHES
) -> int:
    """Second claimed step: write each new breach's deliveries to the outbox, exactly once."""
    now = now or timezone.now()
    notified = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = _claim_unprocessed_breaches(now, batch_size)
            if ids:
                endpoints = list(WebhookEndpoint.objects.filter(active=True))
                breaches = (
                    Breach.objects.filter(pk__in=ids)
                    .select_related("policy", "owner", "commitment")
                    .prefetch_related("policy__escalate_to", "commitment__escalate_to")
                )
                managers = active_managers()
                deliveries = [
                    d for b in breaches for d in breach_deliveries(b, endpoints, managers)
                ]
                outbox_write(deliveries, now=now)
        notified += len(ids)
        if len(ids) < batch_size:
            break
    return notified
