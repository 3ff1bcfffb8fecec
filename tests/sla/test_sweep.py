"""The sweep flags due clocks once, with breached_at = due_at however late it runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from crm.models import Notification, OutboxMessage
from crm.outbox import outbox_drain
from leads.models import LeadEvent
from sla.models import Breach, ClockState, SlaClock
from sla.sweep import sla_sweep
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


def test_it_flags_at_risk_then_breached(hand_off, accept_policy):
    lead = hand_off()
    clock = SlaClock.objects.get(lead=lead)

    assert sla_sweep(now=clock.at_risk_at - timedelta(seconds=1)).at_risk == 0
    result = sla_sweep(now=clock.at_risk_at)
    assert (result.at_risk, result.breached) == (1, 0)
    clock.refresh_from_db()
    assert clock.state == ClockState.AT_RISK

    result = sla_sweep(now=clock.due_at)
    assert (result.at_risk, result.breached, result.notified) == (0, 1, 1)
    clock.refresh_from_db()
    assert clock.state == ClockState.BREACHED
    assert clock.breached_at == clock.due_at
    history = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CLOCK).order_by("id")
    assert [e.changes["state"][1] for e in history] == ["running", "at_risk", "breached"]


def test_a_sweep_an_hour_late_still_reports_breached_at_due_at(hand_off, accept_policy):
    lead = hand_off()
    clock = SlaClock.objects.get(lead=lead)

    sla_sweep(now=clock.due_at + timedelta(hours=1))

    clock.refresh_from_db()
    breach = Breach.objects.get(clock=clock)
    assert clock.breached_at == clock.due_at == breach.breached_at
    assert clock.state == ClockState.BREACHED


def test_it_is_idempotent_and_notifies_each_breach_once_per_channel(
    hand_off, accept_policy, manager, sales_rep
):
    hand_off()
    later = MONDAY_10AM + timedelta(days=2)
    first = sla_sweep(now=later)
    again = sla_sweep(now=later)

    assert (first.breached, again.breached, again.notified) == (1, 0, 0)
    breach = Breach.objects.get()
    # The sweep queues one fan-out for the breach; the drain expands it.
    assert list(OutboxMessage.objects.values_list("channel", "delivery_key")) == [
        ("fan_out", f"breach:{breach.pk}:fan_out")
    ]
    outbox_drain(now=later)
    outbox_drain(now=later)
    keys = sorted(
        OutboxMessage.objects.exclude(channel="fan_out").values_list("channel", "recipient_id")
    )
    # The owner and the (only) manager, in-app and by email.
    assert keys == sorted(
        [("email", manager.pk), ("email", sales_rep.pk), ("in_app", manager.pk),
         ("in_app", sales_rep.pk)]
    )  # fmt: skip
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    assert Notification.objects.filter(user=manager).count() == 1
    assert Notification.objects.filter(user=sales_rep).count() == 1


def test_it_leaves_met_and_cancelled_clocks_alone(hand_off, accept_policy, sales_rep):
    from leads.services.transitions import lead_accept

    lead = hand_off()
    lead_accept(lead=lead, actor=sales_rep, now=MONDAY_10AM + timedelta(minutes=3))
    result = sla_sweep(now=MONDAY_10AM + timedelta(days=30))
    assert (result.at_risk, result.breached) == (0, 0)


def test_its_work_grows_with_due_clocks_not_all_clocks(
    hand_off, accept_policy, django_assert_max_num_queries
):
    for n in range(3):
        hand_off(at=MONDAY_10AM + timedelta(days=7 * n))  # only the first is due below
    now = MONDAY_10AM + timedelta(days=1)
    with django_assert_max_num_queries(30):
        result = sla_sweep(now=now, batch_size=2)
    assert result.breached == 1


def test_it_runs_in_batches_until_all_due_clocks_are_flagged(hand_off, accept_policy):
    for _ in range(5):
        hand_off()
    result = sla_sweep(now=MONDAY_10AM + timedelta(days=1), batch_size=2)
    assert result.breached == 5
    assert SlaClock.objects.filter(state=ClockState.BREACHED).count() == 5


def test_the_management_command_runs_the_same_sweep(hand_off, accept_policy, capsys):
    hand_off()
    with time_machine.travel(MONDAY_10AM + timedelta(days=1), tick=False):
        call_command("sla_sweep", "--dry-run")
        assert "Would flag: 1 breached" in capsys.readouterr().out
        assert SlaClock.objects.filter(state=ClockState.RUNNING).count() == 1
        call_command("sla_sweep")
        assert "Flagged: 1 breached" in capsys.readouterr().out
    assert SlaClock.objects.filter(state=ClockState.BREACHED).count() == 1
