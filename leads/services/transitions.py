"""The lifecycle's moves: one function each, one transaction each, history always.

Every move starts with `lead_begin` (the lock, rights, version and the lifecycle's consent,
leads.lifecycle.require_move), then checks what the move itself needs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction

from crm.errors import DomainError, ErrorCode
from crm.models import Role, User
from leads.lifecycle import (
    ACCEPTED_MILESTONE,
    MILESTONE_OF_STAGE,
    STAGE_OWNER,
    TRANSITIONS,
    Stage,
    Transition,
)
from leads.models import Lead, LeadEvent, Reason, field_max_length
from leads.services.assignment import next_sales_rep, resolve_assignee
from leads.services.cleaning import (
    TEXT_FIELDS,
    clean_criteria,
    clean_day,
    clean_reason,
    clean_text,
    clean_value,
    current_definition,
)
from leads.services.history import lead_begin, lead_write, record_event
from leads.services.leads import duplicate_error
from leads.services.reassignment import lead_reassign

MAX_REASON_NOTE = field_max_length(Lead, "reason_note")


def _milestone(lead: Lead, name: str | None, now: datetime) -> dict[str, datetime]:
    """The first arrival at a funnel step sets its milestone; later arrivals keep it."""
    return {name: now} if name and getattr(lead, name) is None else {}


def _move(
    *,
    lead: Lead,
    transition: str,
    actor: User,
    now: datetime,
    extra: dict[str, Any] | None = None,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> Lead:
    """Write a move that `lead_begin` allowed: the new stage, its owner team, and history
    (`detail`: what else the event records, such as how the assignee was chosen)."""
    target = TRANSITIONS[transition][1]
    from_stage = lead.stage
    changes = {
        "stage": target,
        "owner_team": STAGE_OWNER[target],
        "stage_changed_at": now,
        **(extra or {}),
        **_milestone(lead, MILESTONE_OF_STAGE.get(target), now),
    }
    diff = lead_write(lead, changes, now)
    diff["transition"] = transition
    diff.update(detail or {})
    record_event(
        lead=lead,
        kind=LeadEvent.Kind.TRANSITION,
        actor=actor,
        now=now,
        from_stage=from_stage,
        to_stage=target,
        changes=diff,
        note=note,
    )
    return lead


def _move_with_reason(
    *,
    lead: Lead,
    transition: str,
    kind: str,
    reason: Reason | int | None,
    note: str,
    actor: User,
    now: datetime,
    extra: dict[str, Any],
) -> Lead:
    """A move that needs a reason from a managed list (reject, lose, disqualify)."""
    chosen = clean_reason(reason, kind)
    note = clean_text("note", note, MAX_REASON_NOTE)
    return _move(
        lead=lead,
        transition=transition,
        actor=actor,
        now=now,
        extra={"reason": chosen, "reason_note": note, **extra},
        note=note,
    )


@transaction.atomic
def lead_hand_off(
    *,
    lead: Lead | int,
    actor: User,
    assignee: User | int | None = None,
    criteria: list[str] | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    """Marketing hands an engaged lead to sales once the current definition is met."""
    lead, now = lead_begin(lead, actor, expected_version, now, Transition.HAND_OFF)
    definition = current_definition(Stage.QUALIFIED)
    # Errors name `criteria`, the input a hand-off sends (the form's field and the API's).
    ticked = set(lead.criteria_met) | set(
        clean_criteria(criteria, definition, field="criteria") if criteria else []
    )
    missing = [c.label for c in definition.criteria.all() if c.required and c.key not in ticked]
    if missing:
        raise DomainError(
            f"Cannot hand off: {definition.title} v{definition.version} needs "
            f"{'; '.join(missing)}.",
            code=ErrorCode.MISSING_REQUIREMENT,
            field="criteria",
        )
    detail = {}
    if assignee is None or assignee == "":
        routing = next_sales_rep(now=now)
        rep, detail = routing.chosen, {"routing": routing.as_json()}
    else:
        rep = resolve_assignee(assignee)
    return _move(
        lead=lead,
        transition=Transition.HAND_OFF,
        actor=actor,
        now=now,
        detail=detail,
        extra={
            "owner": rep,
            "criteria_met": sorted(ticked),
            "qualified_definition": definition,
            "handed_off_at": now,
            "accepted_at": None,
            "accepted_by": None,
            "first_touch_at": None,
            "reason": None,
            "reason_note": "",
        },
    )


@transaction.atomic
def lead_accept(
    *,
    lead: Lead | int,
    actor: User,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    """The assigned rep (or a manager) takes the handed-over lead: an event, not a stage."""
    lead, now = lead_begin(lead, actor, expected_version, now, Transition.ACCEPT)
    diff = lead_write(
        lead,
        {
            "accepted_at": now,
            "accepted_by": actor,
            **_milestone(lead, ACCEPTED_MILESTONE, now),
        },
        now,
    )
    record_event(lead=lead, kind=LeadEvent.Kind.ACCEPTED, actor=actor, now=now, changes=diff)
    return lead


@transaction.atomic
def lead_reject(
    *,
    lead: Lead | int,
    actor: User,
    reason: Reason | int | None = None,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    """Sales refuses a handed-over lead: back to marketing's nurture, with a reason."""
    lead, now = lead_begin(lead, actor, expected_version, now, Transition.REJECT)
    return _move_with_reason(
        lead=lead,
        transition=Transition.REJECT,
        kind=Reason.Kind.REJECT,
        reason=reason,
        note=note,
        actor=actor,
        now=now,
        extra={"owner": None},
    )


