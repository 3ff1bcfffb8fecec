"""Every change to a lead: one function per move, one transaction each, history always.

Each function locks the lead row, refuses a stale `expected_version`, checks the actor's
rights and the transition table, writes only the changed fields with the version checked in
the UPDATE's WHERE clause, appends a LeadEvent and lets the SLA engine react to that event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import Role, Team, User
from leads import permissions
from leads.lifecycle import (
    ACCEPTED_MILESTONE,
    MILESTONE_OF_STAGE,
    MILESTONES,
    STAGE_OWNER,
    TRANSITIONS,
    Stage,
    Transition,
)
from leads.models import (
    MAX_COMPANY,
    MAX_EMAIL,
    MAX_NAME,
    Activity,
    AssignmentCursor,
    Campaign,
    Lead,
    LeadEvent,
    Persona,
    Reason,
    StageDefinition,
)
from sla.clocks import clocks_on_lead_event

MAX_VALUE = Decimal("9999999999.99")

# Contact fields a create or an edit may set, with their maximum length.
TEXT_FIELDS: dict[str, int] = {
    "first_name": MAX_NAME,
    "last_name": MAX_NAME,
    "phone": 40,
    "company": MAX_COMPANY,
    "job_title": MAX_NAME,
    "next_step": 300,
}
EDITABLE_FIELDS = frozenset(
    {*TEXT_FIELDS, "email", "campaign", "persona", "estimated_value", "criteria_met"}
)


# ---------------------------------------------------------------- input cleaning


def normalize_email(raw: str) -> str:
    """Lower-case, trim, and drop a `+tag` so that jo+ads@x.com and Jo@X.com match."""
    email = raw.strip().lower()
    local, sep, domain = email.partition("@")
    if not sep:
        return email
    local = local.split("+", 1)[0]
    return f"{local}@{domain}"


def clean_text(field: str, value: Any, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DomainError(f"{field} must be text.", field=field)
    value = value.strip()
    if "\x00" in value:
        raise DomainError(f"{field} must not contain NUL characters.", field=field)
    if len(value) > max_length:
        raise DomainError(
            f"{field} is too long ({len(value)} characters; at most {max_length}).", field=field
        )
    return value


def clean_email(value: Any) -> str:
    email = clean_text("email", value, MAX_EMAIL)
    if not email:
        raise DomainError("email is required.", field="email")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError(f"email {email!r} is not a valid address.", field="email") from exc
    return email


def clean_value(value: Any, field: str = "estimated_value") -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(f"{field} must be a number.", field=field) from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_VALUE:
        raise DomainError(f"{field} must be between 0 and {MAX_VALUE}.", field=field)
    return amount.quantize(Decimal("0.01"))


def clean_criteria(value: Any, definition: StageDefinition | None = None) -> list[str]:
    """Criterion keys of the qualified stage's current definition (passed in when the caller
    already holds it, so it is read once)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(k, str) for k in value):
        raise DomainError("criteria_met must be a list of criterion keys.", field="criteria_met")
    definition = definition or current_definition(Stage.QUALIFIED)
    known = {criterion.key for criterion in definition.criteria.all()}
    unknown = sorted(set(value) - known)
    if unknown:
        raise DomainError(
            f"Unknown qualification criteria: {', '.join(unknown)}.", field="criteria_met"
        )
    return sorted(set(value))


