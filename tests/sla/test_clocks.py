"""Clocks start, stop and cancel in the lead's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leads.models import LeadEvent, Reason
from leads.services.activities import activity_log
from leads.services.leads import lead_update
from leads.services.transitions import (
    lead_accept,
    lead_hand_off,
    lead_re_engage,
    lead_reject,
    lead_to_opportunity,
)
from sla.models import Breach, ClockState, SlaClock
from sla.services import policy_update
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


def _clock(lead, policy) -> SlaClock:
    return SlaClock.objects.filter(lead=lead, policy=policy).order_by("-cycle").first()


def test_it_starts_clocks_with_business_time_due_dates(hand_off, accept_policy, touch_policy):
    lead = hand_off()

    accept = _clock(lead, accept_policy)
    touch = _clock(lead, touch_policy)
    assert accept.state == ClockState.RUNNING
    assert accept.started_at == MONDAY_10AM
    # 10:00 + 2h30 to lunch, then 1h30 after it: 15:00 London (= UTC in March).
    assert accept.due_at == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert accept.at_risk_at == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    # A working day of 8 hours ends at 10:00 the next morning.
    assert touch.due_at == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    assert accept.owner == lead.owner
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CLOCK).count() == 2


def test_it_meets_the_accept_clock_in_the_accepting_transaction(hand_off, accept_policy, sales_rep):
    lead = hand_off()
    lead_accept(lead=lead, actor=sales_rep, now=MONDAY_10AM + timedelta(hours=1))

    clock = _clock(lead, accept_policy)
    assert clock.state == ClockState.MET
    assert clock.met_at == MONDAY_10AM + timedelta(hours=1)
    assert clock.time_to_goal() == timedelta(hours=1)


def test_it_counts_a_rejection_as_an_answer_and_cancels_the_first_touch(
    hand_off, accept_policy, touch_policy, sales_rep
):
    reason = Reason.objects.filter(kind=Reason.Kind.REJECT).first()
    lead = hand_off()
    lead_reject(lead=lead, actor=sales_rep, reason=reason, now=MONDAY_10AM + timedelta(hours=2))

    assert _clock(lead, accept_policy).state == ClockState.MET
    touch = _clock(lead, touch_policy)
    assert touch.state == ClockState.CANCELLED
    assert touch.cancelled_at == MONDAY_10AM + timedelta(hours=2)


def test_it_meets_first_touch_only_for_the_assignees_call(
    hand_off, touch_policy, sales_rep, manager
):
    lead = hand_off()
    activity_log(lead=lead, actor=manager, kind="call", now=MONDAY_10AM + timedelta(minutes=5))
    assert _clock(lead, touch_policy).state == ClockState.RUNNING

    activity_log(lead=lead, actor=sales_rep, kind="note", now=MONDAY_10AM + timedelta(minutes=6))
    assert _clock(lead, touch_policy).state == ClockState.RUNNING

    activity_log(lead=lead, actor=sales_rep, kind="email", now=MONDAY_10AM + timedelta(minutes=9))
    assert _clock(lead, touch_policy).state == ClockState.MET


def test_it_records_a_late_answer_as_a_breach_at_due_time_before_any_sweep(
    hand_off, accept_policy, sales_rep
):
    lead = hand_off()
    late = MONDAY_10AM + timedelta(days=1)
    lead_accept(lead=lead, actor=sales_rep, now=late)

    clock = _clock(lead, accept_policy)
    assert clock.state == ClockState.BREACHED
    assert clock.breached_at == clock.due_at
    assert clock.met_at == late
    breach = Breach.objects.get(clock=clock)
    assert breach.breached_at == clock.due_at
    assert breach.processed_at is None  # notifying is the sweep's claimed step


def test_it_starts_a_new_cycle_when_the_lead_comes_back(
    hand_off, accept_policy, sales_rep, marketer
):
    reason = Reason.objects.filter(kind=Reason.Kind.REJECT).first()
    lead = hand_off()
    lead = lead_reject(lead=lead, actor=sales_rep, reason=reason, now=MONDAY_10AM)
    lead = lead_re_engage(lead=lead, actor=marketer, now=MONDAY_10AM + timedelta(days=1))
    lead_hand_off(
        lead=lead,
        actor=marketer,
        assignee=sales_rep,
        criteria=ALL_REQUIRED_CRITERIA,
        now=MONDAY_10AM + timedelta(days=2),
    )

    cycles = list(
        SlaClock.objects.filter(lead=lead, policy=accept_policy)
        .order_by("cycle")
        .values_list("cycle", "state")
    )
    assert cycles == [(1, ClockState.MET), (2, ClockState.RUNNING)]


def test_a_policy_edit_never_rewrites_a_started_clock(hand_off, accept_policy, manager):
    lead = hand_off()
    before = _clock(lead, accept_policy).due_at

    policy_update(
        actor=manager, policy=accept_policy, fields={"target": timedelta(hours=1)}, now=MONDAY_10AM
    )

    assert _clock(lead, accept_policy).due_at == before
    assert _clock(lead, accept_policy).target == timedelta(hours=4)


def test_an_opportunity_clock_is_met_by_an_update(accepted_lead, opportunity_policy, sales_rep):
    lead = lead_to_opportunity(
        lead=accepted_lead,
        actor=sales_rep,
        estimated_value="5000",
        next_step="Call",
        now=MONDAY_10AM,
    )
    clock = _clock(lead, opportunity_policy)
    assert clock.due_at == MONDAY_10AM + timedelta(days=14)

    lead_update(
        lead=lead,
        actor=sales_rep,
        fields={"next_step": "Send proposal"},
        expected_version=lead.version,
        now=MONDAY_10AM + timedelta(days=3),
    )
    assert _clock(lead, opportunity_policy).state == ClockState.MET


def test_a_page_shows_a_past_due_clock_as_breached_before_the_sweep(hand_off, accept_policy):
    lead = hand_off()
    clock = _clock(lead, accept_policy)

    assert clock.display_state(at=MONDAY_10AM) == ClockState.RUNNING
    assert clock.display_state(at=clock.at_risk_at) == ClockState.AT_RISK
    assert clock.display_state(at=clock.due_at) == ClockState.BREACHED
    assert clock.state == ClockState.RUNNING


def test_inactive_policies_start_nothing(hand_off, accept_policy, manager):
    policy_update(actor=manager, policy=accept_policy, fields={"active": False})
    lead = hand_off()
    assert not SlaClock.objects.filter(lead=lead).exists()


def test_running_clocks_follow_a_reassignment(hand_off, accept_policy, other_sales_rep):
    from leads.models import Lead
    from leads.services.history import record_event

    lead = hand_off()
    Lead.objects.filter(pk=lead.pk).update(owner=other_sales_rep)
    lead.refresh_from_db()
    record_event(lead=lead, kind=LeadEvent.Kind.ASSIGNED, actor=None, now=MONDAY_10AM)
    assert _clock(lead, accept_policy).owner == other_sales_rep


def test_a_reassigned_lead_keeps_its_due_time_under_the_new_owner(
    hand_off, accept_policy, manager, other_sales_rep
):
    from leads.services.reassignment import lead_reassign

    lead = hand_off()
    before = _clock(lead, accept_policy)
    lead_reassign(
        lead=lead,
        actor=manager,
        assignee=other_sales_rep,
        reason="Leave",
        now=MONDAY_10AM + timedelta(hours=1),
    )
    after = _clock(lead, accept_policy)
    assert after.pk == before.pk
    assert (after.owner, after.state, after.due_at) == (
        other_sales_rep,
        ClockState.RUNNING,
        before.due_at,
    )
