"""The sweep's batches on PostgreSQL: one set-based statement each, no rows read into Python.

Each statement starts with the same conditional claim as the portable path (an UPDATE ...
RETURNING whose WHERE repeats the expected state) and feeds its RETURNING rows, through
data-modifying CTEs, into the inserts that go with it: breach rows, timeline events, outbox
messages. One statement is one batch and one transaction, so the claim and its writes commit
or vanish together, as before. Nothing is read back: a batch of 5,000 costs one round trip.

What these statements write must equal, field for field, what the portable path builds in
Python; tests compare the two:
- breach rows: `sla.services.breaches_record`;
- timeline events: `sla.services.record_clock_events`, as called by `sla.sweep`;
- notices: `sla.escalation.at_risk_deliveries`, `breach_deliveries`, `breach_payload` and
  `_recipients`, written like `crm.outbox.outbox_write`.
"""

from __future__ import annotations

from datetime import datetime

from crm.models import OutboxChannel, Role, User
from crm.outbox import outbox_insert_sql
from leads.models import LeadEvent
from sla.models import Breach, ClockState, Commitment, SlaGoal, SlaPolicy, WebhookEndpoint

POLICIES = SlaPolicy._meta.db_table
BREACHES = Breach._meta.db_table
EVENTS = LeadEvent._meta.db_table
USERS = User._meta.db_table
ENDPOINTS = WebhookEndpoint._meta.db_table
POLICY_ESCALATE = SlaPolicy.escalate_to.through._meta.db_table
COMMITMENT_ESCALATE = Commitment.escalate_to.through._meta.db_table

Statement = tuple[str, list[object]]

# What a breach's notices are built from (`sla.escalation.breach_payload`).
BREACH_COLUMNS = "id, kind, policy_id, commitment_id, lead_id, owner_id, team, breached_at, summary"

# `f"{dt:%Y-%m-%d %H:%M}"` of a UTC datetime, the way the Python path formats it.
_MINUTE = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
# `dt.isoformat()` of a UTC datetime: microseconds only when there are some.
_ISO = (
    "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
    "CASE WHEN to_char({0} AT TIME ZONE 'UTC', 'US') = '000000' THEN '' "
    "ELSE '.' || to_char({0} AT TIME ZONE 'UTC', 'US') END || '+00:00'"
)


def _goal_words(column: str) -> tuple[str, list[object]]:
    """`clock.get_goal_display().lower()` in SQL."""
    whens = " ".join("WHEN %s THEN %s" for _ in SlaGoal.choices)
    params: list[object] = []
    for value, label in SlaGoal.choices:
        params += [value, str(label).lower()]
    return f"CASE {column} {whens} ELSE lower({column}) END", params


def flag_breached_sql(claim: Statement, now: datetime) -> Statement:
    """Claimed clocks -> breach rows, "breached" timeline events and the breaches' outbox
    messages, all in the claim's transaction: the breaches are written already processed,
    so the separate notify step has nothing left to do for them.

    Returns one row: (clocks flagged, messages written)."""
    claim_sql, claim_params = claim
    goal_sql, goal_params = _goal_words("d.goal")
    notices_sql, notices_params = _breach_notices("breaches", now)
    sql = (
        f"WITH flagged AS ({claim_sql} RETURNING id, lead_id, policy_id, team, owner_id, "
        "due_at, goal), "
        "detail AS (SELECT f.*, p.name AS policy_name FROM flagged f "
        f"JOIN {POLICIES} p ON p.id = f.policy_id), "
        f"breaches AS (INSERT INTO {BREACHES} (kind, clock_id, policy_id, lead_id, team, "
        "owner_id, breached_at, summary, created_at, processed_at, acknowledgement_note) "
        "SELECT %s, d.id, d.policy_id, d.lead_id, d.team, d.owner_id, d.due_at, "
        f"d.policy_name || ': lead ' || d.lead_id || ' missed its ' || {goal_sql} || ' goal', "
        f"%s, %s, '' FROM detail d RETURNING {BREACH_COLUMNS}), "
        f"events AS (INSERT INTO {EVENTS} (lead_id, kind, actor_id, from_stage, to_stage, "
        "changes, note, created_at) "
        "SELECT d.lead_id, %s, NULL, '', '', jsonb_build_object('policy', d.policy_name, "
        "'state', jsonb_build_array(%s::text, %s::text), 'flagged_at', %s::text), '', d.due_at "
        f"FROM detail d), {notices_sql} "
        "SELECT (SELECT count(*) FROM flagged), (SELECT count(*) FROM written)"
    )
    params = [
        *claim_params,
        Breach.Kind.CLOCK.value,
        *goal_params,
        now,
        now,
        LeadEvent.Kind.CLOCK.value,
        "open",
        ClockState.BREACHED.value,
        now.isoformat(),
        *notices_params,
    ]
    return sql, params