def clean_reason(reason: Reason | int | None, kind: str, field: str = "reason") -> Reason:
    if reason is None or reason == "":
        raise DomainError(f"A {Reason.Kind(kind).label.lower()} is required.", field=field)
    if not isinstance(reason, Reason):
        try:
            reason = Reason.objects.get(pk=int(reason))
        except (Reason.DoesNotExist, ValueError, TypeError) as exc:
            raise DomainError(f"Unknown reason {reason!r}.", field=field) from exc
    if reason.kind != kind or not reason.active:
        raise DomainError(
            f"{reason.label!r} is not an active {Reason.Kind(kind).label.lower()}.", field=field
        )
    return reason


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the editable fields given; unknown or protected ones are refused by name."""
    unknown = sorted(set(fields) - EDITABLE_FIELDS)
    if unknown:
        raise DomainError(f"{unknown[0]} cannot be set here.", field=unknown[0])
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        if name in TEXT_FIELDS:
            cleaned[name] = clean_text(name, value, TEXT_FIELDS[name])
        elif name == "email":
            cleaned[name] = clean_email(value)
        elif name == "estimated_value":
            cleaned[name] = clean_value(value)
        elif name == "criteria_met":
            cleaned[name] = clean_criteria(value)
        elif name == "campaign":
            cleaned[name] = _resolve(Campaign, value, "campaign")
        elif name == "persona":
            cleaned[name] = _resolve(Persona, value, "persona")
    return cleaned


def _resolve(model: type[Campaign] | type[Persona], value: Any, field: str) -> Any:
    if value is None or value == "" or isinstance(value, model):
        return value or None
    try:
        return model.objects.get(pk=int(value))
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise DomainError(f"Unknown {field} {value!r}.", field=field) from exc


def current_definition(stage: str) -> StageDefinition:
    definition = (
        StageDefinition.objects.filter(stage=stage, is_current=True)
        .prefetch_related("criteria")
        .first()
    )
    if definition is None:
        raise DomainError(f"No definition is published for the {stage} stage.", field="stage")
    return definition


# ---------------------------------------------------------------- history and locking


def _display(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str | list):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def record_event(
    *,
    lead: Lead,
    kind: str,
    actor: User | None,
    now: datetime,
    from_stage: str = "",
    to_stage: str = "",
    changes: dict[str, Any] | None = None,
    note: str = "",
) -> LeadEvent:
    event = LeadEvent.objects.create(
        lead=lead,
        kind=kind,
        actor=actor,
        from_stage=from_stage,
        to_stage=to_stage,
        changes=changes or {},
        note=note[:500],
        created_at=now,
    )
    clocks_on_lead_event(lead=lead, event=event, now=now)
    return event


def _lock(lead: Lead | int, expected_version: int | None, actor: User) -> Lead:
    """Lock the row, then check rights before the version: a caller without rights learns
    nothing about the lead's current version."""
    pk = lead if isinstance(lead, int) else lead.pk
    try:
        locked = Lead.objects.select_for_update().get(pk=pk)
    except Lead.DoesNotExist as exc:
        raise DomainError(f"Lead {pk} does not exist.", code=ErrorCode.NOT_FOUND) from exc
    permissions.require_edit(actor, locked)
    _check_version(locked, expected_version)
    return locked


def _check_version(lead: Lead, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != lead.version:
        raise DomainError(
            f"Lead {lead.pk} was changed by someone else (version {lead.version}, "
            f"yours {expected_version}). Reload and try again.",
            code=ErrorCode.STALE,
            field="version",
        )


def _write(lead: Lead, changes: dict[str, Any], now: datetime) -> dict[str, list[Any]]:
    """Save the changed fields; the version in the WHERE clause refuses a lost update."""
    values = {name: value for name, value in changes.items() if getattr(lead, name) != value}
    if not values:
        return {}
    # Milestones are bookkeeping derived from the event itself: kept out of its diff.
    diff = {
        name: [_display(getattr(lead, name)), _display(value)]
        for name, value in values.items()
        if name not in MILESTONES
    }
    rows = Lead.objects.filter(pk=lead.pk, version=lead.version).update(
        **values, version=F("version") + 1, updated_at=now
    )
    if rows != 1:
        raise DomainError(
            f"Lead {lead.pk} was changed by someone else. Reload and try again.",
            code=ErrorCode.STALE,
            field="version",
        )
    for name, value in values.items():
        setattr(lead, name, value)
    lead.version += 1
    lead.updated_at = now
    return diff


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
) -> Lead:
    _check_stage(lead, transition)
    target = TRANSITIONS[transition][1]
    from_stage = lead.stage
    changes = {
        "stage": target,
        "owner_team": STAGE_OWNER[target],
        "stage_changed_at": now,
        **(extra or {}),
        **_milestone(lead, MILESTONE_OF_STAGE.get(target), now),
    }
    diff = _write(lead, changes, now)
    diff["transition"] = transition
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
    _check_stage(lead, transition)
    chosen = clean_reason(reason, kind)
    note = clean_text("note", note, 500)
    return _move(
        lead=lead,
        transition=transition,
        actor=actor,
        now=now,
        extra={"reason": chosen, "reason_note": note, **extra},
        note=note,
    )


