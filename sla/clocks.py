"""The clock engine: start, settle and stop SLA clocks on a lead event.

This is the one door from the lead services into the SLA engine (choosing who takes a lead,
`assignee_route`, included): they call `clocks_on_lead_event` inside their own transaction
(or write `clock_starts` in the statement that creates the leads), so a clock starts, stops or
is cancelled atomically with the event that causes it, and a breach found on the way is
recorded in that same transaction. Person erasure comes through here too
(`deliveries_forget`): the SLA's webhook delivery log may quote the person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import DateTimeField, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from crm import rows
from crm.models import User
from crm.outbox import send_hint
from crm.set_insert import PerRow
from leads.models import NO_DUE, Lead, LeadEvent
from sla.business_time import add_business_time
from sla.models import (
    OPEN_CLOCK_STATES,
    Breach,
    BusinessCalendar,
    ClockState,
    SlaClock,
    SlaGoal,
    SlaPolicy,
    WebhookDelivery,
)
from sla.routing import Routing, route

# The task a new breach wakes to notify it (registered by sla.tasks under this name); the
# sweep notifies it anyway if the hint is lost.
NOTIFY_BREACHES_TASK = "sla.tasks.notify_breaches"


def clocks_on_lead_event(*, lead: Lead, event: LeadEvent, now: datetime) -> None:
    """Start, meet or cancel the lead's clocks for what just happened to it."""
    kind = event.kind
    changes = event.changes or {}
    touched = kind == LeadEvent.Kind.ACTIVITY and bool(changes.get("first_touch"))
    updated = kind in (LeadEvent.Kind.UPDATED, LeadEvent.Kind.ACTIVITY)
    left_stage = kind == LeadEvent.Kind.TRANSITION and event.from_stage
    if left_stage or kind == LeadEvent.Kind.ACCEPTED or updated:
        settle_clocks(
            lead=lead,
            now=now,
            left_stage=event.from_stage if left_stage else "",
            rejected=changes.get("transition") == "reject",
            accepted=kind == LeadEvent.Kind.ACCEPTED,
            touched=touched,
            updated=updated,
        )
    if kind == LeadEvent.Kind.ASSIGNED:
        # A reassigned lead's running clocks follow the new owner.
        SlaClock.objects.open().filter(lead=lead).update(owner_id=lead.owner_id)
    if kind in (LeadEvent.Kind.CREATED, LeadEvent.Kind.TRANSITION) and event.to_stage:
        clocks_start(lead=lead, stage=event.to_stage, now=now)


# Read for every lead created (clock_starts), so one plain SELECT of the policies and their
# calendars, prepared once per database session: the ORM's select_related query cost more to
# compile than to run (the single-lead ingest row of the bench). Ordered as
# SlaPolicy.Meta.ordering (the stage is given, names are unique), so clocks are written in
# the same order.
_ACTIVE_POLICIES = (
    f"SELECT {rows.select_list(SlaPolicy, 'p')}, {rows.select_list(BusinessCalendar, 'c')} "
    f"FROM {SlaPolicy._meta.db_table} AS p "
    f"LEFT JOIN {BusinessCalendar._meta.db_table} AS c ON c.id = p.calendar_id "
    "WHERE p.active AND p.trigger_stage = %s ORDER BY p.name"
)


def _active_policies(stage: str) -> list[SlaPolicy]:
    """The active policies triggered by entering `stage`, with their calendars."""
    policies = []
    for policy, calendar in rows.pairs(_ACTIVE_POLICIES, [stage], SlaPolicy, BusinessCalendar):
        policy.calendar = calendar
        policies.append(policy)
    return policies


def _policies_deadlines(stage: str, now: datetime) -> list[tuple[SlaPolicy, datetime, datetime]]:
    """Each active policy triggered by `stage`, with its at-risk and due instants from `now`
    (computed once here: a later policy edit never moves a running clock)."""
    deadlines = []
    for policy in _active_policies(stage):
        schedule = policy.schedule()
        deadlines.append(
            (
                policy,
                add_business_time(now, policy.target * float(policy.at_risk_fraction), schedule),
                add_business_time(now, policy.target, schedule),
            )
        )
    return deadlines


def _started_changes(clock: SlaClock) -> dict[str, Any]:
    """What a clock's start says on the lead's timeline."""
    return {
        "policy": clock.policy.name,
        "state": ["", ClockState.RUNNING],
        "due_at": clock.due_at.isoformat(),
    }


