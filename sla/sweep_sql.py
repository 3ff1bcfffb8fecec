"""The sweep's flagging batches on PostgreSQL: one set-based statement each.

Each statement starts with the same conditional claim as the portable path (an UPDATE ...
RETURNING whose WHERE repeats the expected state) and feeds its RETURNING rows, through
data-modifying CTEs, into what goes with the flag: breach rows, timeline events and, for each
breach, its outbox fan-out row (so the breach is written already processed, and the notify
step has nothing to claim: that saves a second write of every breach row and its indexes).
One statement is one batch and one transaction, so the claim and its rows commit or vanish
together. What the rows say matches the portable path in `sla.sweep` (breach rows as
`sla.clocks.breaches_record` writes them, fan-outs as `sla.escalation.breach_fan_outs`, which
the notify step writes there); tests/sla/test_sweep_writes.py checks both.

Who is told, and what they read, is not here: the outbox drain expands each fan-out with
`sla.escalation`.
"""

from __future__ import annotations

from datetime import datetime

from crm.models import OutboxChannel, OutboxMessage
from leads.models import LeadEvent
from sla.escalation import FAN_OUT_EVENT, FAN_OUT_ID, FAN_OUT_KEY
from sla.models import Breach, ClockState, SlaGoal, SlaPolicy

POLICIES = SlaPolicy._meta.db_table
BREACHES = Breach._meta.db_table
EVENTS = LeadEvent._meta.db_table
OUTBOX = OutboxMessage._meta.db_table

Statement = tuple[str, list[object]]


def _goal_words(column: str) -> Statement:
    """`clock.get_goal_display().lower()` in SQL."""
    whens = " ".join("WHEN %s THEN %s" for _ in SlaGoal.choices)
    params: list[object] = []
    for value, label in SlaGoal.choices:
        params += [value, str(label).lower()]
    return f"CASE {column} {whens} ELSE lower({column}) END", params


def flag_breached_sql(claim: Statement, now: datetime) -> Statement:
    """Claimed clocks -> breach rows (processed: their fan-outs are queued here), "breached"
    timeline events and one outbox fan-out row per breach. Returns one row: the number of
    clocks flagged."""
    claim_sql, claim_params = claim
    goal_sql, goal_params = _goal_words("d.goal")
    sql = (
        f"WITH flagged AS ({claim_sql} RETURNING id, lead_id, policy_id, team, owner_id, "
        "due_at, goal), "
        "detail AS (SELECT f.*, p.name AS policy_name FROM flagged f "
        f"JOIN {POLICIES} p ON p.id = f.policy_id), "
        f"breaches AS (INSERT INTO {BREACHES} (kind, clock_id, policy_id, lead_id, team, "
        "owner_id, breached_at, summary, created_at, processed_at, acknowledgement_note) "
        "SELECT %s, d.id, d.policy_id, d.lead_id, d.team, d.owner_id, d.due_at, "
        f"d.policy_name || ': lead ' || d.lead_id || ' missed its ' || {goal_sql} || ' goal', "
        "%s, %s, '' FROM detail d RETURNING id), "
        f"fan_outs AS (INSERT INTO {OUTBOX} (channel, delivery_key, recipient_id, target, "
        "event_type, payload, status, attempts, next_attempt_at, claimed_until, last_error, "
        "created_at, sent_at) "
        "SELECT %s, %s || b.id || %s, NULL, '', %s, jsonb_build_object(%s::text, b.id), %s, 0, "
        "%s, NULL, '', %s, NULL FROM breaches b ON CONFLICT (delivery_key) DO NOTHING), "
        f"events AS (INSERT INTO {EVENTS} (lead_id, kind, actor_id, from_stage, to_stage, "
        "changes, note, created_at) "
        "SELECT d.lead_id, %s, NULL, '', '', jsonb_build_object('policy', d.policy_name, "
        "'state', jsonb_build_array(%s::text, %s::text), 'flagged_at', %s::text), '', d.due_at "
        "FROM detail d) "
        "SELECT count(*) FROM flagged"
    )
    params = [
        *claim_params,
        Breach.Kind.CLOCK.value,
        *goal_params,
        now,
        now,
        OutboxChannel.FAN_OUT.value,
        FAN_OUT_KEY[0],
        FAN_OUT_KEY[1],
        FAN_OUT_EVENT,
        FAN_OUT_ID,
        OutboxMessage.Status.PENDING.value,
        now,
        now,
        LeadEvent.Kind.CLOCK.value,
        "open",
        ClockState.BREACHED.value,
        now.isoformat(),
    ]
    return sql, params


def flag_at_risk_sql(claim: Statement) -> Statement:
    """Claimed clocks -> "at risk" timeline events. Returns the claimed clocks' ids (their
    owners' heads-up is built by `sla.escalation.at_risk_deliveries`)."""
    claim_sql, claim_params = claim
    sql = (
        f"WITH flagged AS ({claim_sql} RETURNING id, lead_id, policy_id, at_risk_at), "
        f"events AS (INSERT INTO {EVENTS} (lead_id, kind, actor_id, from_stage, to_stage, "
        "changes, note, created_at) "
        "SELECT f.lead_id, %s, NULL, '', '', jsonb_build_object('policy', p.name, "
        "'state', jsonb_build_array(%s::text, %s::text)), '', f.at_risk_at "
        f"FROM flagged f JOIN {POLICIES} p ON p.id = f.policy_id) "
        "SELECT id FROM flagged"
    )
    params = [
        *claim_params,
        LeadEvent.Kind.CLOCK.value,
        ClockState.RUNNING.value,
        ClockState.AT_RISK.value,
    ]
    return sql, params
