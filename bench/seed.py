"""Seed the bench database with COPY: leads with a realistic spread over stages, owners,
campaigns and clocks, their history events, one SLA clock each and past breaches.

Rows are generated from a fixed random seed, so two runs of the same N hold the same data.
Ids are explicit (the sequences are moved past them), so the seed can grow the set in steps:
10,000 first, then up to N.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from crm.models import OutboxMessage, Role, Team, User
from leads.lifecycle import STAGE_OWNER, Stage
from leads.models import NO_DUE, Campaign, Lead, LeadEvent, Persona
from leads.services.tallies import tallies_fold
from sla.models import Breach, ClockState, SlaClock, SlaGoal, SlaPolicy

CHUNK = 50_000
SEARCH_INDEX = "lead_search_trgm"
# As leads/migrations/0011_lead_search_text.py creates it.
SEARCH_INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON leads_lead USING gin (search_text gin_trgm_ops)"
)
STAGE_WEIGHTS = {
    Stage.ENGAGED: 35,
    Stage.QUALIFIED: 12,
    Stage.OPPORTUNITY: 10,
    Stage.NURTURE: 15,
    Stage.WON: 8,
    Stage.LOST: 12,
    Stage.DISQUALIFIED: 8,
}
OPEN = {Stage.ENGAGED, Stage.QUALIFIED, Stage.OPPORTUNITY, Stage.NURTURE}
SALES_STAGES = {Stage.QUALIFIED, Stage.OPPORTUNITY, Stage.WON, Stage.LOST}
SOURCES = (("web", 40), ("api", 30), ("import", 20), ("manual", 10))
HISTORY = timedelta(days=3 * 365)
POLICIES = (
    # name, goal, trigger stage, target, team
    ("Bench first touch", SlaGoal.FIRST_TOUCH, Stage.ENGAGED, timedelta(hours=4), Team.MARKETING),
    ("Bench accept", SlaGoal.ACCEPT, Stage.QUALIFIED, timedelta(hours=8), Team.SALES),
    ("Bench opportunity", SlaGoal.EXIT_STAGE, Stage.OPPORTUNITY, timedelta(days=30), Team.SALES),
    ("Bench nurture", SlaGoal.EXIT_STAGE, Stage.NURTURE, timedelta(days=60), Team.MARKETING),
)
FIRST_TOUCH_TARGET = POLICIES[0][3]
# Closed leads whose first touch came after the first-touch goal's due time.
LATE_SHARE = 0.15
# Open leads whose clock is past due (breached, still waiting for its goal) or past its at-risk
# mark: what the attention lists and counts show.
OVERDUE_SHARE = 0.03
AT_RISK_SHARE = 0.04


def first_touch(pk: int, created: datetime, changed: datetime) -> tuple[datetime, bool]:
    """When a lead that has left engaged was first touched, and whether that was late (after
    its first-touch goal was due). Leaving engaged touches it at the latest. The lead row's
    `first_touch_at` and its clock agree, as `sla.clocks.settle_clocks` leaves them: on time,
    the clock is met; late, it is breached and then met late, so it waits for nothing."""
    rng = random.Random(f"touch-{pk}")
    after = FIRST_TOUCH_TARGET / 2
    if rng.random() < LATE_SHARE:
        after = FIRST_TOUCH_TARGET + timedelta(minutes=5) + timedelta(days=2) * rng.random()
    touched = min(created + after, changed)
    return touched, touched > created + FIRST_TOUCH_TARGET


@dataclass
class Reference:
    marketers: list[int]
    reps: list[int]
    manager: User
    campaigns: list[int]
    personas: list[int]
    policies: dict[str, SlaPolicy]  # by trigger stage


def reference_data(now: datetime) -> Reference:
    """Users, campaigns, personas and policies the leads point at (created once)."""

    def users(role: str, team: str, count: int) -> list[int]:
        ids = []
        for n in range(count):
            user, _ = User.objects.get_or_create(
                username=f"bench-{role}-{n}",
                defaults={"role": role, "team": team, "first_name": role, "last_name": str(n)},
            )
            ids.append(user.pk)
        return ids

    manager, _ = User.objects.get_or_create(
        username="bench-manager",
        defaults={"role": Role.MANAGER, "team": Team.SALES, "is_staff": True},
    )
    campaigns = [
        Campaign.objects.get_or_create(name=f"Bench campaign {n}")[0].pk for n in range(60)
    ]
    personas = [Persona.objects.get_or_create(name=f"Bench persona {n}")[0].pk for n in range(8)]
    policies = {}
    for name, goal, stage, target, team in POLICIES:
        policies[stage], _ = SlaPolicy.objects.get_or_create(
            name=name,
            defaults={
                "goal": goal,
                "trigger_stage": stage,
                "target": target,
                "accountable_team": team,
                "created_at": now,
                "updated_at": now,
            },
        )
    return Reference(
        marketers=users(Role.MARKETER, Team.MARKETING, 6),
        reps=users(Role.SALES_REP, Team.SALES, 24),
        manager=manager,
        campaigns=campaigns,
        personas=personas,
        policies=policies,
    )


def reset() -> None:
    """Empty the lead tables (and everything hanging off leads) and the outbox."""
    tables = [Lead._meta.db_table, OutboxMessage._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def _tsv(value: Any) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds()} seconds"
    return str(value)


def copy_rows(model: type, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into a model's table in chunks; returns the number of rows."""
    table = model._meta.db_table
    names = [model._meta.get_field(c).column for c in columns]
    total = 0
    rows_iter = iter(rows)
    while True:
        buffer = io.StringIO()
        count = 0
        for row in rows_iter:
            buffer.write("\t".join(_tsv(v) for v in row))
            buffer.write("\n")
            count += 1
            if count >= CHUNK:
                break
        if not count:
            return total
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY {table} ({', '.join(names)}) FROM STDIN", buffer)
        total += count
        if count < CHUNK:
            return total


