"""The demo shows every clock state and one missed commitment, and can be seeded twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sla.demo import seed_sla_demo
from sla.models import Breach, BusinessCalendar, SlaClock, SlaPolicy, WebhookEndpoint

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 18, 11, 0, tzinfo=UTC)  # a Wednesday morning


def test_it_seeds_running_at_risk_met_and_breached_clocks(manager, marketer, sales_rep):
    summary = seed_sla_demo(now=NOW)

    states = summary.clock_states
    for state in ("running", "at_risk", "met", "breached"):
        assert states[state] >= 1, state
    assert SlaPolicy.objects.count() == 3
    assert BusinessCalendar.objects.get().timezone == "Europe/London"
    assert not WebhookEndpoint.objects.get().active
    missed = Breach.objects.filter(kind=Breach.Kind.COMMITMENT)
    assert missed.count() == 1
    assert Breach.objects.filter(kind=Breach.Kind.CLOCK).exists()


def test_it_is_idempotent(manager, marketer, sales_rep):
    seed_sla_demo(now=NOW)
    counts = (SlaClock.objects.count(), Breach.objects.count(), SlaPolicy.objects.count())
    summary = seed_sla_demo(now=NOW)
    assert summary.created == []
    assert (SlaClock.objects.count(), Breach.objects.count(), SlaPolicy.objects.count()) == counts


def test_it_gives_existing_leads_in_a_trigger_stage_their_clocks(manager, hand_off, sales_rep):
    from leads.services.transitions import lead_accept

    waiting = hand_off(at=datetime(2026, 3, 17, 9, 30, tzinfo=UTC))
    accepted = hand_off(at=datetime(2026, 3, 17, 9, 30, tzinfo=UTC))
    lead_accept(lead=accepted, actor=sales_rep, now=datetime(2026, 3, 17, 10, 0, tzinfo=UTC))

    seed_sla_demo(now=NOW)

    assert sorted(SlaClock.objects.filter(lead=waiting).values_list("state", flat=True)) == [
        "breached",
        "breached",
    ]
    accept_clock = SlaClock.objects.get(lead=accepted, goal="accept")
    assert accept_clock.state == "met"
    assert accept_clock.started_at == datetime(2026, 3, 17, 9, 30, tzinfo=UTC)
    assert accept_clock.met_at == datetime(2026, 3, 17, 10, 0, tzinfo=UTC)
