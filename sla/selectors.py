"""SLA reads for pages, the API and reports: clocks, breaches, compliance, commitments."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from sla.models import OPEN_CLOCK_STATES, Breach, ClockState, SlaClock, SlaPolicy

GROUPINGS = ("team", "rep", "policy", "week")


def clocks_for_lead(*, lead_id: int, now: datetime | None = None) -> list[SlaClock]:
    """Every clock of a lead, newest first, each with `shown_state` as a page shows it."""
    now = now or timezone.now()
    clocks = list(
        SlaClock.objects.filter(lead_id=lead_id)
        .select_related("policy", "owner")
        .order_by("-started_at", "-id")
    )
    for clock in clocks:
        clock.shown_state = clock.display_state(at=now)
    return clocks


def clock_state_counts(*, now: datetime | None = None) -> dict[str, int]:
    """Open clocks as a page shows them (past due counts as breached before the sweep)."""
    now = now or timezone.now()
    counts = SlaClock.objects.open().aggregate(
        breached=Count("id", filter=Q(due_at__lte=now)),
        at_risk=Count("id", filter=Q(due_at__gt=now, at_risk_at__lte=now)),
        running=Count("id", filter=Q(at_risk_at__gt=now)),
    )
    return {key: value or 0 for key, value in counts.items()}


def clocks_needing_attention(*, now: datetime | None = None, limit: int = 20) -> QuerySet[SlaClock]:
    """Open clocks at risk or past due, soonest due first (the dashboard's list)."""
    now = now or timezone.now()
    return (
        SlaClock.objects.open()
        .filter(at_risk_at__lte=now)
        .select_related("lead", "policy", "owner")
        .order_by("due_at")[:limit]
    )


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


def _csv_safe(value: Any) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ is read as text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def breaches_csv(breaches: QuerySet[Breach]) -> Iterator[str]:
    """CSV lines for a breach list, streamed (the header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_safe(v) for v in row])
        return buffer.getvalue()

    yield line(CSV_HEADER)
    for b in breaches.iterator(chunk_size=500):
        yield line(
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
        )


@dataclass(frozen=True)
class ComplianceRow:
    key: str
    label: str
    met: int
    breached: int
    median_time_to_goal: timedelta | None

    @property
    def total(self) -> int:
        return self.met + self.breached

    @property
    def compliance_percent(self) -> float | None:
        return None if not self.total else round(100 * self.met / self.total, 1)


def compliance_report(
    *,
    group_by: str,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> list[ComplianceRow]:
    """Compliance % (met / decided) and median time to goal, by team, rep, policy or week.

    A clock counts when decided: met, breached, or open and already past due. Cancelled
    clocks (the goal stopped applying) count for neither side.
    """
    if group_by not in GROUPINGS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPINGS)}")
    now = now or timezone.now()
    clocks = SlaClock.objects.filter(
        Q(state__in=[ClockState.MET, ClockState.BREACHED])
        | Q(state__in=OPEN_CLOCK_STATES, due_at__lte=now)
    )
    if since:
        clocks = clocks.filter(started_at__gte=since)
    if until:
        clocks = clocks.filter(started_at__lt=until)
    rows = clocks.values_list(
        "state",
        "started_at",
        "met_at",
        "team",
        "owner_id",
        "owner__username",
        "policy_id",
        "policy__name",
    )
    groups: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"label": "", "met": 0, "breached": 0, "durations": []}
    )
    for state, started, met_at, team, owner_id, username, policy_id, policy_name in rows.iterator(
        chunk_size=2000
    ):
        if group_by == "team":
            key, label = team, team.title()
        elif group_by == "rep":
            key, label = str(owner_id or ""), username or "(unassigned)"
        elif group_by == "policy":
            key, label = str(policy_id), policy_name
        else:
            local = timezone.localtime(started)
            monday = (local - timedelta(days=local.weekday())).date()
            key, label = monday.isoformat(), f"Week of {monday:%d %b %Y}"
        group = groups[key]
        group["label"] = label
        group["met" if state == ClockState.MET else "breached"] += 1
        if met_at is not None:
            group["durations"].append(met_at - started)
    return [
        ComplianceRow(
            key=key,
            label=g["label"],
            met=g["met"],
            breached=g["breached"],
            median_time_to_goal=median(g["durations"]) if g["durations"] else None,
        )
        # Weeks in calendar order (their keys are ISO dates), the rest by name.
        for key, g in sorted(
            groups.items(), key=lambda item: item[0] if group_by == "week" else item[1]["label"]
        )
    ]


def policies_with_counts() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.select_related("calendar").annotate(
        open_clocks=Count("clocks", filter=Q(clocks__state__in=OPEN_CLOCK_STATES), distinct=True),
        breaches_count=Count("breaches", distinct=True),
    )
