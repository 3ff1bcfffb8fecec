"""The lifecycle in one place: stages, which team owns each, and the allowed moves."""

from __future__ import annotations

from django.db import models

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
    HAND_OFF = "hand_off", "Hand off to sales"
    REJECT = "reject", "Reject to nurture"
    TO_OPPORTUNITY = "to_opportunity", "Move to opportunity"
    WIN = "win", "Mark won"
    LOSE = "lose", "Mark lost"
    RECYCLE = "recycle", "Recycle to nurture"
    DISQUALIFY = "disqualify", "Disqualify"
    RE_ENGAGE = "re_engage", "Re-engage"


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


# Funnel milestones kept on the lead (Lead.first_*_at): the stage whose first arrival sets each.
MILESTONE_OF_STAGE: dict[str, str] = {
    Stage.QUALIFIED: "first_handed_off_at",
    Stage.OPPORTUNITY: "first_opportunity_at",
}
ACCEPTED_MILESTONE = "first_accepted_at"
MILESTONES: frozenset[str] = frozenset({*MILESTONE_OF_STAGE.values(), ACCEPTED_MILESTONE})


def transitions_from(stage: str) -> list[str]:
    return [name for name, (sources, _) in TRANSITIONS.items() if stage in sources]