LEAD_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "email_normalized",
    "phone",
    "company",
    "job_title",
    "campaign",
    "persona",
    "source",
    "external_id",
    "stage",
    "owner_team",
    "owner",
    "estimated_value",
    "next_step",
    "criteria_met",
    "handed_off_at",
    "accepted_at",
    "accepted_by",
    "first_touch_at",
    "first_handed_off_at",
    "first_accepted_at",
    "first_opportunity_at",
    "stage_changed_at",
    "closed_at",
    "reason_note",
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "next_due_at",
)
EVENT_COLUMNS = ("lead", "kind", "actor", "from_stage", "to_stage", "changes", "note", "created_at")
CLOCK_COLUMNS = (
    "id",
    "lead",
    "policy",
    "cycle",
    "goal",
    "stage",
    "team",
    "owner",
    "target",
    "state",
    "started_at",
    "at_risk_at",
    "due_at",
    "met_at",
    "breached_at",
    "cancelled_at",
    "reassign_at_risk",
)
BREACH_COLUMNS = (
    "kind",
    "clock",
    "policy",
    "lead",
    "team",
    "owner",
    "breached_at",
    "summary",
    "created_at",
    "processed_at",
    "acknowledgement_note",
)


@dataclass
class _Lead:
    row: tuple[Any, ...]
    stage: str
    owner: int | None
    created: datetime
    changed: datetime


