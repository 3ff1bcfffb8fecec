"""What the sweep writes, field for field, on every database: with each flag its history
(breach rows, timeline events), and then one fan-out per breach, which the outbox drain
expands into one notice per recipient and channel: the owner
when the policy says so and they are still active, the active people the policy (or
commitment) escalates to, or every active manager when it names nobody; email only to an
address; webhooks by subscription. On PostgreSQL the flags are written by set-based SQL, so
these expectations are spelled out here rather than taken from the Python that writes them
elsewhere."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from crm.models import OutboxChannel, OutboxMessage, Role
from crm.outbox import outbox_drain
from leads.models import LeadEvent
from sla.commitments import commitments_evaluate
from sla.escalation import lead_in_words
from sla.models import Breach, ClockState, SlaClock, SlaPolicy, WebhookEndpoint
from sla.services import commitment_create, webhook_endpoint_create
from sla.sweep import sla_sweep
from tests.factories import UserFactory
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


def _json(payload: dict[str, object]) -> str:
    return json.dumps(payload, sort_keys=True)


def _keys(**filters: object) -> set[str]:
    return set(
        OutboxMessage.objects.filter(**filters)
        .exclude(channel=OutboxChannel.FAN_OUT)
        .values_list("delivery_key", flat=True)
    )


def _expand_fan_outs(now: datetime) -> None:
    """The sweep queued one fan-out per breach: expand them (and deliver nothing yet)."""
    fan_outs = OutboxMessage.objects.filter(channel=OutboxChannel.FAN_OUT, status="pending")
    assert {(m.delivery_key, _json(m.payload)) for m in fan_outs} == {
        (f"breach:{pk}:fan_out", _json({"breach_id": pk}))
        for pk in Breach.objects.filter(processed_at=now).values_list("pk", flat=True)
    }
    count = len(fan_outs)
    assert outbox_drain(now=now, channels=[OutboxChannel.FAN_OUT]).expanded == count


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
def endpoints(manager) -> dict[str, WebhookEndpoint]:
    return {
        name: webhook_endpoint_create(
            actor=manager,
            name=name,
            url=f"https://hooks.example/{name.replace(' ', '-')}",
            secret="s3cret",
            event_types=events,
            active=active,
            now=MONDAY_10AM,
        )
        for name, events, active in (
            ("all breaches", ["breach.created"], True),
            ("commitments only", ["commitment.missed"], True),
            ("switched off", ["breach.created"], False),
        )
    }


def test_at_risk_and_breach_writes_reach_the_right_people(
    hand_off, accept_policy, touch_policy, people, endpoints, manager, sales_rep
):
    # The first-touch policy escalates to one active and one inactive user and not the owner;
    # the accept policy names nobody, so every active manager hears of its breaches.
    touch_policy.escalate_to.add(people["escalation"], people["gone_rep"])
    SlaPolicy.objects.filter(pk=touch_policy.pk).update(notify_owner=False)
    leads = [hand_off(at=MONDAY_10AM + timedelta(microseconds=n * 250_001)) for n in range(4)]
    # An owner who left: no breach notice for them, the managers still hear.
    SlaClock.objects.filter(lead=leads[0], policy=accept_policy).update(owner=people["gone_rep"])

    first = MONDAY_10AM + timedelta(hours=4, minutes=30, microseconds=7)  # lunch 12:30-13:30
    result = sla_sweep(now=first)

    at_risk = list(SlaClock.objects.filter(state=ClockState.AT_RISK).select_related("policy"))
    assert result.at_risk == len(at_risk) == 4
    assert {c.policy_id for c in at_risk} == {accept_policy.pk}
    # A heads-up to each clock's owner, nobody else.
    assert {
        (m.channel, m.delivery_key, m.recipient_id, m.target, m.event_type, _json(m.payload))
        for m in OutboxMessage.objects.all()
    } == {
        (
            "in_app",
            f"clock:{c.pk}:at_risk:{c.owner_id}",
            c.owner_id,
            "",
            "clock.at_risk",
            _json(
                {
                    "title": f"{c.owner.display_name} has yet to accept {lead_in_words(c.lead)}",
                    "body": f"{accept_policy.name}: due {c.due_at:%Y-%m-%d %H:%M} UTC.",
                    "url": f"/leads/{c.lead_id}/",
                    "data": {
                        "lead_id": c.lead_id,
                        "lead": lead_in_words(c.lead),
                        "due_at": c.due_at.isoformat(),
                    },
                }
            ),
        )
        for c in at_risk
    }
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
    _expand_fan_outs(later)
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

    hook = endpoints["all breaches"].pk
    expected = set()
    for b in breaches:
        if b.policy_id == touch_policy.pk:  # its escalation list, active people only
            told, quiet = [people["escalation"]], []
        elif b.owner_id == sales_rep.pk:  # the owner and every active manager
            told, quiet = [sales_rep, manager], [people["quiet_manager"]]
        else:  # the owner has left: the managers only
            told, quiet = [manager], [people["quiet_manager"]]
        expected |= {f"breach:{b.pk}:{ch}:{u.pk}" for u in told for ch in ("in_app", "email")}
        expected |= {f"breach:{b.pk}:in_app:{u.pk}" for u in quiet}
        expected.add(f"breach:{b.pk}:webhook:{hook}")
    new = OutboxMessage.objects.filter(created_at=later).exclude(channel=OutboxChannel.FAN_OUT)
    assert _keys(created_at=later) == expected
    assert {(m.status, m.attempts, m.next_attempt_at) for m in new} == {("pending", 0, later)}
    assert {m.event_type for m in new} == {"breach.created"}
    assert {m.target for m in new.filter(channel="webhook")} == {str(hook)}
    assert {m.target for m in new.filter(channel="email", recipient=manager)} == {manager.email}

    breach = next(b for b in breaches if b.lead_id == leads[1].pk and b.policy == accept_policy)
    assert OutboxMessage.objects.get(
        delivery_key=f"breach:{breach.pk}:in_app:{manager.pk}"
    ).payload == {
        "title": f"{sales_rep.display_name} has not accepted {lead_in_words(leads[1])}",
        "body": f"{accept_policy.name}: due {breach.breached_at:%Y-%m-%d %H:%M} UTC (sales).",
        "url": f"/leads/{breach.lead_id}/",
        "data": {
            "lead": lead_in_words(leads[1]),
            "due_at": breach.breached_at.isoformat(),
            "breach_id": breach.pk,
            "kind": "clock",
            "team": "sales",
            "breached_at": breach.breached_at.isoformat(),
            "summary": breach.summary,
            "lead_id": breach.lead_id,
            "policy": accept_policy.name,
            "owner": sales_rep.username,
        },
    }


def test_commitment_breach_notices_reach_the_right_people(hand_off, people, endpoints, manager):
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
    _expand_fan_outs(now + timedelta(days=1))

    mine = Breach.objects.get(commitment=escalated)
    managers = Breach.objects.exclude(commitment=escalated).get()
    # Both active endpoints hear of a missed commitment, whatever they subscribed to.
    hooks = {f"webhook:{endpoints[n].pk}" for n in ("all breaches", "commitments only")}
    assert _keys() == {
        *(f"breach:{mine.pk}:{ch}:{people['escalation'].pk}" for ch in ("in_app", "email")),
        *(f"breach:{mine.pk}:{hook}" for hook in hooks),
        f"breach:{managers.pk}:in_app:{manager.pk}",
        f"breach:{managers.pk}:email:{manager.pk}",
        f"breach:{managers.pk}:in_app:{people['quiet_manager'].pk}",
        *(f"breach:{managers.pk}:{hook}" for hook in hooks),
    }
    assert {m.event_type for m in OutboxMessage.objects.exclude(channel="fan_out")} == {
        "commitment.missed"
    }
    payload = OutboxMessage.objects.get(
        delivery_key=f"breach:{mine.pk}:in_app:{people['escalation'].pk}"
    ).payload
    assert (payload["url"], payload["data"]["kind"]) == ("/sla/breaches/", "commitment")
    assert "lead_id" not in payload["data"]