def _insert_started_clocks(clocks: list[SlaClock], now: datetime) -> list[SlaClock]:
    SlaClock.objects.bulk_create(clocks)
    record_clock_events([(c.lead_id, now, _started_changes(c), "") for c in clocks])
    return clocks


def _new_clock(
    *,
    lead: Lead,
    policy: SlaPolicy,
    cycle: int,
    stage: str,
    now: datetime,
    at_risk_at: datetime,
    due_at: datetime,
) -> SlaClock:
    return SlaClock(
        lead=lead,
        policy=policy,
        cycle=cycle,
        goal=policy.goal,
        stage=stage,
        team=policy.accountable_team,
        owner_id=lead.owner_id,
        target=policy.target,
        started_at=now,
        at_risk_at=at_risk_at,
        due_at=due_at,
        reassign_at_risk=policy.reassign_at_risk,
    )


def clocks_start(*, lead: Lead, stage: str, now: datetime) -> list[SlaClock]:
    """A new cycle of every active policy triggered by entering `stage`."""
    deadlines = _policies_deadlines(stage, now)
    if not deadlines:
        return []
    cycles = dict(
        SlaClock.objects.filter(lead=lead, policy__in=[d[0] for d in deadlines])
        .order_by()
        .values_list("policy_id")
        .annotate(last=Max("cycle"))
    )
    clocks = [
        _new_clock(
            lead=lead,
            policy=policy,
            cycle=cycles.get(policy.pk, 0) + 1,
            stage=stage,
            now=now,
            at_risk_at=at_risk_at,
            due_at=due_at,
        )
        for policy, at_risk_at, due_at in deadlines
    ]
    _insert_started_clocks(clocks, now)
    next_due_refresh([lead.pk])
    return clocks


def clock_starts(*, owner_id: int | None, stage: str, now: datetime) -> list[PerRow]:
    """What clocks_start writes for a lead just created in `stage` (its first cycle), as
    rows to write with each new lead (crm.set_insert.PerRow): the clocks, then their timeline
    events. One query for the policies, whatever the number of leads; none when no policy
    starts.

    All the leads share `now` and `owner_id`, and so each policy's clock: it differs from
    lead to lead only by `lead_id`.
    """
    deadlines = _policies_deadlines(stage, now)
    if not deadlines:
        return []
    holder = Lead(owner_id=owner_id)
    clocks = [
        _new_clock(
            lead=holder,
            policy=policy,
            cycle=1,
            stage=stage,
            now=now,
            at_risk_at=at_risk_at,
            due_at=due_at,
        )
        for policy, at_risk_at, due_at in deadlines
    ]
    # The same rows record_clock_events writes for a single start, lead by lead.
    events = [
        LeadEvent(kind=LeadEvent.Kind.CLOCK, changes=_started_changes(c), created_at=now)
        for c in clocks
    ]
    return [
        PerRow(SlaClock, key="lead_id", templates=clocks),
        PerRow(LeadEvent, key="lead_id", templates=events),
    ]


def _goal_reached(
    clock: SlaClock,
    *,
    left_stage: str,
    rejected: bool,
    accepted: bool,
    touched: bool,
    updated: bool,
    met_by_update: bool,
) -> bool:
    if clock.goal == SlaGoal.ACCEPT:
        return accepted or (left_stage == clock.stage and rejected)
    if clock.goal == SlaGoal.FIRST_TOUCH:
        return touched
    return left_stage == clock.stage or (updated and met_by_update)


