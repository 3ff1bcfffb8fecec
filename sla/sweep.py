"""The sweep: flag at-risk and breached clocks, then notify new breaches in a claimed step.

Every step claims rows with one conditional, batched UPDATE ... RETURNING whose WHERE repeats
the state it expects, so two sweeps at once, a replayed task or a worker killed mid-batch
never flag or notify a row twice: a batch commits whole or not at all, and a row another
sweep already changed no longer matches. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets a second
sweep take other rows instead of waiting. The cost follows the due rows, through the partial
indexes `slaclock_open_due_idx` and `slaclock_running_risk_idx`.

On PostgreSQL each batch is one set-based statement (`sla.sweep_sql`) and a clock's breach is
notified in the batch that flags it: its outbox messages commit with it. The notify step then
only finds breaches recorded elsewhere (a clock stopped late, a missed commitment). Other
databases build the same rows in Python, in two steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from crm.outbox import outbox_drain_soon, outbox_write
from sla import sweep_sql
from sla.clocks import breaches_record, record_clock_events
from sla.escalation import active_managers, at_risk_deliveries, breach_deliveries
from sla.models import Breach, ClockState, SlaClock, WebhookEndpoint
from sla.sweep_sql import Statement

BATCH_SIZE = 500
# On PostgreSQL a batch is one set-based statement: bigger batches cost fewer statements and
# commits, and a batch of 5,000 still holds its clocks' row locks for only a second or two.
PG_BATCH_SIZE = 5000
MAX_BATCHES = 40


@dataclass
class SweepResult:
    at_risk: int = 0
    breached: int = 0
    notified: int = 0

    def __str__(self) -> str:
        return f"{self.breached} breached, {self.at_risk} at risk, {self.notified} notified"


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def default_batch_size() -> int:
    return PG_BATCH_SIZE if _postgres() else BATCH_SIZE


def _skip_locked() -> str:
    return " FOR UPDATE SKIP LOCKED" if _postgres() else ""


def _id_in(subquery: str) -> str:
    """`id IN (subquery)`. On PostgreSQL the subquery runs once, as an InitPlan feeding the
    primary key: with `id IN (...)` and statistics from before a backlog (an estimate of one
    row), the planner may pick a nested loop that re-runs the locking subquery for every
    candidate row, and a 100,000-breach backlog then stalls for minutes."""
    if _postgres():
        return f"id = ANY(ARRAY({subquery}))"
    return f"id IN ({subquery})"


def _claim(sql: str, params: list[object]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING id", params)
        return [row[0] for row in cursor.fetchall()]


def breached_claim_sql(now: datetime, limit: int) -> tuple[str, list[object]]:
    """Open clocks past due become breached, with breached_at = due_at (never the sweep time).
    The UPDATE without its RETURNING clause."""
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
        + " AND state IN (%s, %s)"
    )
    open_states = [ClockState.RUNNING.value, ClockState.AT_RISK.value]
    return sql, [ClockState.BREACHED.value, *open_states, at, limit, *open_states]


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
        + " AND state = %s"
    )
    running = ClockState.RUNNING.value
    return sql, [ClockState.AT_RISK.value, running, at, at, limit, running]


def breaches_claim_sql(now: datetime, limit: int) -> tuple[str, list[object]]:
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
        + " AND processed_at IS NULL"
    )
    return sql, [at, limit]


def work_waiting_sql(now: datetime) -> tuple[str, list[object]]:
    """One cheap read per tick: is anything due, at risk or unnotified? Each probe is
    `ORDER BY <indexed column> LIMIT 1` rather than EXISTS, so its partial index answers it
    even when statistics expect many matching rows (EXISTS then plans for the first hit of a
    sequential scan that finds none)."""
    clocks = SlaClock._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)
    sql = (
        f"SELECT (SELECT due_at FROM {clocks} WHERE state IN (%s, %s) AND due_at <= %s "
        "ORDER BY due_at LIMIT 1), "
        f"(SELECT at_risk_at FROM {clocks} WHERE state = %s AND at_risk_at <= %s "
        "AND due_at > %s ORDER BY at_risk_at LIMIT 1), "
        f"(SELECT id FROM {Breach._meta.db_table} WHERE processed_at IS NULL "
        "ORDER BY id LIMIT 1)"
    )
    running = ClockState.RUNNING.value
    return sql, [running, ClockState.AT_RISK.value, at, running, at, at]


def _work_waiting(now: datetime) -> tuple[bool, bool, bool]:
    """An idle sweep stops here. Only a hint: the claims decide what a batch takes."""
    with connection.cursor() as cursor:
        cursor.execute(*work_waiting_sql(now))
        first_due, first_at_risk, first_unprocessed = cursor.fetchone()
    return first_due is not None, first_at_risk is not None, first_unprocessed is not None


def _record_breached(ids: list[int], now: datetime) -> None:
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


def _record_at_risk(ids: list[int], now: datetime) -> None:
    clocks = list(SlaClock.objects.filter(pk__in=ids).select_related("policy"))
    record_clock_events(
        [
            (
                c.lead_id,
                c.at_risk_at,
                {"policy": c.policy.name, "state": [ClockState.RUNNING, ClockState.AT_RISK]},
                "",
            )
            for c in clocks
        ]
    )
    outbox_write(at_risk_deliveries(clocks, now), now=now)


def _write_breach_notices(ids: list[int], now: datetime) -> None:
    endpoints = list(WebhookEndpoint.objects.filter(active=True))
    breaches = (
        Breach.objects.filter(pk__in=ids)
        .select_related("policy", "owner", "commitment")
        .prefetch_related("policy__escalate_to", "commitment__escalate_to")
    )
    managers = active_managers()
    outbox_write([d for b in breaches for d in breach_deliveries(b, endpoints, managers)], now=now)


Claim = Callable[[datetime, int], Statement]


@dataclass(frozen=True)
class _Step:
    """One claimed step: its claim, its writes on PostgreSQL (one set-based statement built
    around the claim, returning (claimed, written)) and elsewhere (Python, given the claimed
    ids), and the hint to send after commit when something was written."""

    claim: Claim
    set_based: Callable[[Statement, datetime], Statement]
    in_python: Callable[[list[int], datetime], None]
    hint: Callable[[], None]

    def batch(self, now: datetime, limit: int) -> int:
        if _postgres():
            with connection.cursor() as cursor:
                cursor.execute(*self.set_based(self.claim(now, limit), now))
                claimed, written = cursor.fetchone()
            if written:
                self.hint()
            return claimed
        ids = _claim(*self.claim(now, limit))
        if ids:
            self.in_python(ids, now)
        return len(ids)


FLAG_BREACHED = _Step(
    breached_claim_sql, sweep_sql.flag_breached_sql, _record_breached, outbox_drain_soon
)
FLAG_AT_RISK = _Step(
    at_risk_claim_sql, sweep_sql.flag_at_risk_sql, _record_at_risk, outbox_drain_soon
)
NOTIFY = _Step(
    breaches_claim_sql, sweep_sql.notify_breaches_sql, _write_breach_notices, outbox_drain_soon
)


def _in_batches(step: _Step, now: datetime, size: int, most: int) -> int:
    """Run `step` batch after batch, each its own transaction, until one comes back short."""
    done = 0
    for _ in range(most):
        with transaction.atomic():
            count = step.batch(now, size)
        done += count
        if count < size:
            break
    return done


def sla_sweep(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int = MAX_BATCHES,
    dry_run: bool = False,
) -> SweepResult:
    """Flag due clocks and notify new breaches; each batch is one transaction."""
    now = now or timezone.now()
    size = batch_size or default_batch_size()
    result = SweepResult()
    if dry_run:
        result.breached = SlaClock.objects.past_due(now).count()
        result.at_risk = SlaClock.objects.filter(
            state=ClockState.RUNNING, at_risk_at__lte=now, due_at__gt=now
        ).count()
        result.notified = Breach.objects.filter(processed_at__isnull=True).count()
        return result
    breached, at_risk, unprocessed = _work_waiting(now)
    if breached:
        result.breached = _in_batches(FLAG_BREACHED, now, size, max_batches)
        if _postgres():  # notified in the flagging statement (sweep_sql.flag_breached_sql)
            result.notified = result.breached
    if at_risk:
        result.at_risk = _in_batches(FLAG_AT_RISK, now, size, max_batches)
    if unprocessed or (breached and not _postgres()):
        result.notified += breaches_notify(now=now, batch_size=size, max_batches=max_batches)
    return result


def breaches_notify(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int = MAX_BATCHES
) -> int:
    """Second claimed step: write each new breach's deliveries to the outbox, exactly once."""
    now = now or timezone.now()
    return _in_batches(NOTIFY, now, batch_size or default_batch_size(), max_batches)
