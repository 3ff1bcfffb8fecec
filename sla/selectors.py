"""SLA reads for pages, the API and reports: clocks, breaches, compliance, commitments."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

from django.db.models import (
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from crm.csv_files import csv_lines
from crm.models import Role, User
from leads.lifecycle import OPEN_STAGES, Stage
from leads.models import Lead
from sla.business_time import business_time_between
from sla.metrics.clock_groups import clock_groups
from sla.metrics.compute import (
    MetricFilter,
    Values,
    clock_values,
    decided_clocks,
    decided_q,
    rate,
)
from sla.models import (
    CALENDAR_SCHEDULE_FIELDS,
    OPEN_CLOCK_STATES,
    Absence,
    Breach,
    BreachExemption,
    ClockState,
    RepAvailability,
    SlaClock,
    SlaPolicy,
    first_of_each,
    needs_attention_arms,
    needs_attention_q,
    past_due_q,
    shown_state_q,
)

GROUPINGS = ("team", "rep", "policy", "week")


def clocks_for_lead(*, lead_id: int, now: datetime | None = None) -> list[SlaClock]:
    """Every clock of a lead, newest first, each with `shown_state` as a page shows it."""
    now = now or timezone.now()
    clocks = list(
        SlaClock.objects.filter(lead_id=lead_id)
        .select_related("policy__calendar", "owner")
        .order_by("-started_at", "-id")
    )
    for clock in clocks:
        clock.shown_state = clock.display_state(at=now)
    return clocks


def breach_list(
    *,
    team: str | None = None,
    policy_id: int | None = None,
    owner_id: int | None = None,
    kind: str | None = None,
    acknowledged: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Breach]:
    breaches = Breach.objects.select_related(
        "policy", "owner", "lead", "commitment", "acknowledged_by"
    ).prefetch_related(
        # Every request and decision, newest first: the row shows the latest and its story.
        Prefetch(
            "exemptions",
            queryset=BreachExemption.objects.select_related(
                "reason", "requested_by", "decided_by"
            ).order_by("-requested_at", "-id"),
        )
    )
    if team:
        breaches = breaches.filter(team=team)
    if policy_id:
        breaches = breaches.filter(policy_id=policy_id)
    if owner_id:
        breaches = breaches.filter(owner_id=owner_id)
    if kind:
        breaches = breaches.filter(kind=kind)
    if acknowledged is not None:
        breaches = breaches.filter(acknowledged_at__isnull=not acknowledged)
    if since:
        breaches = breaches.filter(breached_at__gte=since)
    if until:
        breaches = breaches.filter(breached_at__lt=until)
    return breaches.order_by("-breached_at", "-id")


CSV_HEADER = [
    "breach_id",
    "kind",
    "breached_at",
    "team",
    "owner",
    "policy",
    "lead_id",
    "summary",
    "acknowledged_at",
    "acknowledged_by",
    "note",
]


def breaches_csv(breaches: QuerySet[Breach]) -> Iterator[str]:
    """CSV lines for a breach list, streamed (the header first)."""
    return csv_lines(
        chain(
            [CSV_HEADER],
            (
                [
                    b.pk,
                    b.kind,
                    b.breached_at.isoformat(),
                    b.team,
                    b.owner.username if b.owner else "",
                    b.policy.name if b.policy else (b.commitment.name if b.commitment else ""),
                    b.lead_id or "",
                    b.summary,
                    b.acknowledged_at.isoformat() if b.acknowledged_at else "",
                    b.acknowledged_by.username if b.acknowledged_by else "",
                    b.acknowledgement_note,
                ]
                for b in breaches.iterator(chunk_size=500)
            ),
        )
    )


@dataclass(frozen=True)
class ComplianceRow:
    key: str
    label: str
    met: int
    breached: int
    median_time_to_goal: timedelta | None
    exempted: int = 0

    @property
    def total(self) -> int:
        return self.met + self.breached

    @property
    def compliance_percent(self) -> float | None:
        return rate(self.met, self.total)

    @property
    def adjusted_percent(self) -> float | None:
        """sla_compliance_adjusted: exempted breaches left out of both sides."""
        return rate(self.met, self.total - self.exempted)


def _decided_clocks(
    since: datetime | None, until: datetime | None, now: datetime, scope: MetricFilter | None
) -> QuerySet[SlaClock]:
    """Clocks whose outcome is known (sla.metrics.compute.decided_clocks): met, breached, or
    open and already past due; those of `scope`, or else started in [since, until)."""
    if scope is not None:
        clocks = decided_clocks(scope, now)
    else:
        clocks = SlaClock.objects.order_by().filter(decided_q(now))
        if since:
            clocks = clocks.filter(started_at__gte=since)
        if until:
            clocks = clocks.filter(started_at__lt=until)
    # Monday of the week the clock started, in the site's time zone.
    return clocks.annotate(week=TruncWeek("started_at"))


# What each report groups by, as columns of the decided clocks.
_GROUP_COLUMNS = {"team": "team", "rep": "owner_id", "policy": "policy_id", "week": "week"}


# The label each report reads along with its column.
_GROUP_LABELS = {"owner_id": "owner__username", "policy_id": "policy__name"}


def _group_key(group_by: str, value: Any, label: Any) -> tuple[str, str]:
    if group_by == "team":
        return value, value.title()
    if group_by == "rep":
        return str(value or ""), label or "(unassigned)"
    if group_by == "policy":
        return str(value), label
    monday = value.date()
    return monday.isoformat(), f"Week of {monday:%d %b %Y}"


def compliance_reports(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    scope: MetricFilter | None = None,
) -> dict[str, list[ComplianceRow]]:
    """Compliance % (met / decided) and median time to goal by team, rep, policy and week;
    `compliance_figures` without the catalogue's figures."""
    return compliance_figures(since=since, until=until, now=now, scope=scope)[0]


