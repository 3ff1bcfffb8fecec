"""Every legal move of the lifecycle, and the illegal ones with their messages."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from crm.errors import DomainError, ErrorCode
from crm.models import Role
from leads.lifecycle import TRANSITIONS, Stage, Transition, available_moves
from leads.models import Lead, LeadEvent, Reason
from leads.services.transitions import (
    lead_accept,
    lead_disqualify,
    lead_hand_off,
    lead_lose,
    lead_re_engage,
    lead_recycle,
    lead_reject,
    lead_to_opportunity,
    lead_transition,
    lead_win,
)
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def reason(kind: str) -> Reason:
    return Reason.objects.filter(kind=kind, active=True).first()


def test_it_creates_an_engaged_lead_owned_by_marketing(engaged_lead, marketer):
    assert engaged_lead.stage == Stage.ENGAGED
    assert engaged_lead.owner_team == "marketing"
    assert engaged_lead.owner == marketer
    assert engaged_lead.version == 1
    event = engaged_lead.events.get()
    assert (event.kind, event.to_stage, event.actor) == ("created", "engaged", marketer)


def test_it_hands_off_with_criteria_and_records_the_definition_version(qualified_lead, sales_rep):
    qualified_lead.refresh_from_db()
    assert qualified_lead.stage == Stage.QUALIFIED
    assert qualified_lead.owner_team == "sales"
    assert qualified_lead.owner == sales_rep
    assert qualified_lead.qualified_definition.stage == Stage.QUALIFIED
    assert qualified_lead.qualified_definition.version == 1
    assert qualified_lead.version == 2
    move = qualified_lead.events.get(kind=LeadEvent.Kind.TRANSITION)
    assert (move.from_stage, move.to_stage) == ("engaged", "qualified")
    assert move.changes["transition"] == "hand_off"


def test_it_refuses_hand_off_without_criteria(engaged_lead, marketer, sales_rep):
    with pytest.raises(DomainError) as err:
        lead_hand_off(lead=engaged_lead, actor=marketer, assignee=sales_rep, criteria=["fits-icp"])
    assert err.value.code == ErrorCode.MISSING_REQUIREMENT
    assert "Budget confirmed" in err.value.message
    assert "Talking to a decision maker" in err.value.message
    assert Lead.objects.get(pk=engaged_lead.pk).stage == Stage.ENGAGED
    assert LeadEvent.objects.filter(lead=engaged_lead).count() == 1


def test_it_accepts_then_moves_to_opportunity_and_wins(opportunity_lead, sales_rep):
    assert opportunity_lead.stage == Stage.OPPORTUNITY
    assert str(opportunity_lead.estimated_value) == "12000.00"
    won = lead_win(lead=opportunity_lead, actor=sales_rep)
    assert won.stage == Stage.WON
    assert won.closed_at is not None
    kinds = list(won.events.order_by("id").values_list("kind", flat=True))
    assert kinds == ["created", "transition", "accepted", "transition", "transition"]


def test_it_requires_value_and_next_step_for_an_opportunity(accepted_lead, sales_rep):
    with pytest.raises(DomainError) as err:
        lead_to_opportunity(lead=accepted_lead, actor=sales_rep)
    assert err.value.message == "An opportunity needs an estimated value and a next step."
    assert err.value.field == "estimated_value"


def test_it_refuses_opportunity_before_acceptance(qualified_lead, sales_rep):
    with pytest.raises(DomainError, match="Accept the lead before"):
        lead_to_opportunity(
            lead=qualified_lead, actor=sales_rep, estimated_value=10, next_step="Call"
        )


def test_it_rejects_to_nurture_with_a_reason(qualified_lead, sales_rep):
    lead = lead_reject(
        lead=qualified_lead, actor=sales_rep, reason=reason("reject"), note="No budget yet"
    )
    assert (lead.stage, lead.owner_team, lead.owner) == ("nurture", "marketing", None)
    assert lead.reason_note == "No budget yet"


def test_it_refuses_reject_without_reason(qualified_lead, sales_rep):
    with pytest.raises(DomainError) as err:
        lead_reject(lead=qualified_lead, actor=sales_rep, reason=None)
    assert err.value.field == "reason"
    assert err.value.message == "A reject reason is required."
    assert Lead.objects.get(pk=qualified_lead.pk).stage == Stage.QUALIFIED


def test_it_refuses_a_lost_reason_where_a_reject_reason_is_needed(qualified_lead, sales_rep):
    with pytest.raises(DomainError, match="is not an active reject reason"):
        lead_reject(lead=qualified_lead, actor=sales_rep, reason=reason("lost"))


def test_it_loses_with_reason_then_recycles_then_re_engages(opportunity_lead, sales_rep, marketer):
    lost = lead_lose(lead=opportunity_lead, actor=sales_rep, reason=reason("lost"))
    assert lost.stage == Stage.LOST
    nurtured = lead_recycle(lead=lost, actor=sales_rep)
    assert (nurtured.stage, nurtured.owner_team, nurtured.closed_at) == (
        "nurture",
        "marketing",
        None,
    )
    engaged = lead_re_engage(lead=nurtured, actor=marketer)
    assert engaged.stage == Stage.ENGAGED
    assert engaged.owner == marketer


def test_it_refuses_lost_for_a_lead_never_accepted(qualified_lead, sales_rep):
    with pytest.raises(DomainError, match="rejected, not lost"):
        lead_lose(lead=qualified_lead, actor=sales_rep, reason=reason("lost"))


def test_it_disqualifies_from_engaged_with_a_reason(engaged_lead, marketer):
    lead = lead_disqualify(lead=engaged_lead, actor=marketer, reason=reason("disqualify"))
    assert (lead.stage, lead.owner_team) == ("disqualified", "")


def test_it_refuses_accepting_twice(accepted_lead, sales_rep):
    with pytest.raises(DomainError, match="already accepted"):
        lead_accept(lead=accepted_lead, actor=sales_rep)


@pytest.mark.parametrize(
    ("transition", "message"),
    [
        (
            Transition.WIN,
            "Cannot mark won: the lead is engaged, and this move starts only from opportunity.",
        ),
        (
            Transition.RE_ENGAGE,
            "Cannot re-engage: the lead is engaged, and this move starts only from nurture.",
        ),
        (
            Transition.RECYCLE,
            "Cannot recycle to nurture: the lead is engaged, and this move starts only from lost.",
        ),
    ],
)
def test_it_refuses_illegal_moves_with_a_message(engaged_lead, manager, transition, message):
    with pytest.raises(DomainError) as err:
        lead_transition(lead=engaged_lead, actor=manager, transition=transition)
    assert err.value.code == ErrorCode.ILLEGAL_TRANSITION
    assert err.value.message == message
    assert Lead.objects.get(pk=engaged_lead.pk).version == 1


def test_it_refuses_an_unknown_transition(engaged_lead, manager):
    with pytest.raises(DomainError) as err:
        lead_transition(lead=engaged_lead, actor=manager, transition="teleport")
    assert err.value.field == "transition"
    assert "Unknown transition 'teleport'" in err.value.message


def test_it_refuses_parameters_that_do_not_apply(engaged_lead, manager):
    with pytest.raises(DomainError) as err:
        lead_transition(lead=engaged_lead, actor=manager, transition="win", params={"reason": 1})
    assert err.value.field == "reason"


def test_the_transition_table_only_targets_known_stages():
    for sources, target in TRANSITIONS.values():
        assert target in Stage.values
        assert sources <= set(Stage.values)


def test_every_history_row_names_the_actor(opportunity_lead, sales_rep, marketer):
    actors = set(opportunity_lead.events.values_list("actor__username", flat=True))
    assert actors == {marketer.username, sales_rep.username}


def test_it_uses_round_robin_when_no_assignee_is_given(
    make_lead, marketer, sales_rep, other_sales_rep
):
    owners = []
    for _ in range(4):
        lead = make_lead()
        owners.append(
            lead_hand_off(lead=lead, actor=marketer, criteria=ALL_REQUIRED_CRITERIA).owner
        )
    assert owners == [sales_rep, other_sales_rep, sales_rep, other_sales_rep]


def test_it_refuses_an_assignee_who_is_not_a_sales_rep(engaged_lead, marketer):
    with pytest.raises(DomainError) as err:
        lead_hand_off(
            lead=engaged_lead, actor=marketer, assignee=marketer, criteria=ALL_REQUIRED_CRITERIA
        )
    assert err.value.field == "assignee"
    assert "is not an active sales rep" in err.value.message


# ---------------------------------------------------------------- one rule for what is allowed


class _Undo(Exception):
    """Rolls a trial move back."""


def _lead_in(state: str, make_lead, marketer, sales_rep) -> Lead:
    lead = make_lead()
    steps = {
        "engaged": [],
        "qualified": ["hand_off"],
        "accepted": ["hand_off", "accept"],
        "opportunity": ["hand_off", "accept", "to_opportunity"],
        "won": ["hand_off", "accept", "to_opportunity", "win"],
        "lost": ["hand_off", "accept", "lose"],
        "nurture": ["hand_off", "reject"],
        "disqualified": ["disqualify"],
    }[state]
    for move in steps:
        actor = marketer if move in {Transition.HAND_OFF, Transition.DISQUALIFY} else sales_rep
        params = _params(move, sales_rep)
        lead = lead_transition(lead=lead, actor=actor, transition=move, params=params)
    return Lead.objects.get(pk=lead.pk)


def _params(move: str, sales_rep) -> dict[str, object]:
    return {
        Transition.HAND_OFF: {"assignee": sales_rep, "criteria": ALL_REQUIRED_CRITERIA},
        Transition.REJECT: {"reason": reason("reject")},
        Transition.LOSE: {"reason": reason("lost")},
        Transition.DISQUALIFY: {"reason": reason("disqualify")},
        Transition.TO_OPPORTUNITY: {"estimated_value": "100", "next_step": "Call"},
        Transition.REASSIGN: {
            "assignee": UserFactory(username="olga.sales", role=Role.SALES_REP),
            "reason": "Rebalancing the queue",
        },
    }.get(move, {})


def _services_allow(lead: Lead, move: str, actor, sales_rep) -> bool:
    try:
        with transaction.atomic():
            lead_transition(
                lead=lead.pk, actor=actor, transition=move, params=_params(move, sales_rep)
            )
            raise _Undo
    except _Undo:
        return True
    except DomainError as error:
        assert error.field == "transition", error.message
        return False


@pytest.mark.parametrize(
    ("state", "moves"),
    [
        ("engaged", ["hand_off", "disqualify"]),
        ("qualified", ["accept", "reject", "disqualify", "reassign"]),
        ("accepted", ["to_opportunity", "lose", "disqualify", "reassign"]),
        ("opportunity", ["win", "lose", "disqualify", "reassign"]),
        ("won", []),
        ("lost", ["recycle"]),
        ("nurture", ["disqualify", "re_engage"]),
        ("disqualified", []),
    ],
)
def test_the_page_the_api_and_the_services_agree_on_the_moves(
    client, make_lead, marketer, sales_rep, manager, state, moves
):
    lead = _lead_in(state, make_lead, marketer, sales_rep)
    assert list(available_moves(lead)) == moves
    assert [m for m in Transition.values if _services_allow(lead, m, manager, sales_rep)] == moves
    api = APIClient()
    api.force_login(manager)
    assert api.get(f"/api/v1/leads/{lead.pk}/").json()["allowed_transitions"] == moves
    client.force_login(manager)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    offered = [m for m in Transition.values if reverse("leads:action", args=[lead.pk, m]) in page]
    assert offered == moves


def test_accept_is_a_named_move_of_the_lifecycle():
    assert Transition.ACCEPT == "accept"
    assert Transition.ACCEPT not in TRANSITIONS  # an event on a qualified lead, not a stage
    assert available_moves(Lead(stage=Stage.QUALIFIED)) == (
        Transition.ACCEPT,
        Transition.REJECT,
        Transition.DISQUALIFY,
        Transition.REASSIGN,
    )