# ---------------------------------------------------------------- create and edit


@dataclass(frozen=True)
class LeadInput:
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    company: str = ""
    job_title: str = ""
    campaign: Campaign | int | None = None
    persona: Persona | int | None = None
    source: str = "manual"
    external_id: str | None = None
    estimated_value: Any = None


def find_duplicate(*, email_normalized: str, source: str, external_id: str | None) -> Lead | None:
    """The lead a new one would duplicate: same source + external id, or same open email."""
    if external_id:
        match = Lead.objects.filter(source=source, external_id=external_id).first()
        if match is not None:
            return match
    return Lead.objects.open().filter(email_normalized=email_normalized).first()


def _duplicate_error(existing: Lead) -> DomainError:
    return DomainError(
        f"This lead already exists (lead {existing.pk}).",
        code=ErrorCode.DUPLICATE,
        field="email",
        existing_id=existing.pk,
    )


def validate_lead_input(data: LeadInput) -> dict[str, Any]:
    values = clean_fields(
        {
            "email": data.email,
            "first_name": data.first_name,
            "last_name": data.last_name,
            "phone": data.phone,
            "company": data.company,
            "job_title": data.job_title,
            "campaign": data.campaign,
            "persona": data.persona,
            "estimated_value": data.estimated_value,
        }
    )
    values["source"] = clean_text("source", data.source, 50) or "manual"
    values["external_id"] = clean_text("external_id", data.external_id, 100) or None
    values["email_normalized"] = normalize_email(values["email"])
    return values


def new_lead(*, actor: User, values: dict[str, Any], now: datetime) -> Lead:
    """An unsaved engaged lead from validated values (lead_create and batches insert it)."""
    return Lead(
        **values,
        stage=Stage.ENGAGED,
        owner_team=Team.MARKETING,
        owner=actor if actor.role == Role.MARKETER else None,
        stage_changed_at=now,
        created_at=now,
        updated_at=now,
        created_by=actor,
    )


def lead_create(*, actor: User, data: LeadInput, now: datetime | None = None) -> Lead:
    """Create an engaged lead, or raise DUPLICATE naming the lead that already exists."""
    now = now or timezone.now()
    permissions.require(
        permissions.can_create_lead(actor),
        "Only marketing, managers and integrations create leads.",
    )
    values = validate_lead_input(data)
    try:
        return _lead_insert(actor=actor, values=values, now=now)
    except IntegrityError as exc:
        # The unique indexes on (source, external_id) and on an open lead's email decide
        # what a duplicate is, so a new person costs no lookup before the insert; the
        # refused insert's transaction (or savepoint) is gone when we look for whom it
        # duplicates.
        existing = find_duplicate(
            email_normalized=values["email_normalized"],
            source=values["source"],
            external_id=values["external_id"],
        )
        if existing is None:
            raise
        raise _duplicate_error(existing) from exc


@transaction.atomic
def _lead_insert(*, actor: User, values: dict[str, Any], now: datetime) -> Lead:
    """The new lead first (so a duplicate fails before anything else is written), then its
    creation event and its clocks."""
    lead = new_lead(actor=actor, values=values, now=now)
    lead.save(force_insert=True)
    record_event(
        lead=lead,
        kind=LeadEvent.Kind.CREATED,
        actor=actor,
        now=now,
        to_stage=Stage.ENGAGED,
        changes={"source": lead.source, "email": lead.email},
    )
    return lead


@transaction.atomic
def lead_update(
    *,
    lead: Lead | int,
    actor: User,
    fields: dict[str, Any],
    expected_version: int | None,
    now: datetime | None = None,
) -> Lead:
    """Edit contact and deal fields. Stage, owner, team and version are not editable here."""
    now = now or timezone.now()
    lead = _lock(lead, expected_version, actor)
    values = clean_fields(fields)
    if "email" in values:
        values["email_normalized"] = normalize_email(values["email"])
        if values["email_normalized"] != lead.email_normalized and lead.is_open:
            clash = Lead.objects.open().filter(email_normalized=values["email_normalized"])
            existing = clash.exclude(pk=lead.pk).first()
            if existing is not None:
                raise _duplicate_error(existing)
    diff = _write(lead, values, now)
    if diff:
        record_event(lead=lead, kind=LeadEvent.Kind.UPDATED, actor=actor, now=now, changes=diff)
    return lead


