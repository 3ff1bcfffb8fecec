""" "My work": each person's home page, their queue ordered by the SLA.

Interface code, like the dashboard: it gathers what the page shows from the selectors
(leads.selectors, sla.selectors) and the commitments, so every query the page runs starts
here and is counted in its test. The number of queries depends on the role, never on how
many leads or clocks there are: each list is one bounded read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from crm.models import Role, User
from leads import selectors as lead_reads
from leads.lifecycle import REASSIGNABLE_STAGES
from leads.models import Lead
from sla import selectors as sla_reads
from sla.commitments import commitments_progress

LIMIT = 50  # rows per list; the lead list holds the rest


@dataclass(frozen=True)
class QueueItem:
    """One lead in a queue, with its most urgent open SLA goal when it has one."""

    lead: Lead
    urgency: sla_reads.Urgency | None
    why: str  # what the person is expected to do


@dataclass
class MyWork:
    role: str
    sections: dict[str, Any] = field(default_factory=dict)


def _queue(leads: list[Lead], urgent: dict[int, sla_reads.Urgency], why: str) -> list[QueueItem]:
    return [QueueItem(lead=lead, urgency=urgent.get(lead.pk), why=why) for lead in leads]


def by_urgency(items: list[QueueItem]) -> list[QueueItem]:
    """Most urgent first: the earliest due (most overdue) goal, then leads without a clock."""
    return sorted(
        items,
        key=lambda i: (i.urgency is None, i.urgency.remaining if i.urgency else timedelta(0)),
    )


def _rep_work(user: User, now: datetime) -> dict[str, Any]:
    clocks = sla_reads.rep_queue_clocks(owner_id=user.pk, now=now, limit=LIMIT)
    urgent = sla_reads.most_urgent_by_lead(clocks, now)
    leads = {c.lead_id: c.lead for c in clocks}
    waiting = lead_reads.rep_waiting(owner_id=user.pk, limit=LIMIT)
    for lead in waiting:
        leads.setdefault(lead.pk, lead)
    queue = [
        QueueItem(
            lead=lead,
            urgency=urgent.get(pk),
            why="accept or reject" if lead.accepted_at is None else "act now",
        )
        for pk, lead in leads.items()
    ]
    opportunities = lead_reads.rep_opportunities(owner_id=user.pk, limit=LIMIT)
    opportunity_clocks = sla_reads.most_urgent_by_lead(
        sla_reads.clocks_of_leads([lead.pk for lead in opportunities]), now
    )
    return {
        "today": timezone.localdate(now),
        "follow_ups": lead_reads.followups_due(
            owner_id=user.pk, today=timezone.localdate(now), limit=LIMIT
        ),
        "queue": by_urgency(queue),
        "opportunities": by_urgency(_queue(opportunities, opportunity_clocks, "next step")),
    }


def _marketer_work(user: User, now: datetime) -> dict[str, Any]:
    waiting = lead_reads.waiting_for_sales(creator_id=user.pk, limit=LIMIT)
    urgent = sla_reads.most_urgent_by_lead(
        sla_reads.clocks_of_leads([lead.pk for lead in waiting]), now
    )
    return {
        "returned": lead_reads.returned_by_sales(creator_id=user.pk, limit=LIMIT),
        "waiting": by_urgency(_queue(waiting, urgent, "waiting for sales")),
        "commitments": commitments_progress(now=now),
        "imports": lead_reads.recent_imports(user_id=user.pk, limit=5),
    }


@dataclass(frozen=True)
class AttentionRow:
    urgency: sla_reads.Urgency
    can_reassign: bool


def _manager_work(now: datetime, reps: list[User]) -> dict[str, Any]:
    clocks = sla_reads.attention_clocks(now=now, limit=LIMIT)
    urgent = sla_reads.most_urgent_by_lead(clocks, now)
    rows = sorted(
        (
            AttentionRow(urgency=u, can_reassign=u.clock.lead.stage in REASSIGNABLE_STAGES)
            for u in urgent.values()
        ),
        key=lambda r: r.urgency.remaining,
    )
    breaches = sla_reads.unacknowledged_breaches(limit=LIMIT)
    return {
        "breaches": [
            (b, b.lead is not None and b.lead.stage in REASSIGNABLE_STAGES) for b in breaches
        ],
        "attention": rows,
        "load": sla_reads.rep_load(now=now, reps=reps),
    }


def my_work_read(user: User, now: datetime, *, reps: list[User]) -> MyWork:
    """What `user`'s home page shows; `reps` are the active sales reps (read once by the
    view, for the reassign forms and the manager's load table)."""
    if user.role == Role.SALES_REP:
        return MyWork(role=user.role, sections=_rep_work(user, now))
    if user.role == Role.MARKETER:
        return MyWork(role=user.role, sections=_marketer_work(user, now))
    if user.role == Role.MANAGER:
        return MyWork(role=user.role, sections=_manager_work(now, reps))
    return MyWork(role=user.role)