def settle_clocks(
    *,
    lead: Lead,
    now: datetime,
    left_stage: str,
    rejected: bool,
    accepted: bool,
    touched: bool,
    updated: bool,
) -> None:
    # Breached clocks still wait for their goal so that reports know how late it came.
    waiting = list(
        SlaClock.objects.select_for_update()
        .awaiting_goal()
        .filter(lead=lead)
        .select_related("policy")
    )
    events = []
    new_breaches = []
    for clock in waiting:
        reached = _goal_reached(
            clock,
            left_stage=left_stage,
            rejected=rejected,
            accepted=accepted,
            touched=touched,
            updated=updated,
            met_by_update=clock.policy.met_by_update,
        )
        abandoned = not reached and left_stage == clock.stage
        if not (reached or abandoned):
            continue
        before = clock.state
        if reached:
            clock.met_at = now
        else:
            clock.cancelled_at = now
        if clock.state in OPEN_CLOCK_STATES:
            if now >= clock.due_at:
                clock.state = ClockState.BREACHED
                clock.breached_at = clock.due_at
                new_breaches.append(clock)
            else:
                clock.state = ClockState.MET if reached else ClockState.CANCELLED
        clock.save(update_fields=["state", "met_at", "cancelled_at", "breached_at"])
        detail = {"policy": clock.policy.name, "state": [before, clock.state]}
        if reached and before == ClockState.BREACHED:
            detail["goal_reached_late"] = True
        events.append((lead.pk, now, detail, ""))
    if new_breaches:
        breaches_record(new_breaches, now=now)
    if events:
        record_clock_events(events)
        next_due_refresh([lead.pk])


def next_due_refresh(lead_ids: Iterable[int]) -> None:
    """Recompute `Lead.next_due_at` of these leads from their clocks, in one UPDATE: called
    in the transaction of every change to a lead's awaited clocks (a start, a goal met, a
    clock cancelled), so "most urgent first" reads a column instead of every lead's clocks.
    Flagging a clock at risk or breached changes neither its due time nor whether it is
    awaited, so the sweep's flags leave the column as it is."""
    first_due = (
        SlaClock.objects.awaiting_goal()
        .filter(lead_id=OuterRef("pk"))
        .order_by("due_at")
        .values("due_at")[:1]
    )
    Lead.objects.filter(pk__in=list(lead_ids)).update(
        next_due_at=Coalesce(Subquery(first_due), Value(NO_DUE), output_field=DateTimeField())
    )


def first_due_of(starts: list[PerRow]) -> datetime:
    """The `next_due_at` of a lead created with the clocks `clock_starts` gave: they are all
    its clocks, and all awaited."""
    return min(
        (c.due_at for rows in starts if rows.model is SlaClock for c in rows.templates),
        default=NO_DUE,
    )


def breaches_record(clocks: list[SlaClock], *, now: datetime) -> None:
    """Breach rows for clocks just flagged breached; notifying them is a later claimed step."""
    Breach.objects.bulk_create(
        [
            Breach(
                kind=Breach.Kind.CLOCK,
                clock=clock,
                policy_id=clock.policy_id,
                lead_id=clock.lead_id,
                team=clock.team,
                owner_id=clock.owner_id,
                breached_at=clock.due_at,
                summary=f"{clock.policy.name}: lead {clock.lead_id} missed its "
                f"{clock.get_goal_display().lower()} goal",
                created_at=now,
            )
            for clock in clocks
        ]
    )
    transaction.on_commit(_notify_breaches_soon)


def _notify_breaches_soon() -> None:
    send_hint(NOTIFY_BREACHES_TASK)


def record_clock_events(
    rows: list[tuple[int, datetime, dict[str, Any], str]], actor: User | None = None
) -> None:
    """Clock history on the lead's timeline, written directly (not through record_event,
    which would call back into the clocks)."""
    LeadEvent.objects.bulk_create(
        [
            LeadEvent(
                lead_id=lead_id,
                kind=LeadEvent.Kind.CLOCK,
                actor=actor,
                changes=changes,
                note=note[:500],
                created_at=at,
            )
            for lead_id, at, changes, note in rows
        ]
    )


def deliveries_forget(*, emails: Sequence[str], needles: re.Pattern[str], erased: str) -> None:
    """Person erasure: webhook delivery errors that quoted one of the person's addresses lose
    every mention of the person (`needles`), in the erasure's transaction."""
    quoted = Q(pk__in=[])
    for email in emails:
        quoted |= Q(error__icontains=email)
    for delivery in WebhookDelivery.objects.filter(quoted):
        delivery.error = needles.sub(erased, delivery.error)
        delivery.save(update_fields=["error"])


def assignee_route(
    *, candidates: Sequence[User], stage: str, now: datetime, exclude_id: int | None = None
) -> Routing:
    """Who of `candidates` (in rotation order) takes a lead entering `stage`: the lead
    services reach `sla.routing` through this hook, as they reach the clocks."""
    return route(candidates=candidates, stage=stage, now=now, exclude_id=exclude_id)
