"""The lifecycle in one place: stages, which team owns each, and the allowed moves."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Protocol

from django.db import models

from crm.errors import DomainError, ErrorCode
from crm.models import Team


class Stage(models.TextChoices):
    ENGAGED = "engaged", "Engaged"
    QUALIFIED = "qualified", "Qualified"
    OPPORTUNITY = "opportunity", "Opportunity"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    NURTURE = "nurture", "Nurture"
    DISQUALIFIED = "disqualified", "Disqualified"


# Funnel order, used by the dashboard and reports.
STAGE_ORDER: tuple[str, ...] = (
    Stage.ENGAGED,
    Stage.QUALIFIED,
    Stage.OPPORTUNITY,
    Stage.WON,
    Stage.LOST,
    Stage.NURTURE,
    Stage.DISQUALIFIED,
)

STAGE_OWNER: dict[str, str] = {
    Stage.ENGAGED: Team.MARKETING,
    Stage.QUALIFIED: Team.SALES,
    Stage.OPPORTUNITY: Team.SALES,
    Stage.WON: Team.SALES,
    Stage.LOST: Team.SALES,
    Stage.NURTURE: Team.MARKETING,
    Stage.DISQUALIFIED: "",  # nobody works a disqualified lead
}

CLOSED_STAGES: frozenset[str] = frozenset({Stage.WON, Stage.LOST, Stage.DISQUALIFIED})
OPEN_STAGES: tuple[str, ...] = tuple(s for s in STAGE_ORDER if s not in CLOSED_STAGES)


class Transition(models.TextChoices):
    # Accepting is an event on a qualified lead, not a stage change: it has no row in
    # TRANSITIONS, only in ACCEPTANCE_RULES below. First, as the API has always listed it.
    ACCEPT = "accept", "Accept lead"
    HAND_OFF = "hand_off", "Hand off to sales"
    REJECT = "reject", "Reject to nurture"
    TO_OPPORTUNITY = "to_opportunity", "Move to opportunity"
    WIN = "win", "Mark won"
    LOSE = "lose", "Mark lost"
    RECYCLE = "recycle", "Recycle to nurture"
    DISQUALIFY = "disqualify", "Disqualify"
    RE_ENGAGE = "re_engage", "Re-engage"
    # Like accepting, an event rather than a stage change: the lead keeps its stage and
    # only its rep changes (leads.services.reassignment).
    REASSIGN = "reassign", "Reassign"


# (transition) -> (stages it may start from, stage it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    Transition.HAND_OFF: (frozenset({Stage.ENGAGED}), Stage.QUALIFIED),
    Transition.REJECT: (frozenset({Stage.QUALIFIED}), Stage.NURTURE),
    Transition.TO_OPPORTUNITY: (frozenset({Stage.QUALIFIED}), Stage.OPPORTUNITY),
    Transition.WIN: (frozenset({Stage.OPPORTUNITY}), Stage.WON),
    Transition.LOSE: (frozenset({Stage.QUALIFIED, Stage.OPPORTUNITY}), Stage.LOST),
    Transition.RECYCLE: (frozenset({Stage.LOST}), Stage.NURTURE),
    Transition.DISQUALIFY: (
        frozenset({Stage.ENGAGED, Stage.QUALIFIED, Stage.OPPORTUNITY, Stage.NURTURE}),
        Stage.DISQUALIFIED,
    ),
    Transition.RE_ENGAGE: (frozenset({Stage.NURTURE}), Stage.ENGAGED),
}


# The stages in which a lead may change hands from one sales rep to another: sales owns them
# and they are still being worked (a closed lead keeps the rep who closed it).
REASSIGNABLE_STAGES: frozenset[str] = frozenset({Stage.QUALIFIED, Stage.OPPORTUNITY})


# Funnel milestones kept on the lead (Lead.first_*_at): the stage whose first arrival sets each.
MILESTONE_OF_STAGE: dict[str, str] = {
    Stage.QUALIFIED: "first_handed_off_at",
    Stage.OPPORTUNITY: "first_opportunity_at",
}
ACCEPTED_MILESTONE = "first_accepted_at"
MILESTONES: frozenset[str] = frozenset({*MILESTONE_OF_STAGE.values(), ACCEPTED_MILESTONE})


# A qualified lead's moves also depend on whether its rep accepted it:
# (transition) -> (must the lead be accepted?, why the move is refused otherwise, error code).
ACCEPTANCE_RULES: dict[str, tuple[bool, str, ErrorCode]] = {
    Transition.ACCEPT: (False, "This lead was already accepted.", ErrorCode.ILLEGAL_TRANSITION),
    Transition.REJECT: (
        False,
        "An accepted lead cannot be rejected; mark it lost instead.",
        ErrorCode.ILLEGAL_TRANSITION,
    ),
    Transition.TO_OPPORTUNITY: (
        True,
        "Accept the lead before moving it to opportunity.",
        ErrorCode.MISSING_REQUIREMENT,
    ),
    Transition.LOSE: (
        True,
        "A lead not yet accepted is rejected, not lost.",
        ErrorCode.ILLEGAL_TRANSITION,
    ),
}


class LeadState(Protocol):
    """What the lifecycle reads of a lead: its stage and whether it was accepted."""

    stage: str
    accepted_at: datetime | None


def move_refusal(transition: str, *, stage: str, accepted: bool) -> DomainError | None:
    """Why the lifecycle refuses `transition` from this state, or None when it allows it."""
    if transition == Transition.ACCEPT:
        if stage != Stage.QUALIFIED:
            return DomainError(
                f"Only a qualified lead can be accepted; this one is {stage}.",
                code=ErrorCode.ILLEGAL_TRANSITION,
                field="transition",
            )
    elif transition == Transition.REASSIGN:
        if stage not in REASSIGNABLE_STAGES:
            return DomainError(
                f"Only a qualified lead or an opportunity can be reassigned; this one is {stage}.",
                code=ErrorCode.ILLEGAL_TRANSITION,
                field="transition",
            )
    elif stage not in (sources := TRANSITIONS[transition][0]):
        return DomainError(
            f"Cannot {Transition(transition).label.lower()}: the lead is {stage}, "
            f"and this move starts only from {', '.join(sorted(sources))}.",
            code=ErrorCode.ILLEGAL_TRANSITION,
            field="transition",
        )
    if stage == Stage.QUALIFIED and transition in ACCEPTANCE_RULES:
        needs_acceptance, message, code = ACCEPTANCE_RULES[transition]
        if accepted != needs_acceptance:
            return DomainError(message, code=code, field="transition")
    return None


def require_move(lead: LeadState, transition: str) -> None:
    """Raise the lifecycle's reason when `transition` is not available to this lead."""
    refusal = move_refusal(transition, stage=lead.stage, accepted=lead.accepted_at is not None)
    if refusal is not None:
        raise refusal


def available_moves(lead: LeadState) -> tuple[str, ...]:
    """The moves the lifecycle allows this lead now (rights are the services' business):
    what the lead page offers and the API lists as `allowed_transitions`."""
    return _available(lead.stage, lead.accepted_at is not None)


@cache
def _available(stage: str, accepted: bool) -> tuple[str, ...]:
    return tuple(
        str(t) for t in Transition if move_refusal(t, stage=stage, accepted=accepted) is None
    )
