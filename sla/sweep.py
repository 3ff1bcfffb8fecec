"""The sweep: flag at-risk and breached clocks, then notify new breaches in a claimed step.

Every step claims rows with one conditional, batched UPDATE ... RETURNING whose WHERE repeats
the state it expects, so two sweeps at once, a replayed task or a worker killed mid-batch
never flag or notify a row twice: a batch commits whole or not at all, and a row another
sweep already changed no longer matches. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets a second
sweep take other rows instead of waiting. The claims pick their rows with the clock conditions
of `SlaClock.objects` (`past_due`, `turning_at_risk`), so their cost follows the due rows,
through the partial indexes `slaclock_open_due_idx` and `slaclock_running_risk_idx`.

Moving a lead on at the at-risk mark (policies with `reassign_at_risk`) is a third claimed
step, `_reassign_at_risk`: it locks the leads first, skipping any a person is changing (the
lead services lock a lead before its clocks, so this order cannot deadlock with them), then
claims their clocks with `reassigned_at` null -> now, so each clock moves its lead at most
once, however many sweeps run. The move itself is the lead service `lead_move_on`.

Flagging a breach writes its history (the breach row and the timeline event) and queues it
for telling as one outbox fan-out row, never a message per recipient: who hears and what they
read are decided when the outbox drain expands the row (`sla.escalation`), so the sweep's cost
follows the breaches, not the people told. On PostgreSQL one set-based statement per batch
writes all of it (`sla.sweep_sql`), the breach rows already processed. Elsewhere, and for
breaches recorded outside the sweep (a missed commitment, a clock settled late), the breach
row is written unprocessed and the second claimed step, `breaches_notify`, queues its fan-out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from django.db import connection, models, transaction
from django.utils import timezone

from crm.outbox import outbox_drain_soon, outbox_write
from leads.models import Lead
from leads.services.assignment import next_sales_rep
from leads.services.reassignment import lead_move_on
from sla import sweep_sql
from sla.clocks import breaches_record, record_clock_events
from sla.escalation import at_risk_deliveries, breach_fan_outs
from sla.models import Breach, ClockState, SlaClock
from sla.sweep_sql import Statement

BATCH_SIZE = 500
# On PostgreSQL a flagging batch is one set-based statement: bigger batches cost fewer
# statements and commits, and a batch of 5,000 still holds its rows' locks for only a second.
PG_BATCH_SIZE = 5000
MAX_BATCHES = 40
_OPEN = [ClockState.RUNNING.value, ClockState.AT_RISK.value]


@dataclass
class SweepResult:
    at_risk: int = 0
    breached: int = 0
    notified: int = 0
    reassigned: int = 0

    def __str__(self) -> str:
        return (
            f"{self.breached} breached, {self.at_risk} at risk, {self.notified} notified, "
            f"{self.reassigned} reassigned"
        )


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def default_batch_size() -> int:
    return PG_BATCH_SIZE if _postgres() else BATCH_SIZE


def _sql(queryset: models.QuerySet) -> Statement:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def _id_in(subquery: str) -> str:
    """`id IN (subquery)`. On PostgreSQL the subquery runs once, as an InitPlan feeding the
    primary key: with `id IN (...)` and statistics from before a backlog (an estimate of one
    row), the planner may pick a nested loop that re-runs the locking subquery for every
    candidate row, and a 100,000-breach backlog then stalls for minutes."""
    if _postgres():
        return f"id = ANY(ARRAY({subquery}))"
    return f"id IN ({subquery})"


def _claim_sql(
    rows: models.QuerySet, limit: int, assign: Statement, expected: Statement
) -> Statement:
    """UPDATE the first `limit` of `rows` (locked, skipping rows another sweep holds) with
    `assign`, where each still matches `expected`. Without its RETURNING clause."""
    table = rows.model._meta.db_table
    chosen, chosen_params = _sql(rows.select_for_update(skip_locked=True).values("pk")[:limit])
    sql = f"UPDATE {table} SET {assign[0]} WHERE {_id_in(chosen)} AND {expected[0]}"
    return sql, [*assign[1], *chosen_params, *expected[1]]


def breached_claim_sql(now: datetime, limit: int) -> Statement:
    """Past-due clocks become breached, with breached_at = due_at (never the sweep time)."""
    return _claim_sql(
        SlaClock.objects.past_due(now).order_by("due_at"),
        limit,
        ("state = %s, breached_at = due_at", [ClockState.BREACHED.value]),
        ("state IN (%s, %s)", _OPEN),
    )


def at_risk_claim_sql(now: datetime, limit: int) -> Statement:
    return _claim_sql(
        SlaClock.objects.turning_at_risk(now).order_by("at_risk_at"),
        limit,
        ("state = %s", [ClockState.AT_RISK.value]),
        ("state = %s", [ClockState.RUNNING.value]),
    )


def reassign_claim_sql(now: datetime, limit: int, lead_ids: list[int]) -> Statement:
    """At-risk clocks of the locked leads whose policy moves the lead on: marked moved."""
    return _claim_sql(
        SlaClock.objects.awaiting_reassignment(now)
        .filter(lead_id__in=lead_ids)
        .order_by("at_risk_at"),
        limit,
        ("reassigned_at = %s", [connection.ops.adapt_datetimefield_value(now)]),
        ("reassigned_at IS NULL AND state = %s", [ClockState.AT_RISK.value]),
    )


def breaches_claim_sql(now: datetime, limit: int) -> Statement:
    # Uses breach_unprocessed_idx (partial: processed_at IS NULL).
    return _claim_sql(
        Breach.objects.unprocessed().order_by("pk"),
        limit,
        ("processed_at = %s", [connection.ops.adapt_datetimefield_value(now)]),
        ("processed_at IS NULL", []),
    )


def work_waiting_sql(now: datetime) -> Statement:
    """One cheap read per tick: is anything due, at risk or unnotified? Each probe is
    `ORDER BY <indexed column> LIMIT 1` rather than EXISTS, so its partial index answers it
    even when statistics expect many matching rows (EXISTS then plans for the first hit of a
    sequential scan that finds none).

    Compiled once per database at a stand-in instant that each tick replaces with `now`:
    compiling the three querysets took longer than running them (the bench's idle tick)."""
    sql, params = _work_waiting_compiled(connection.vendor)
    stand_in = connection.ops.adapt_datetimefield_value(_STAND_IN)
    at = connection.ops.adapt_datetimefield_value(now)
    return sql, [at if param == stand_in else param for param in params]


_STAND_IN = datetime(1, 1, 1, tzinfo=UTC)


@cache
def _work_waiting_compiled(vendor: str) -> Statement:
    probes = [
        _sql(SlaClock.objects.past_due(_STAND_IN).order_by("due_at").values("due_at")[:1]),
        _sql(
            SlaClock.objects.turning_at_risk(_STAND_IN)
            .order_by("at_risk_at")
            .values("at_risk_at")[:1]
        ),
        _sql(Breach.objects.unprocessed().order_by("pk").values("pk")[:1]),
        _sql(
            SlaClock.objects.awaiting_reassignment(_STAND_IN)
            .order_by("at_risk_at")
            .values("at_risk_at")[:1]
        ),
    ]
    sql = "SELECT " + ", ".join(f"({probe})" for probe, _ in probes)
    return sql, [param for _, params in probes for param in params]


def _work_waiting(now: datetime) -> tuple[bool, bool, bool, bool]:
    """An idle sweep stops here. Only a hint: the claims decide what a batch takes.
    (due, turning at risk, unnotified, to move on)"""
    with connection.cursor() as cursor:
        cursor.execute(*work_waiting_sql(now))
        return tuple(first is not None for first in cursor.fetchone())  # type: ignore[return-value]


def _returned(statement: Statement) -> list[int]:
    """The first column of every row `statement` returns."""
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        return [row[0] for row in cursor.fetchall()]


def _claim(statement: Statement) -> list[int]:
    sql, params = statement
    return _returned((sql + " RETURNING id", params))


def _claimed_clocks(ids: list[int]) -> list[SlaClock]:
    return list(SlaClock.objects.filter(pk__in=ids).select_related("policy", "owner", "lead"))


def _flag_breached(now: datetime, limit: int) -> int:
    """One batch: past-due clocks flagged breached, each with its breach row and a timeline
    event; on PostgreSQL also the breach's fan-out (elsewhere the notify step writes it)."""
    claim = breached_claim_sql(now, limit)
    if _postgres():
        flagged = _returned(sweep_sql.flag_breached_sql(claim, now))[0]
        if flagged:
            outbox_drain_soon(["notices"])
        return flagged
    clocks = _claimed_clocks(_claim(claim))
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
    return len(clocks)


def _flag_at_risk(now: datetime, limit: int) -> int:
    """One batch: clocks flagged at risk, each with a timeline event and a heads-up."""
    claim = at_risk_claim_sql(now, limit)
    if _postgres():
        clocks = _claimed_clocks(_returned(sweep_sql.flag_at_risk_sql(claim)))
    else:
        clocks = _claimed_clocks(_claim(claim))
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
    outbox_write(at_risk_deliveries(clocks), now=now)
    return len(clocks)


def _reassign_at_risk(now: datetime, limit: int) -> int:
    """One batch: unaccepted leads whose accept clock is at risk under a policy that moves
    them on, each handed to the next eligible rep (none eligible: it stays, and says so).
    Returns how many clocks the batch claimed, moved or not."""
    # The leads first, skipping those locked by a person's change or by another sweep (which
    # moves them itself): LIMIT counts only the leads this batch can take.
    waiting = SlaClock.objects.awaiting_reassignment(now).values("lead_id")
    leads = {
        lead.pk: lead
        for lead in Lead.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=waiting)
        .select_related("owner")
        .order_by("pk")[:limit]
    }
    if not leads:
        return 0
    ids = _claim(reassign_claim_sql(now, limit, list(leads)))
    clocks = SlaClock.objects.filter(pk__in=ids).select_related("policy").order_by("at_risk_at")
    stayed = []
    for clock in clocks:
        lead = leads[clock.lead_id]
        routing = next_sales_rep(
            now=now, stage=clock.stage, exclude_id=lead.owner_id, eligible_only=True
        )
        if routing.chosen is None or routing.fallback or lead.accepted_at is not None:
            stayed.append(
                (
                    lead.pk,
                    now,
                    {"policy": clock.policy.name, "reassign": "nobody_eligible"},
                    "Not accepted by the at-risk mark, and no other rep can accept before the "
                    "due time: the lead stays where it is.",
                )
            )
            continue
        lead_move_on(
            lead=lead, routing=routing, policy=clock.policy.name, due_at=clock.due_at, now=now
        )
    record_clock_events(stayed)
    # A claimed clock whose lead stays counts too: the step ran for it, once.
    return len(ids)