def _leads(start: int, count: int, ref: Reference, now: datetime) -> Iterator[_Lead]:
    stages = list(STAGE_WEIGHTS)
    weights = list(STAGE_WEIGHTS.values())
    sources = [s for s, _ in SOURCES]
    source_weights = [w for _, w in SOURCES]
    for pk in range(start, start + count):
        rng = random.Random(pk)
        stage = rng.choices(stages, weights)[0]
        created = now - HISTORY * (rng.random() ** 2) - timedelta(minutes=5)
        changed = created + (now - created) * rng.random() * 0.9
        source = rng.choices(sources, source_weights)[0]
        sales = stage in SALES_STAGES
        if sales:
            owner = rng.choice(ref.reps)
        elif stage == Stage.DISQUALIFIED:
            owner = None
        else:
            owner = rng.choice(ref.marketers) if rng.random() < 0.7 else None
        handed = created + (changed - created) * 0.5 if sales else None
        accepted = handed + timedelta(hours=2) if sales and stage != Stage.QUALIFIED else None
        email = f"lead{pk}@company{pk % 9973}.example"
        value = Decimal(rng.randrange(1_000, 200_000)) if sales else None
        yield _Lead(
            row=(
                pk,
                f"First{pk % 1000}",
                f"Last{pk % 7919}",
                email,
                email,
                f"+1555{pk:07d}"[-12:],
                f"Company {pk % 9973}",
                "Buyer",
                rng.choice(ref.campaigns) if rng.random() < 0.8 else None,
                rng.choice(ref.personas) if rng.random() < 0.5 else None,
                source,
                f"crm-{pk}" if source == "api" else None,
                stage,
                STAGE_OWNER[stage],
                owner,
                value,
                "",
                "[]",
                handed,
                accepted,
                owner if accepted else None,
                first_touch(pk, created, changed)[0] if stage != Stage.ENGAGED else None,
                # Milestones as the seeded history says: one move, engaged -> stage.
                changed if stage == Stage.QUALIFIED else None,
                None,
                changed if stage == Stage.OPPORTUNITY else None,
                changed,
                changed if stage not in OPEN else None,
                "",
                1,
                created,
                changed,
                None,
            ),
            stage=stage,
            owner=owner,
            created=created,
            changed=changed,
        )


def seed_leads(start: int, count: int, ref: Reference, now: datetime) -> None:
    """COPY `count` leads with ids from `start`, two history events for most of them, one
    clock each (for open leads running, at risk or past due and waiting; for closed ones met at
    the lead's first touch, on time or late) and a processed breach for every breached clock."""
    leads = list(_leads(start, count, ref, now))
    breached: list[tuple[Any, ...]] = []
    clocks = list(_clocks(leads, ref, now, breached))
    # Each lead's one clock gives its next_due_at, as sla.clocks.next_due_refresh would.
    due = dict(_awaited_due(clocks))
    copy_rows(Lead, LEAD_COLUMNS, ((*lead.row, due.get(lead.row[0], NO_DUE)) for lead in leads))
    copy_rows(LeadEvent, EVENT_COLUMNS, _events(leads))
    copy_rows(SlaClock, CLOCK_COLUMNS, clocks)
    copy_rows(Breach, BREACH_COLUMNS, breached)
    with connection.cursor() as cursor:
        for model in (Lead, SlaClock):
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )


def _awaited_due(clocks: list[tuple[Any, ...]]) -> Iterator[tuple[int, datetime]]:
    """(lead id, due time) of each clock still awaiting its goal (sla.models.awaiting_goal_q)."""
    column = {name: n for n, name in enumerate(CLOCK_COLUMNS)}
    awaited = (ClockState.RUNNING, ClockState.AT_RISK, ClockState.BREACHED)
    for clock in clocks:
        if (
            clock[column["state"]] in awaited
            and clock[column["met_at"]] is None
            and clock[column["cancelled_at"]] is None
        ):
            yield clock[column["lead"]], clock[column["due_at"]]


def _events(leads: list[_Lead]) -> Iterator[tuple[Any, ...]]:
    created = json.dumps({"source": "bench"})
    for lead in leads:
        pk = lead.row[0]
        yield (pk, LeadEvent.Kind.CREATED, None, "", Stage.ENGAGED, created, "", lead.created)
        if lead.stage != Stage.ENGAGED:
            yield (
                pk,
                LeadEvent.Kind.TRANSITION,
                lead.owner,
                Stage.ENGAGED,
                lead.stage,
                json.dumps({"stage": [Stage.ENGAGED, lead.stage]}),
                "",
                lead.changed,
            )


