"""The clock conditions in SQL (`SlaClock.objects...`) pick exactly the clocks that a page,
reading one clock at a time (`SlaClock.display_state`), shows in that state: filters, the
dashboard, the lead list's saved view and the sweep all filter through them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leads.models import Reason
from leads.services.transitions import lead_accept, lead_reject
from sla.models import ClockState, SlaClock
from sla.sweep import sla_sweep
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db

TUESDAY_10AM = MONDAY_10AM + timedelta(days=1)
# From the last sweep on: before and after the deadlines of the clock handed over on Tuesday
# (accept: at risk at 14:00, due 15:00; first touch: at risk at 17:00), then long after.
MOMENTS = [
    TUESDAY_10AM + timedelta(hours=4, minutes=30),
    TUESDAY_10AM + timedelta(hours=5, minutes=30),
    TUESDAY_10AM + timedelta(hours=7, minutes=30),
    TUESDAY_10AM + timedelta(days=9),
]


@pytest.fixture
def clocks_in_every_state(hand_off, accept_policy, touch_policy, sales_rep) -> list[SlaClock]:
    """Met, cancelled, flagged at risk, flagged breached, breached then met late, and clocks
    left running that only the time of reading makes at risk or late."""
    met, rejected, late = (hand_off() for _ in range(3))
    flagged = hand_off(at=TUESDAY_10AM)
    lead_accept(lead=met, actor=sales_rep, now=MONDAY_10AM + timedelta(hours=1))
    reason = Reason.objects.filter(kind=Reason.Kind.REJECT).first()
    lead_reject(lead=rejected, actor=sales_rep, reason=reason, now=MONDAY_10AM + timedelta(hours=1))
    sla_sweep(now=TUESDAY_10AM + timedelta(hours=4))
    lead_accept(lead=late, actor=sales_rep, now=TUESDAY_10AM + timedelta(days=1))
    hand_off()  # started after the sweep, back-dated: running, though past due
    clocks = list(SlaClock.objects.all())
    assert {c.state for c in clocks} == set(ClockState.values)
    assert any(c.state == ClockState.BREACHED and c.met_at for c in clocks)
    assert flagged.clocks.filter(state=ClockState.AT_RISK).exists()
    return clocks


def _ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


@pytest.mark.parametrize("now", MOMENTS)
def test_each_shown_state_is_what_a_page_shows(clocks_in_every_state, now):
    for state in ClockState.values:
        shown = {c.pk for c in clocks_in_every_state if c.display_state(at=now) == state}
        assert _ids(SlaClock.objects.shown_as(state, now)) == shown, state


@pytest.mark.parametrize("now", MOMENTS)
def test_needs_attention_is_awaiting_the_goal_and_shown_at_risk_or_breached(
    clocks_in_every_state, now
):
    awaiting = {
        c.pk
        for c in clocks_in_every_state
        if c.state in (ClockState.RUNNING, ClockState.AT_RISK, ClockState.BREACHED)
        and c.met_at is None
        and c.cancelled_at is None
    }
    late_or_nearly = {
        c.pk
        for c in clocks_in_every_state
        if c.display_state(at=now) in (ClockState.AT_RISK, ClockState.BREACHED)
    }
    assert _ids(SlaClock.objects.awaiting_goal()) == awaiting
    assert _ids(SlaClock.objects.needs_attention(now)) == awaiting & late_or_nearly


@pytest.mark.parametrize("now", MOMENTS)
def test_the_sweep_flags_the_open_clocks_a_page_already_shows_changed(clocks_in_every_state, now):
    def shown_changed(state: str) -> set[int]:
        return {
            c.pk
            for c in clocks_in_every_state
            if c.display_state(at=now) == state and c.state != state
        }

    assert _ids(SlaClock.objects.past_due(now)) == shown_changed(ClockState.BREACHED)
    assert _ids(SlaClock.objects.turning_at_risk(now)) == shown_changed(ClockState.AT_RISK)