def flag_at_risk_sql(claim: Statement, now: datetime) -> Statement:
    """Claimed clocks -> "at risk" timeline events and a notice to each clock's owner.

    Returns one row: (clocks flagged, notices written)."""
    claim_sql, claim_params = claim
    notices_sql, notices_params = outbox_insert_sql(
        "SELECT %s AS channel, 'clock:' || d.id || ':at_risk:' || d.owner_id AS delivery_key, "
        "d.owner_id AS recipient_id, '' AS target, %s AS event_type, "
        "jsonb_build_object('title', 'At risk: ' || d.policy_name || ' on lead ' || d.lead_id, "
        f"'body', 'Due at ' || {_MINUTE.format('d.due_at')} || ' UTC.', "
        "'url', '/leads/' || d.lead_id || '/') AS payload "
        "FROM detail d WHERE d.owner_id IS NOT NULL",
        [OutboxChannel.IN_APP.value, "clock.at_risk"],
        now=now,
    )
    sql = (
        f"WITH flagged AS ({claim_sql} RETURNING id, lead_id, policy_id, owner_id, "
        "at_risk_at, due_at), "
        "detail AS (SELECT f.*, p.name AS policy_name FROM flagged f "
        f"JOIN {POLICIES} p ON p.id = f.policy_id), "
        f"events AS (INSERT INTO {EVENTS} (lead_id, kind, actor_id, from_stage, to_stage, "
        "changes, note, created_at) "
        "SELECT d.lead_id, %s, NULL, '', '', jsonb_build_object('policy', d.policy_name, "
        "'state', jsonb_build_array(%s::text, %s::text)), '', d.at_risk_at FROM detail d), "
        f"notices AS ({notices_sql}) "
        "SELECT (SELECT count(*) FROM flagged), (SELECT count(*) FROM notices)"
    )
    params = [
        *claim_params,
        LeadEvent.Kind.CLOCK.value,
        ClockState.RUNNING.value,
        ClockState.AT_RISK.value,
        *notices_params,
    ]
    return sql, params


def notify_breaches_sql(claim: Statement, now: datetime) -> Statement:
    """Claimed breaches -> their outbox messages. Returns one row: (breaches, messages)."""
    claim_sql, claim_params = claim
    notices_sql, notices_params = _breach_notices("claimed", now)
    sql = (
        f"WITH claimed AS ({claim_sql} RETURNING {BREACH_COLUMNS}), {notices_sql} "
        "SELECT (SELECT count(*) FROM claimed), (SELECT count(*) FROM written)"
    )
    return sql, [*claim_params, *notices_params]


