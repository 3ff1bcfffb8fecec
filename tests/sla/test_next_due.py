"""`Lead.next_due_at`, the column "most urgent first" sorts by, stays exactly what the lead's
clocks say through every flow that starts, meets, cancels or flags them; and on PostgreSQL the
unfiltered urgent page reads it from its index instead of sorting every lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bench.seed import reference_data, seed_leads
from leads.filters import LIST_SORTS
from leads.models import NO_DUE, Lead, Reason
from leads.pagination import lead_page
from leads.services.activities import activity_log
from leads.services.batch import lead_create_batch
from leads.services.leads import LeadInput
from leads.services.privacy import person_erase
from leads.services.reassignment import lead_reassign
from leads.services.transitions import (
    lead_accept,
    lead_hand_off,
    lead_lose,
    lead_recycle,
    lead_reject,
    lead_to_opportunity,
)
from sla.models import ClockState, SlaClock, SlaGoal
from sla.selectors import with_due_order
from sla.sweep import sla_sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import SlaPolicyFactory

pytestmark = pytest.mark.django_db

MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AWAITED = (ClockState.RUNNING, ClockState.AT_RISK, ClockState.BREACHED)


def _recomputed() -> dict[int, datetime]:
    """Each lead's next due time worked out from its clocks, in Python."""
    due = dict.fromkeys(Lead.objects.values_list("pk", flat=True), NO_DUE)
    for clock in SlaClock.objects.all():
        if clock.state in AWAITED and clock.met_at is None and clock.cancelled_at is None:
            due[clock.lead_id] = min(due[clock.lead_id], clock.due_at)
    return due


def _assert_kept() -> None:
    kept = dict(Lead.objects.values_list("pk", "next_due_at"))
    assert kept == _recomputed()


def _reason(kind: str) -> Reason:
    return Reason.objects.filter(kind=kind, active=True).first()


def test_it_keeps_next_due_at_exact_through_every_flow(
    make_lead, marketer, sales_rep, other_sales_rep, manager
):
    SlaPolicyFactory(actor=manager, new_lead_touch=True, target=timedelta(hours=8))
    SlaPolicyFactory(actor=manager, name="Accept in 4 h, else move on", reassign_at_risk=True)
    SlaPolicyFactory(
        actor=manager,
        goal=SlaGoal.EXIT_STAGE,
        trigger_stage="opportunity",
        target=timedelta(days=30),
    )
    at = MONDAY_10AM
    created = [make_lead(first_name=f"L{n}", now=at) for n in range(6)]
    _assert_kept()
    assert {lead.next_due_at for lead in created} == {at + timedelta(hours=8)}

    handed = [
        lead_hand_off(
            lead=lead,
            actor=marketer,
            assignee=sales_rep,
            criteria=ALL_REQUIRED_CRITERIA,
            now=at + timedelta(minutes=10),
        )
        for lead in created[:5]
    ]
    _assert_kept()
    lead_accept(lead=handed[0], actor=sales_rep, now=at + timedelta(minutes=20))
    lead_reject(
        lead=handed[1], actor=sales_rep, reason=_reason("reject"), now=at + timedelta(minutes=30)
    )
    activity_log(lead=created[5], actor=marketer, kind="call", now=at + timedelta(minutes=40))
    _assert_kept()

    opportunity = lead_to_opportunity(
        lead=handed[0],
        actor=sales_rep,
        estimated_value="5000",
        next_step="Demo",
        now=at + timedelta(hours=1),
    )
    _assert_kept()
    lost = lead_lose(
        lead=opportunity, actor=sales_rep, reason=_reason("lost"), now=at + timedelta(hours=2)
    )
    lead_recycle(lead=lost, actor=sales_rep, now=at + timedelta(hours=2, minutes=5))
    lead_reassign(
        lead=handed[2],
        actor=manager,
        assignee=other_sales_rep,
        reason="Sam is away",
        now=at + timedelta(hours=2),
    )
    _assert_kept()

    # At risk (the sweep moves one lead on), then past due (breached: still awaited).
    sla_sweep(now=at + timedelta(hours=3, minutes=15))
    _assert_kept()
    sla_sweep(now=at + timedelta(hours=5))
    _assert_kept()
    late = Lead.objects.get(pk=handed[3].pk)
    assert late.next_due_at == at + timedelta(hours=4, minutes=10)
    lead_accept(lead=late, actor=late.owner, now=at + timedelta(hours=6))
    _assert_kept()

    results = lead_create_batch(
        actor=marketer,
        items=[LeadInput(email=f"batch{n}@acme.example") for n in range(3)],
        now=at + timedelta(hours=7),
    )
    assert [r.outcome for r in results] == ["created"] * 3
    _assert_kept()
    person_erase(actor=manager, email=created[4].email, now=at + timedelta(hours=8))
    _assert_kept()
    assert len(set(_recomputed().values())) >= 3  # the flows left several distinct due times


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads a PostgreSQL plan")
def test_the_unfiltered_urgent_page_reads_the_index_without_sorting_every_lead():
    now = timezone.now()
    seed_leads(1, 2_000, reference_data(now), now)
    _assert_kept()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Lead._meta.db_table}")
    sort = LIST_SORTS["due"]
    urgent = with_due_order(Lead.objects.all())
    first = lead_page(urgent, sort=sort, size=25)
    due = [lead.due_order for lead in first.leads]
    assert due == sorted(due) and len(due) == 25
    # The statement lead_page runs for the first page.
    plan = urgent.order_by(*sort.order_by())[:26].explain()
    assert "lead_next_due_idx" in plan, plan
    assert "Sort" not in plan, plan