def _clocks(
    leads: list[_Lead], ref: Reference, now: datetime, breached: list[tuple[Any, ...]]
) -> Iterator[tuple[Any, ...]]:
    for lead in leads:
        pk = lead.row[0]
        policy = ref.policies.get(lead.stage) or ref.policies[Stage.ENGAGED]
        stage = policy.trigger_stage
        if lead.stage in OPEN:
            # Its own stream: Random(-pk) would replay the lead's (Python seeds with abs(n)).
            rng = random.Random(f"clock-{pk}")
            started = lead.changed
            due = now + timedelta(minutes=30) + timedelta(days=30) * rng.random()
            at_risk = now + (due - now) / 2
            state, met, breached_at = ClockState.RUNNING, None, None
            behind = rng.random()
            if behind < OVERDUE_SHARE:  # past due, flagged by the sweep, still waiting
                waited = max(now - timedelta(minutes=5) - started, timedelta())
                due = started + waited * rng.random()
                at_risk = started + (due - started) * 0.75
                state, breached_at = ClockState.BREACHED, due
            elif behind < OVERDUE_SHARE + AT_RISK_SHARE:  # past its at-risk mark, not yet due
                at_risk = started + (now - started) * rng.random()
                state = ClockState.AT_RISK
        else:
            # The first-touch clock of a lead that has left engaged: touched on time or late.
            started = lead.created
            due = started + policy.target
            at_risk = started + policy.target * 0.75
            met, late = first_touch(pk, lead.created, lead.changed)
            state = ClockState.BREACHED if late else ClockState.MET
            breached_at = due if late else None
        yield (
            pk,
            pk,
            policy.pk,
            1,
            policy.goal,
            stage,
            policy.accountable_team,
            lead.owner,
            policy.target,
            state,
            started,
            at_risk,
            due,
            met,
            breached_at,
            None,
            policy.reassign_at_risk,
        )
        if breached_at is not None:
            breached.append(
                (
                    Breach.Kind.CLOCK,
                    pk,
                    policy.pk,
                    pk,
                    policy.accountable_team,
                    lead.owner,
                    breached_at,
                    f"{policy.name}: lead {pk} missed its goal",
                    breached_at,
                    breached_at,
                    "",
                )
            )


def seeded_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {Lead._meta.db_table}")
        return int(cursor.fetchone()[0])


def grow_to(target: int, ref: Reference, now: datetime | None = None) -> float:
    """Seed leads until there are `target`; returns the seconds it took."""
    import time

    now = now or timezone.now()
    began = time.perf_counter()
    have = seeded_count()
    step = 100_000
    with _search_index_built_after(bulk=target - have > step):
        while have < target:
            count = min(step, target - have)
            seed_leads(have + 1, count, ref, now)
            have += count
    settle()
    return time.perf_counter() - began


def settle() -> None:
    """After a bulk load, what a production server does within a minute: beat folds the
    leads' kept counts (each COPY chunk appended its change rows), and autovacuum vacuums
    and analyzes. Without the vacuum (a server run with autovacuum off, as CI's is) no page
    is marked all-visible, so every index-only read (counts, GROUP BYs) also visits the heap,
    which no real deployment would measure."""
    tallies_fold()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


@contextmanager
def _search_index_built_after(*, bulk: bool) -> Iterator[None]:
    """Around a bulk load, drop the search's trigram index and build it once at the end, as
    one would for a real import: building it is several times faster than keeping it up to
    date row by row. Built whatever happened before: a run stopped mid-load left it dropped."""
    if bulk:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            cursor.execute(SEARCH_INDEX_SQL)