def compliance_figures(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    scope: MetricFilter | None = None,
) -> tuple[dict[str, list[ComplianceRow]], Values]:
    """Compliance % (met / decided) and median time to goal by team, rep, policy and week,
    and the catalogue's clock figures of the same clocks (`clock_values`, as
    sla.metrics.compute.clock_figures gives them), from one query on PostgreSQL whatever the
    number of clocks (sla.metrics.clock_groups: one grouping set per report and per goal).

    A clock counts when decided: met, breached, or open and already past due. Cancelled
    clocks (the goal stopped applying) count for neither side. The median is over every
    decided clock that reached its goal, late ones included.
    """
    now = now or timezone.now()
    clocks = _decided_clocks(since, until, now, scope)
    groups = clock_groups(clocks, (*_GROUP_COLUMNS.values(), "goal"), labels=_GROUP_LABELS)
    reports: dict[str, list[ComplianceRow]] = {}
    for name, column in _GROUP_COLUMNS.items():
        rows = []
        for value, group in groups[column].items():
            key, label = _group_key(name, value, group.label)
            rows.append(
                ComplianceRow(
                    key=key,
                    label=label,
                    met=group.met,
                    breached=group.missed,
                    exempted=group.exempted,
                    median_time_to_goal=group.median,
                )
            )
        # Weeks in calendar order (their keys are ISO dates), the rest by name.
        rows.sort(key=(lambda row: row.key) if name == "week" else (lambda row: row.label))
        reports[name] = rows
    return reports, clock_values(groups["goal"])


def compliance_report(
    *,
    group_by: str,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> list[ComplianceRow]:
    """One of `compliance_reports`: by team, rep, policy or week."""
    if group_by not in GROUPINGS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPINGS)}")
    return compliance_reports(since=since, until=until, now=now)[group_by]


def policies_with_counts() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.select_related("calendar").annotate(
        open_clocks=Count("clocks", filter=Q(clocks__state__in=OPEN_CLOCK_STATES), distinct=True),
        breaches_count=Count("breaches", distinct=True),
    )


# ---------------------------------------------------------------- each person's queue ("My work")