# ---------------------------------------------------------------- assignment


def next_sales_rep() -> User:
    """Round robin over active sales reps, in id order; the cursor row serialises picks."""
    cursor, _ = AssignmentCursor.objects.select_for_update().get_or_create(name="sales")
    reps = User.objects.filter(role=Role.SALES_REP, is_active=True).order_by("id")
    chosen = reps.filter(id__gt=cursor.last_user_id or 0).first() or reps.first()
    if chosen is None:
        raise DomainError(
            "No active sales rep can take this lead; assign one explicitly.",
            code=ErrorCode.MISSING_REQUIREMENT,
            field="assignee",
        )
    cursor.last_user = chosen
    cursor.save(update_fields=["last_user"])
    return chosen


def _resolve_assignee(assignee: User | int | None) -> User:
    if assignee is None or assignee == "":
        return next_sales_rep()
    if not isinstance(assignee, User):
        try:
            assignee = User.objects.get(pk=int(assignee))
        except (User.DoesNotExist, ValueError, TypeError) as exc:
            raise DomainError(f"Unknown assignee {assignee!r}.", field="assignee") from exc
    if assignee.role != Role.SALES_REP or not assignee.is_active:
        raise DomainError(f"{assignee.display_name} is not an active sales rep.", field="assignee")
    return assignee