def _breach_notices(source: str, now: datetime) -> tuple[str, list[object]]:
    """CTEs that write the outbox messages of the breaches in CTE `source` (with the
    BREACH_COLUMNS); the last one, `written`, returns a row per message.

    In-app and email (only with an address) to each recipient, and one message per webhook
    endpoint subscribed to the event. Recipients as `sla.escalation._recipients`: a clock
    breach's owner when its policy says so and the owner is active, plus the active users
    the policy (or commitment) escalates to, or every active manager when there are none."""
    minute = _MINUTE.format("c.breached_at")
    iso = _ISO.format("c.breached_at")
    select = (
        "SELECT %s AS channel, 'breach:' || n.id || ':in_app:' || u.id AS delivery_key, "
        "u.id AS recipient_id, '' AS target, n.event AS event_type, n.payload "
        "FROM recipients r JOIN notice n ON n.id = r.breach_id "
        f"JOIN {USERS} u ON u.id = r.user_id "
        "UNION ALL "
        "SELECT %s, 'breach:' || n.id || ':email:' || u.id, u.id, u.email, n.event, n.payload "
        "FROM recipients r JOIN notice n ON n.id = r.breach_id "
        f"JOIN {USERS} u ON u.id = r.user_id WHERE u.email <> '' "
        "UNION ALL "
        "SELECT %s, 'breach:' || n.id || ':webhook:' || w.id, NULL, w.id::text, n.event, "
        f"n.payload FROM notice n JOIN {ENDPOINTS} w ON w.active "
        "AND (w.event_types ? n.event OR w.event_types ? %s)"
    )
    insert_sql, insert_params = outbox_insert_sql(
        select,
        [
            OutboxChannel.IN_APP.value,
            OutboxChannel.EMAIL.value,
            OutboxChannel.WEBHOOK.value,
            "breach.created",
        ],
        now=now,
    )
    sql = (
        "notice AS (SELECT c.id, c.kind, c.policy_id, c.commitment_id, c.owner_id, "
        "CASE c.kind WHEN %s THEN 'commitment.missed' ELSE 'breach.created' END AS event, "
        "COALESCE(c.kind = %s AND p.notify_owner AND o.is_active, false) AS to_owner, "
        "jsonb_build_object("
        "'title', 'SLA breach: ' || c.summary, "
        f"'body', 'Breached at ' || {minute} || ' UTC (' || c.team || ').', "
        "'url', CASE WHEN c.lead_id IS NULL THEN '/sla/breaches/' "
        "ELSE '/leads/' || c.lead_id || '/' END, "
        "'data', jsonb_strip_nulls(jsonb_build_object('breach_id', c.id, 'kind', c.kind, "
        f"'team', c.team, 'breached_at', {iso}, 'summary', c.summary, "
        "'lead_id', c.lead_id, 'policy', p.name, 'owner', o.username))) AS payload "
        f"FROM {source} c LEFT JOIN {POLICIES} p ON p.id = c.policy_id "
        f"LEFT JOIN {USERS} o ON o.id = c.owner_id), "
        "escalated AS ("
        f"SELECT n.id AS breach_id, e.user_id FROM notice n JOIN {POLICY_ESCALATE} e "
        "ON n.kind = %s AND e.slapolicy_id = n.policy_id "
        "UNION ALL "
        f"SELECT n.id, e.user_id FROM notice n JOIN {COMMITMENT_ESCALATE} e "
        "ON n.kind = %s AND e.commitment_id = n.commitment_id), "
        "active_escalated AS (SELECT x.breach_id, x.user_id FROM escalated x "
        f"JOIN {USERS} u ON u.id = x.user_id AND u.is_active), "
        "recipients AS ("
        "SELECT n.id AS breach_id, n.owner_id AS user_id FROM notice n WHERE n.to_owner "
        "UNION SELECT breach_id, user_id FROM active_escalated "
        f"UNION SELECT n.id, m.id FROM notice n JOIN {USERS} m ON m.role = %s AND m.is_active "
        "WHERE NOT EXISTS (SELECT 1 FROM active_escalated a WHERE a.breach_id = n.id)), "
        f"written AS ({insert_sql})"
    )
    params = [
        Breach.Kind.COMMITMENT.value,
        Breach.Kind.CLOCK.value,
        Breach.Kind.CLOCK.value,
        Breach.Kind.COMMITMENT.value,
        Role.MANAGER.value,
        *insert_params,
    ]
    return sql, params