@dataclass(frozen=True)
class Urgency:
    """How soon a lead's most urgent open SLA goal is due, in its policy's business time."""

    clock: SlaClock
    shown_state: str
    # Business time left until due; negative when overdue.
    remaining: timedelta

    @property
    def due_at(self) -> datetime:
        return self.clock.due_at


def urgency_of(clock: SlaClock, now: datetime) -> Urgency:
    """A clock's urgency at `now`: business time left (or past, negative) on its calendar."""
    schedule = clock.policy.schedule()
    if now < clock.due_at:
        remaining = business_time_between(now, clock.due_at, schedule)
    else:
        remaining = -business_time_between(clock.due_at, now, schedule)
    return Urgency(clock=clock, shown_state=clock.display_state(at=now), remaining=remaining)


def most_urgent_by_lead(clocks: Iterable[SlaClock], now: datetime) -> dict[int, Urgency]:
    """The earliest-due clock of each lead among `clocks` (ordered by due time), as Urgency."""
    chosen: dict[int, Urgency] = {}
    for clock in clocks:
        if clock.lead_id not in chosen:
            chosen[clock.lead_id] = urgency_of(clock, now)
    return chosen


def _awaiting_with_policy() -> QuerySet[SlaClock]:
    return (
        SlaClock.objects.awaiting_goal()
        .filter(lead__stage__in=OPEN_STAGES)
        .select_related("policy__calendar")
        .order_by("due_at", "id")
    )


def rep_queue_clocks(*, owner_id: int, now: datetime, limit: int) -> list[SlaClock]:
    """A rep's clocks that need work: every clock of a lead waiting for their acceptance,
    and their other clocks at risk or past due; earliest due first, each with its lead."""
    waiting = Q(lead__stage=Stage.QUALIFIED, lead__accepted_at__isnull=True)
    return list(
        _awaiting_with_policy()
        .filter(owner_id=owner_id)
        .filter(waiting | needs_attention_q(now))
        .select_related("lead")[:limit]
    )


# What a Due cell reads of a clock (sla_tags.due_cell): a list shows 25 of them.
_DUE_CELL_FIELDS = (
    "lead_id",
    "state",
    "at_risk_at",
    "due_at",
    "policy__name",
    *(f"policy__calendar__{name}" for name in CALENDAR_SCHEDULE_FIELDS),
)


def clocks_of_leads(lead_ids: list[int]) -> list[SlaClock]:
    """The clocks still waiting for their goal on these leads, earliest due first, with what
    their Due cells show."""
    if not lead_ids:
        return []
    return list(_awaiting_with_policy().filter(lead_id__in=lead_ids).only(*_DUE_CELL_FIELDS))


def attention_clocks(*, now: datetime, limit: int) -> list[SlaClock]:
    """Every rep's clocks at risk or past due, earliest due first (the manager's list). Each
    kind is read in due order from its own index (`first_of_each`): under one OR the database
    read and sorted every such clock (tens of thousands at a million leads) to show fifty."""
    clocks = _awaiting_with_policy()
    chosen = first_of_each(clocks, needs_attention_arms(now), ("due_at", "id"), limit)
    return list(clocks.filter(pk__in=chosen).select_related("lead", "owner")[:limit])


@dataclass(frozen=True)
class RepLoad:
    rep_id: int
    name: str
    waiting: int  # leads handed to the rep, not yet accepted
    at_risk: int  # open leads with a clock past its at-risk mark, not yet due
    past_due: int  # open leads with a clock past due (breached, still waiting for its goal)