# ---------------------------------------------------------------- transitions


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
    now = now or timezone.now()
    lead = _lock(lead, expected_version, actor)
    _check_stage(lead, Transition.HAND_OFF)
    definition = current_definition(Stage.QUALIFIED)
    ticked = set(lead.criteria_met) | set(clean_criteria(criteria, definition) if criteria else [])
    missing = [c.label for c in definition.criteria.all() if c.required and c.key not in ticked]
    if missing:
        raise DomainError(
            f"Cannot hand off: {definition.title} v{definition.version} needs "
            f"{'; '.join(missing)}.",
            code=ErrorCode.MISSING_REQUIREMENT,
            field="criteria_met",
        )
    rep = _resolve_assignee(assignee)
    return _move(
        lead=lead,
        transition=Transition.HAND_OFF,
        actor=actor,
        now=now,
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
    now = now or timezone.now()
    lead = _lock(lead, expected_version, actor)
    if lead.stage != Stage.QUALIFIED:
        raise DomainError(
            f"Only a qualified lead can be accepted; this one is {lead.stage}.",
            code=ErrorCode.ILLEGAL_TRANSITION,
            field="transition",
        )
    if lead.accepted_at is not None:
        raise DomainError(
            "This lead was already accepted.",
            code=ErrorCode.ILLEGAL_TRANSITION,
            field="transition",
        )
    diff = _write(
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
    now = now or timezone.now()
    lead = _lock(lead, expected_version, actor)
    if lead.stage == Stage.QUALIFIED and lead.accepted_at is not None:
        raise DomainError(
            "An accepted lead cannot be rejected; mark it lost instead.",
            code=ErrorCode.ILLEGAL_TRANSITION,
            field="transition",
        )
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
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    now = now or timezone.now()
    lead = _lock(lead, expected_version, actor)
    _check_stage(lead, Transition.TO_OPPORTUNITY)
    if lead.accepted_at is None:
        raise DomainError(
            "Accept the lead before moving it to opportunity.",
            code=ErrorCode.MISSING_REQUIREMENT,
            field="transition",
        )
    value = clean_value(estimated_value) if estimated_value not in (None, "") else None
    value = value if value is not None else lead.estimated_value
    step = clean_text("next_step", next_step, 300) if next_step is not None else lead.next_step
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
        extra={"estimated_value": value, "next_step": step},
    )


@transaction.atomic
def lead_win(
    *,
    lead: Lead | int,
    actor: User,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    now = now or timezone.now()
    lead = _lock(lead, expected_version, actor)
    _check_stage(lead, Transition.WIN)
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
    now = now or timezone.now()
    lead = _lock(lead, expected_version, actor)
    if lead.stage == Stage.QUALIFIED and lead.accepted_at is None:
        raise DomainError(
            "A lead not yet accepted is rejected, not lost.",
            code=ErrorCode.ILLEGAL_TRANSITION,
            field="transition",
        )
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
    now = now or timezone.now()
    lead = _lock(lead, expected_version, actor)
    _check_stage(lead, Transition.RECYCLE)
    _refuse_reopening_duplicate(lead)
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
    now = now or timezone.now()
    lead = _lock(lead, expected_version, actor)
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
    now = now or timezone.now()
    lead = _lock(lead, expected_version, actor)
    _check_stage(lead, Transition.RE_ENGAGE)
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


def _check_stage(lead: Lead, transition: str) -> None:
    sources, _ = TRANSITIONS[transition]
    if lead.stage not in sources:
        allowed = ", ".join(sorted(sources))
        raise DomainError(
            f"Cannot {Transition(transition).label.lower()}: the lead is {lead.stage}, "
            f"and this move starts only from {allowed}.",
            code=ErrorCode.ILLEGAL_TRANSITION,
            field="transition",
        )


def _refuse_reopening_duplicate(lead: Lead) -> None:
    clash = Lead.objects.open().filter(email_normalized=lead.email_normalized).first()
    if clash is not None and clash.pk != lead.pk:
        raise _duplicate_error(clash)


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
    common = {"lead": lead, "actor": actor, "expected_version": expected_version, "now": now}
    allowed_params: dict[str, set[str]] = {
        "accept": set(),
        Transition.HAND_OFF: {"assignee", "criteria"},
        Transition.REJECT: {"reason", "note"},
        Transition.TO_OPPORTUNITY: {"estimated_value", "next_step"},
        Transition.WIN: set(),
        Transition.LOSE: {"reason", "note"},
        Transition.RECYCLE: set(),
        Transition.DISQUALIFY: {"reason", "note"},
        Transition.RE_ENGAGE: set(),
    }
    if transition not in allowed_params:
        names = ", ".join(allowed_params)
        raise DomainError(
            f"Unknown transition {transition!r}; expected one of {names}.", field="transition"
        )
    extra = sorted(set(params) - allowed_params[transition])
    if extra:
        raise DomainError(f"{extra[0]} does not apply to {transition}.", field=extra[0])
    handlers = {
        "accept": lead_accept,
        Transition.HAND_OFF: lead_hand_off,
        Transition.REJECT: lead_reject,
        Transition.TO_OPPORTUNITY: lead_to_opportunity,
        Transition.WIN: lead_win,
        Transition.LOSE: lead_lose,
        Transition.RECYCLE: lead_recycle,
        Transition.DISQUALIFY: lead_disqualify,
        Transition.RE_ENGAGE: lead_re_engage,
    }
    return handlers[transition](**common, **params)


# ---------------------------------------------------------------- activities


@transaction.atomic
def activity_log(
    *,
    lead: Lead | int,
    actor: User,
    kind: str,
    summary: str = "",
    occurred_at: datetime | None = None,
    now: datetime | None = None,
) -> Activity:
    """Log a call, email, meeting or note. The assignee's first touch is stamped on the lead."""
    now = now or timezone.now()
    lead = _lock(lead, None, actor)
    if kind not in Activity.Kind.values:
        raise DomainError(
            f"Unknown activity kind {kind!r}; expected one of {', '.join(Activity.Kind.values)}.",
            field="kind",
        )
    summary = clean_text("summary", summary, 2000)
    occurred_at = occurred_at or now
    if occurred_at > now:
        raise DomainError("An activity cannot happen in the future.", field="occurred_at")
    activity = Activity.objects.create(
        lead=lead, kind=kind, actor=actor, occurred_at=occurred_at, summary=summary, created_at=now
    )
    is_first_touch = (
        kind in Activity.TOUCH_KINDS and lead.owner_id == actor.id and lead.first_touch_at is None
    )
    if is_first_touch:
        # Not a version bump: logging a call must not make a colleague's open edit stale.
        Lead.objects.filter(pk=lead.pk, first_touch_at__isnull=True).update(first_touch_at=now)
        lead.first_touch_at = now
    record_event(
        lead=lead,
        kind=LeadEvent.Kind.ACTIVITY,
        actor=actor,
        now=now,
        changes={"activity_id": activity.pk, "kind": kind, "first_touch": is_first_touch},
    )
    return activity