def _notify(now: datetime, limit: int) -> int:
    """One batch: breaches claimed as processed, one fan-out row each written to the outbox."""
    ids = _claim(breaches_claim_sql(now, limit))
    if ids:
        outbox_write(breach_fan_outs(ids), now=now)
    return len(ids)


def _in_batches(batch: Callable[[datetime, int], int], now: datetime, size: int, most: int) -> int:
    """Run `batch` again and again, each its own transaction, until one comes back short."""
    done = 0
    for _ in range(most):
        with transaction.atomic():
            count = batch(now, size)
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
    """Flag due clocks, then notify new breaches; each batch is one transaction."""
    now = now or timezone.now()
    size = batch_size or default_batch_size()
    result = SweepResult()
    if dry_run:
        result.breached = SlaClock.objects.past_due(now).count()
        result.at_risk = SlaClock.objects.turning_at_risk(now).count()
        result.notified = Breach.objects.unprocessed().count()
        result.reassigned = SlaClock.objects.awaiting_reassignment(now).count()
        return result
    breached, at_risk, unprocessed, to_move = _work_waiting(now)
    if breached:
        result.breached = _in_batches(_flag_breached, now, size, max_batches)
        if _postgres():  # the flagging statement queued each breach's fan-out itself
            result.notified = result.breached
    if at_risk:
        result.at_risk = _in_batches(_flag_at_risk, now, size, max_batches)
    if at_risk or to_move:
        # Moving a lead is per lead (the rotation turns for each): smaller batches.
        result.reassigned = _in_batches(_reassign_at_risk, now, BATCH_SIZE, max_batches)
    if unprocessed or (breached and not _postgres()):
        result.notified += breaches_notify(now=now, batch_size=size, max_batches=max_batches)
    return result


def breaches_notify(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int = MAX_BATCHES
) -> int:
    """Second claimed step: queue each new breach's fan-out in the outbox, exactly once (the
    drain expands it into every recipient's delivery)."""
    now = now or timezone.now()
    return _in_batches(_notify, now, batch_size or default_batch_size(), max_batches)
