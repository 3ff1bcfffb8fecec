"""What the sweep writes equals what the Python builders say, field for field.

On PostgreSQL the sweep writes breach rows, timeline events and outbox messages with
set-based SQL; elsewhere it builds them in Python (`breaches_record`, `at_risk_deliveries`,
`breach_deliveries`). Both paths run these tests, and the expectations are always computed by
the Python builders from the rows the sweep left, so the SQL cannot drift from them: recipients
(owner, escalation list, managers, inactive users left out), channels (email only with an
address), webhooks by subscription, payloads, keys and timestamps with and without
microseconds."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from crm.models import OutboxMessage, Role
from leads.models import LeadEvent
from sla.commitments import commitments_evaluate
from sla.escalation import at_risk_deliveries, breach_deliveries
from sla.models import Breach, ClockState, SlaClock, SlaPolicy, WebhookEndpoint
from sla.services import commitment_create, webhook_endpoint_create
from sla.sweep import sla_sweep
from tests.factories import UserFactory
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


def _messages() -> set[tuple[object, ...]]:
    return {
        (
            m.channel,
            m.delivery_key,
            m.recipient_id,
            m.target,
            m.event_type,
            json.dumps(m.payload, sort_keys=True),
        )
        for m in OutboxMessage.objects.all()
    }


def _expected(deliveries) -> set[tuple[object, ...]]:
    return {
        (
            d.channel,
            d.delivery_key,
            d.recipient_id,
            d.target,
            d.event_type,
            json.dumps(d.payload, sort_keys=True),
        )
        for d in deliveries
    }


def _sweep_events(state: str) -> list[tuple[object, ...]]:
    return sorted(
        (e.lead_id, e.created_at, e.changes, e.actor_id, e.note, e.from_stage, e.to_stage)
        for e in LeadEvent.objects.filter(kind=LeadEvent.Kind.CLOCK, changes__state__1=state)
    )


@pytest.fixture
def people(manager, sales_rep):
    """Managers with and without an address, an inactive one, an escalation contact."""
    return {
        "quiet_manager": UserFactory(username="quiet.manager", role=Role.MANAGER, email=""),
        "gone_manager": UserFactory(username="gone.manager", role=Role.MANAGER, is_active=False),
        "escalation": UserFactory(username="esc.lead", role=Role.SALES_REP),
        "gone_rep": UserFactory(username="gone.rep", role=Role.SALES_REP, is_active=False),
    }


@pytest.fixture
def endpoints(manager) -> None:
    for name, events, active in (
        ("all breaches", ["breach.created"], True),
        ("commitments only", ["commitment.missed"], True),
        ("switched off", ["breach.created"], False),
    ):
        webhook_endpoint_create(
            actor=manager,
            name=name,
            url=f"https://hooks.example/{name.replace(' ', '-')}",
            secret="s3cret",
            event_types=events,
            active=active,
            now=MONDAY_10AM,
        )


def test_at_risk_and_breach_writes_match_the_python_builders(
    hand_off, accept_policy, touch_policy, people, endpoints, manager
):
    # The first-touch policy escalates to one active and one inactive user and not the owner;
    # the accept policy names nobody, so every active manager hears of its breaches.
    touch_policy.escalate_to.add(people["escalation"], people["gone_rep"])
    SlaPolicy.objects.filter(pk=touch_policy.pk).update(notify_owner=False)
    leads = [hand_off(at=MONDAY_10AM + timedelta(microseconds=n * 250_001)) for n in range(3)]
    hand_off(at=MONDAY_10AM)  # due on the whole minute: no microseconds in its timestamps
    # An owner who left: no notice for them, the managers still hear.
    SlaClock.objects.filter(lead=leads[0], policy=accept_policy).update(owner=people["gone_rep"])

    first = MONDAY_10AM + timedelta(hours=4, minutes=30, microseconds=7)  # lunch 12:30-13:30
    result = sla_sweep(now=first)

    at_risk = list(SlaClock.objects.filter(state=ClockState.AT_RISK).select_related("policy"))
    assert result.at_risk == len(at_risk) == 4
    assert _messages() == _expected(at_risk_deliveries(at_risk, first))
    assert _sweep_events("at_risk") == sorted(
        (
            c.lead_id,
            c.at_risk_at,
            {"policy": c.policy.name, "state": ["running", "at_risk"]},
            None,
            "",
            "",
            "",
        )
        for c in at_risk
    )

    later = MONDAY_10AM + timedelta(days=2, microseconds=31)
    result = sla_sweep(now=later)

    assert (result.breached, result.notified) == (8, 8)
    breaches = list(Breach.objects.select_related("clock__policy", "policy", "owner", "commitment"))
    assert len(breaches) == 8
    for breach in breaches:
        clock = breach.clock
        assert (breach.kind, breach.policy_id, breach.lead_id, breach.team) == (
            Breach.Kind.CLOCK,
            clock.policy_id,
            clock.lead_id,
            clock.team,
        )
        assert (breach.owner_id, breach.breached_at, breach.created_at) == (
            clock.owner_id,
            clock.due_at,
            later,
        )
        assert breach.summary == (
            f"{clock.policy.name}: lead {clock.lead_id} missed its "
            f"{clock.get_goal_display().lower()} goal"
        )
        assert breach.processed_at == later
        assert (breach.acknowledged_at, breach.acknowledgement_note) == (None, "")
    assert _sweep_events("breached") == sorted(
        (
            b.lead_id,
            b.clock.due_at,
            {
                "policy": b.clock.policy.name,
                "state": ["open", "breached"],
                "flagged_at": later.isoformat(),
            },
            None,
            "",
            "",
            "",
        )
        for b in breaches
    )

    active = list(WebhookEndpoint.objects.filter(active=True))
    expected = _expected(at_risk_deliveries(at_risk, first))
    for breach in breaches:
        expected |= _expected(breach_deliveries(breach, active))
    assert _messages() == expected
    new = OutboxMessage.objects.filter(created_at=later)
    assert {(m.status, m.attempts, m.next_attempt_at) for m in new} == {("pending", 0, later)}
    # Spot checks, so that a bug shared by both paths still shows.
    keys = {m.delivery_key for m in new}
    accept_breach = next(
        b for b in breaches if b.lead_id == leads[1].pk and b.policy_id == accept_policy.pk
    )
    touch_breach = next(
        b for b in breaches if b.lead_id == leads[1].pk and b.policy_id == touch_policy.pk
    )
    assert {k for k in keys if k.startswith(f"breach:{accept_breach.pk}:")} == {
        f"breach:{accept_breach.pk}:in_app:{manager.pk}",
        f"breach:{accept_breach.pk}:email:{manager.pk}",
        f"breach:{accept_breach.pk}:in_app:{people['quiet_manager'].pk}",
        f"breach:{accept_breach.pk}:in_app:{accept_breach.owner_id}",
        f"breach:{accept_breach.pk}:email:{accept_breach.owner_id}",
        f"breach:{accept_breach.pk}:webhook:{active[0].pk}",
    }
    escalation = people["escalation"].pk
    assert {k for k in keys if k.startswith(f"breach:{touch_breach.pk}:")} == {
        f"breach:{touch_breach.pk}:in_app:{escalation}",
        f"breach:{touch_breach.pk}:email:{escalation}",
        f"breach:{touch_breach.pk}:webhook:{active[0].pk}",
    }


def test_commitment_breach_notices_match_the_python_builders(hand_off, people, endpoints, manager):
    escalated, _ = (
        commitment_create(
            actor=manager,
            name=name,
            period="week",
            target_qualified=5,
            timezone_name="Europe/London",
            starts_on=date(2026, 3, 2),
        )
        for name in ("Escalated commitment", "Managers' commitment")
    )
    escalated.escalate_to.add(people["escalation"], people["gone_rep"])
    hand_off(at=datetime(2026, 3, 3, 10, tzinfo=UTC))
    now = datetime(2026, 3, 9, 1, 0, 0, 123, tzinfo=UTC)
    commitments_evaluate(now=now)

    assert sla_sweep(now=now + timedelta(days=1)).notified == 2

    active = list(WebhookEndpoint.objects.filter(active=True))
    breaches = list(Breach.objects.filter(kind=Breach.Kind.COMMITMENT))
    expected = set()
    for breach in breaches:
        expected |= _expected(breach_deliveries(breach, active))
    assert _messages() == expected
    # Both endpoints hear of a missed commitment; the escalated one goes to its contact only.
    assert {m.target for m in OutboxMessage.objects.filter(channel="webhook")} == {
        str(e.pk) for e in active
    }
    assert OutboxMessage.objects.filter(recipient=people["escalation"]).count() == 2