def rep_load(*, now: datetime, reps: list[Any]) -> list[RepLoad]:
    """Each active sales rep's load, most past due first: two grouped counts, whatever the
    number of leads or reps."""
    late = Q(state=ClockState.BREACHED) | past_due_q(now)
    risky = shown_state_q(ClockState.AT_RISK, now)
    # Both counts are of clocks needing attention: their partial indexes find them.
    by_owner = {
        row["owner_id"]: row
        for row in SlaClock.objects.awaiting_goal()
        .needs_attention(now)
        .filter(owner_id__in=[r.pk for r in reps], lead__stage__in=OPEN_STAGES)
        .order_by()
        .values("owner_id")
        .annotate(
            at_risk=Count("lead_id", filter=risky, distinct=True),
            past_due=Count("lead_id", filter=late, distinct=True),
        )
    }
    waiting = Lead.objects.waiting_by_owner([r.pk for r in reps])
    rows = [
        RepLoad(
            rep_id=rep.pk,
            name=rep.display_name,
            waiting=waiting.get(rep.pk, 0),
            at_risk=by_owner.get(rep.pk, {}).get("at_risk", 0),
            past_due=by_owner.get(rep.pk, {}).get("past_due", 0),
        )
        for rep in reps
    ]
    return sorted(rows, key=lambda r: (-r.past_due, -r.at_risk, -r.waiting, r.name))


def unacknowledged_breaches(*, limit: int) -> list[Breach]:
    """Breaches no manager has reviewed yet, newest first, with what their rows show."""
    return list(breach_list(acknowledged=False).select_related("lead__owner")[:limit])


def with_due_order(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """Leads with `due_order`: the due time of their earliest SLA goal still awaited (open, or
    breached and still waiting), or NO_DUE; what "most urgent first" sorts by, lists and API
    alike. It is the lead's kept `next_due_at` (sla.clocks.next_due_refresh), so the order is
    a scan of the `lead_next_due_idx` index."""
    return leads.annotate(due_order=F("next_due_at"))


def urgency_by_lead(lead_ids: list[int], now: datetime) -> dict[int, Urgency]:
    """Each lead's most urgent SLA goal still awaited, for a list's Due column: one query."""
    return most_urgent_by_lead(clocks_of_leads(lead_ids), now)


def most_urgent_of(clocks: list[SlaClock], now: datetime) -> Urgency | None:
    """The earliest-due goal still awaited among a lead's clocks (the lead page's countdown)."""
    waiting = [
        c
        for c in clocks
        if c.state in (*OPEN_CLOCK_STATES, ClockState.BREACHED)
        and c.met_at is None
        and c.cancelled_at is None
    ]
    return urgency_of(min(waiting, key=lambda c: (c.due_at, c.pk)), now) if waiting else None


def sweep_lag(*, now: datetime) -> timedelta:
    """How long the oldest open clock has been past due without the sweep flagging it (zero
    when the sweep keeps up). Reads the partial index on `due_at` for open clocks."""
    oldest = SlaClock.objects.past_due(now).order_by("due_at").values_list("due_at", flat=True)
    first = oldest.first()
    return max(now - first, timedelta(0)) if first else timedelta(0)


@dataclass(frozen=True)
class RepAvailabilityRow:
    rep: User
    availability: RepAvailability | None
    absences: list[Absence]  # not over yet, soonest first
    waiting: int
    away_now: Absence | None


def availability_rows(*, now: datetime) -> list[RepAvailabilityRow]:
    """Every active sales rep with their hours, capacity, absences not over and waiting
    leads: four queries, whatever the number of reps."""
    reps = list(
        User.objects.filter(role=Role.SALES_REP, is_active=True).order_by("first_name", "username")
    )
    ids = [rep.pk for rep in reps]
    own = {
        a.user_id: a
        for a in RepAvailability.objects.filter(user_id__in=ids).select_related("calendar")
    }
    absences: dict[int, list[Absence]] = {}
    for absence in (
        Absence.objects.live().filter(user_id__in=ids, ends_at__gt=now).order_by("starts_at")
    ):
        absences.setdefault(absence.user_id, []).append(absence)
    waiting = Lead.objects.waiting_by_owner(ids)
    return [
        RepAvailabilityRow(
            rep=rep,
            availability=own.get(rep.pk),
            absences=absences.get(rep.pk, []),
            waiting=waiting.get(rep.pk, 0),
            away_now=next((a for a in absences.get(rep.pk, []) if a.starts_at <= now), None),
        )
        for rep in reps
    ]