@transaction.atomic
def lead_to_opportunity(
    *,
    lead: Lead | int,
    actor: User,
    estimated_value: Any = None,
    next_step: str | None = None,
    next_step_due: Any = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    lead, now = lead_begin(lead, actor, expected_version, now, Transition.TO_OPPORTUNITY)
    due = clean_day("next_step_due", next_step_due) if next_step_due not in (None, "") else None
    value = clean_value(estimated_value) if estimated_value not in (None, "") else None
    value = value if value is not None else lead.estimated_value
    step = (
        clean_text("next_step", next_step, TEXT_FIELDS["next_step"])
        if next_step is not None
        else lead.next_step
    )
    missing = [
        label
        for label, present in (("an estimated value", value is not None), ("a next step", step))
        if not present
    ]
    if missing:
        raise DomainError(
            f"An opportunity needs {' and '.join(missing)}.",
            code=ErrorCode.MISSING_REQUIREMENT,
            field="estimated_value" if value is None else "next_step",
        )
    return _move(
        lead=lead,
        transition=Transition.TO_OPPORTUNITY,
        actor=actor,
        now=now,
        extra={
            "estimated_value": value,
            "next_step": step,
            **({"next_step_due": due} if due else {}),
        },
    )


@transaction.atomic
def lead_win(
    *,
    lead: Lead | int,
    actor: User,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    lead, now = lead_begin(lead, actor, expected_version, now, Transition.WIN)
    return _move(
        lead=lead, transition=Transition.WIN, actor=actor, now=now, extra={"closed_at": now}
    )


@transaction.atomic
def lead_lose(
    *,
    lead: Lead | int,
    actor: User,
    reason: Reason | int | None = None,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    lead, now = lead_begin(lead, actor, expected_version, now, Transition.LOSE)
    return _move_with_reason(
        lead=lead,
        transition=Transition.LOSE,
        kind=Reason.Kind.LOST,
        reason=reason,
        note=note,
        actor=actor,
        now=now,
        extra={"closed_at": now},
    )


@transaction.atomic
def lead_recycle(
    *,
    lead: Lead | int,
    actor: User,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    """A lost lead goes back to marketing's nurture (unless that person is already open)."""
    lead, now = lead_begin(lead, actor, expected_version, now, Transition.RECYCLE)
    clash = Lead.objects.open().filter(email_normalized=lead.email_normalized).first()
    if clash is not None and clash.pk != lead.pk:
        raise duplicate_error(clash)
    return _move(
        lead=lead,
        transition=Transition.RECYCLE,
        actor=actor,
        now=now,
        extra={"owner": None, "closed_at": None},
    )


@transaction.atomic
def lead_disqualify(
    *,
    lead: Lead | int,
    actor: User,
    reason: Reason | int | None = None,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    lead, now = lead_begin(lead, actor, expected_version, now, Transition.DISQUALIFY)
    return _move_with_reason(
        lead=lead,
        transition=Transition.DISQUALIFY,
        kind=Reason.Kind.DISQUALIFY,
        reason=reason,
        note=note,
        actor=actor,
        now=now,
        extra={"closed_at": now, "owner": None},
    )


@transaction.atomic
def lead_re_engage(
    *,
    lead: Lead | int,
    actor: User,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    """Marketing brings a nurtured lead back to engaged, ready to qualify again."""
    lead, now = lead_begin(lead, actor, expected_version, now, Transition.RE_ENGAGE)
    return _move(
        lead=lead,
        transition=Transition.RE_ENGAGE,
        actor=actor,
        now=now,
        extra={
            "owner": actor if actor.role == Role.MARKETER else None,
            "reason": None,
            "reason_note": "",
        },
    )


# Each move's service and the inputs it takes, in the order the API lists the moves.
MOVES: dict[str, tuple[Callable[..., Lead], frozenset[str]]] = {
    Transition.ACCEPT: (lead_accept, frozenset()),
    Transition.HAND_OFF: (lead_hand_off, frozenset({"assignee", "criteria"})),
    Transition.REJECT: (lead_reject, frozenset({"reason", "note"})),
    Transition.TO_OPPORTUNITY: (
        lead_to_opportunity,
        frozenset({"estimated_value", "next_step", "next_step_due"}),
    ),
    Transition.WIN: (lead_win, frozenset()),
    Transition.LOSE: (lead_lose, frozenset({"reason", "note"})),
    Transition.RECYCLE: (lead_recycle, frozenset()),
    Transition.DISQUALIFY: (lead_disqualify, frozenset({"reason", "note"})),
    Transition.RE_ENGAGE: (lead_re_engage, frozenset()),
    Transition.REASSIGN: (lead_reassign, frozenset({"assignee", "reason"})),
}


def lead_transition(
    *,
    lead: Lead | int,
    actor: User,
    transition: str,
    params: dict[str, Any] | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    """One door for pages and the API: `transition` names the move, `params` its inputs."""
    params = dict(params or {})
    if transition not in MOVES:
        raise DomainError(
            f"Unknown transition {transition!r}; expected one of {', '.join(MOVES)}.",
            field="transition",
        )
    service, accepted_params = MOVES[transition]
    extra = sorted(set(params) - accepted_params)
    if extra:
        raise DomainError(f"{extra[0]} does not apply to {transition}.", field=extra[0])
    return service(lead=lead, actor=actor, expected_version=expected_version, now=now, **params)
