"""Funnel milestones on the lead (first hand-off, acceptance, opportunity) always say what the
history says, whatever the order of moves; the migration's backfill agrees with them."""

from __future__ import annotations

import importlib
import random
from datetime import timedelta

import pytest
from django.apps import apps
from django.db.models import Min, Q
from django.utils import timezone

from crm.errors import DomainError
from leads.lifecycle import Stage, Transition, available_moves
from leads.models import Lead, LeadEvent, Reason
from leads.services.transitions import lead_accept, lead_hand_off, lead_re_engage, lead_reject
from tests.conftest import ALL_REQUIRED_CRITERIA

pytestmark = pytest.mark.django_db

MILESTONE_EVENTS = {
    "first_handed_off_at": Q(kind=LeadEvent.Kind.TRANSITION, to_stage=Stage.QUALIFIED),
    "first_accepted_at": Q(kind=LeadEvent.Kind.ACCEPTED),
    "first_opportunity_at": Q(kind=LeadEvent.Kind.TRANSITION, to_stage=Stage.OPPORTUNITY),
}


def _from_history() -> dict[int, dict[str, object]]:
    firsts: dict[int, dict[str, object]] = {
        pk: {} for pk in Lead.objects.values_list("pk", flat=True)
    }
    for field, condition in MILESTONE_EVENTS.items():
        rows = LeadEvent.objects.filter(condition).values("lead_id").annotate(at=Min("created_at"))
        for row in rows:
            firsts[row["lead_id"]][field] = row["at"]
    return {pk: {f: got.get(f) for f in MILESTONE_EVENTS} for pk, got in firsts.items()}


def _on_leads() -> dict[int, dict[str, object]]:
    return {row.pop("pk"): row for row in Lead.objects.values("pk", *MILESTONE_EVENTS)}


def test_it_keeps_the_first_hand_off_through_a_rejection(engaged_lead, marketer, sales_rep):
    first = timezone.now() - timedelta(days=3)
    reason = Reason.objects.filter(kind=Reason.Kind.REJECT).first()
    lead_hand_off(
        lead=engaged_lead,
        actor=marketer,
        assignee=sales_rep,
        criteria=ALL_REQUIRED_CRITERIA,
        now=first,
    )
    lead_reject(lead=engaged_lead, actor=sales_rep, reason=reason, now=first + timedelta(hours=1))
    lead_re_engage(lead=engaged_lead, actor=marketer, now=first + timedelta(days=1))
    lead_hand_off(
        lead=engaged_lead, actor=marketer, assignee=sales_rep, now=first + timedelta(days=2)
    )
    lead = lead_accept(lead=engaged_lead, actor=sales_rep)
    lead.refresh_from_db()
    assert lead.first_handed_off_at == first
    assert lead.handed_off_at == first + timedelta(days=2)
    assert lead.first_accepted_at == lead.accepted_at
    # Bookkeeping, not news: the history's diffs do not mention the milestones.
    for changes in LeadEvent.objects.filter(lead=lead).values_list("changes", flat=True):
        assert not set(changes) & set(MILESTONE_EVENTS)


def test_milestones_match_the_history_after_random_moves(make_lead, manager, sales_rep):
    rng = random.Random(6)
    reasons = {kind: Reason.objects.filter(kind=kind).first() for kind in Reason.Kind.values}
    params = {
        Transition.HAND_OFF: {"assignee": sales_rep, "criteria": ALL_REQUIRED_CRITERIA},
        Transition.REJECT: {"reason": reasons[Reason.Kind.REJECT]},
        Transition.LOSE: {"reason": reasons[Reason.Kind.LOST]},
        Transition.DISQUALIFY: {"reason": reasons[Reason.Kind.DISQUALIFY]},
        Transition.TO_OPPORTUNITY: {"estimated_value": "100", "next_step": "Call"},
    }
    from leads.services.transitions import lead_transition

    leads = [make_lead(company=f"Walk {n}") for n in range(6)]
    now = timezone.now() - timedelta(days=30)
    moved = 0
    for _ in range(120):
        lead = Lead.objects.get(pk=rng.choice(leads).pk)
        # Disqualifying ends a lead's walk: rarely, so the walks reach the later steps.
        choices = [t for t in available_moves(lead) if t != Transition.DISQUALIFY]
        move = Transition.DISQUALIFY if rng.random() < 0.03 or not choices else rng.choice(choices)
        now += timedelta(minutes=rng.randint(1, 600))
        try:
            lead_transition(
                lead=lead, actor=manager, transition=move, params=params.get(move), now=now
            )
        except DomainError:
            continue
        moved += 1
    assert moved > 40
    assert _on_leads() == _from_history()
    assert any(row["first_opportunity_at"] for row in _on_leads().values())


def test_the_backfill_rebuilds_the_milestones_from_history(opportunity_lead, make_lead):
    make_lead(company="Never handed off")
    kept = _on_leads()
    Lead.objects.update(first_handed_off_at=None, first_accepted_at=None, first_opportunity_at=None)
    migration = importlib.import_module("leads.migrations.0007_lead_funnel_milestones")
    migration.backfill(apps, None)
    assert _on_leads() == kept
    assert kept[opportunity_lead.pk]["first_opportunity_at"] is not None
