"""SLA writes: calendars, policies, commitments, webhooks, acknowledgements, and the clocks.

The lead services call `clocks_on_lead_event` inside their transaction, so a clock starts,
stops or is cancelled atomically with the event that causes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import Role, Team, User
from crm.set_insert import insert_for_each
from leads.lifecycle import Stage
from sla.business_time import ScheduleError, add_business_time
from sla.models import (
    OPEN_CLOCK_STATES,
    WEEKDAYS,
    Breach,
    BusinessCalendar,
    ClockState,
    Commitment,
    CommitmentPeriodKind,
    SlaClock,
    SlaGoal,
    SlaPolicy,
    WebhookEndpoint,
    WebhookFormat,
    parse_clock_time,
)

if TYPE_CHECKING:
    from leads.models import Lead, LeadEvent

MAX_TARGET = timedelta(days=366)
WEBHOOK_EVENT_TYPES = ("breach.created", "clock.at_risk", "commitment.missed")


# ---------------------------------------------------------------- rights


def _require_manager(actor: User, what: str) -> None:
    if not (actor.is_active and actor.role == Role.MANAGER):
        raise DomainError(f"Only managers may {what}.", code=ErrorCode.FORBIDDEN)


def clean_name(model: type, value: Any, *, exclude_pk: int | None = None) -> str:
    """A required, unique, not too long name; the field is called `name` everywhere here."""
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise DomainError("A name is required.", field="name")
    limit = model._meta.get_field("name").max_length
    if len(name) > limit:
        raise DomainError(f"name is too long (at most {limit} characters).", field="name")
    if model.objects.filter(name=name).exclude(pk=exclude_pk).exists():
        raise DomainError(
            f"{name!r} is already taken; choose another name.",
            code=ErrorCode.DUPLICATE,
            field="name",
        )
    return name


def clean_date(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise DomainError(f"{field} must be a YYYY-MM-DD date.", field=field) from exc


# ---------------------------------------------------------------- calendars


def clean_weekly_hours(raw: Any) -> dict[str, list[list[str]]]:
    """Accept {weekday: [[start, end], ...]} with weekday 0-6 (or its name) and HH:MM times."""
    if not isinstance(raw, Mapping):
        raise DomainError(
            "weekly_hours must map weekdays to lists of [start, end] times.", field="weekly_hours"
        )
    names = {name.lower(): n for n, name in enumerate(WEEKDAYS)}
    cleaned: dict[str, list[list[str]]] = {}
    for key, spans in raw.items():
        day = names.get(str(key).lower()) if not str(key).isdigit() else int(str(key))
        if day is None or not 0 <= day <= 6:
            raise DomainError(
                f"Unknown weekday {key!r}: use 0 (Monday) to 6 (Sunday).", field="weekly_hours"
            )
        if not isinstance(spans, list | tuple):
            raise DomainError(
                f"{WEEKDAYS[day]}: expected a list of intervals.", field="weekly_hours"
            )
        intervals = []
        for span in spans:
            if not isinstance(span, list | tuple) or len(span) != 2:
                raise DomainError(
                    f"{WEEKDAYS[day]}: each interval is a [start, end] pair.",
                    field="weekly_hours",
                )
            try:
                start, end = (
                    parse_clock_time(_pad_hour(str(t).strip())).strftime("%H:%M") for t in span
                )
            except ValueError as exc:
                raise DomainError(
                    f"{WEEKDAYS[day]}: {span!r} is not a pair of HH:MM times.",
                    field="weekly_hours",
                ) from exc
            intervals.append([start, "24:00" if end == "00:00" else end])
        if intervals:
            cleaned[str(day)] = intervals
    return cleaned


def clean_holidays(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list | tuple | set | frozenset):
        raise DomainError("holidays must be a list of dates.", field="holidays")
    days = set()
    for item in raw:
        try:
            days.add(item if isinstance(item, date) else date.fromisoformat(str(item)))
        except ValueError as exc:
            raise DomainError(
                f"Holiday {item!r} is not a YYYY-MM-DD date.", field="holidays"
            ) from exc
    return [day.isoformat() for day in sorted(days)]


def _validate_calendar(calendar: BusinessCalendar) -> None:
    if calendar.timezone not in available_timezones():
        raise DomainError(
            f"Unknown time zone {calendar.timezone!r}: use an IANA name such as Europe/London.",
            field="timezone",
        )
    try:
        calendar.schedule().validate()
    except ScheduleError as exc:
        raise DomainError(f"Working hours: {exc}.", field="weekly_hours") from exc


@transaction.atomic
def calendar_create(
    *,
    actor: User,
    name: str,
    timezone_name: str,
    weekly_hours: Any,
    holidays: Any = None,
    now: datetime | None = None,
) -> BusinessCalendar:
    """A named working calendar; refused when the zone is unknown or no hours are usable."""
    now = now or timezone.now()
    _require_manager(actor, "edit business calendars")
    name = clean_name(BusinessCalendar, name)
    calendar = BusinessCalendar(
        name=name,
        timezone=timezone_name,
        weekly_hours=clean_weekly_hours(weekly_hours),
        holidays=clean_holidays(holidays),
        created_at=now,
        updated_at=now,
    )
    _validate_calendar(calendar)
    calendar.save()
    return calendar


@transaction.atomic
def calendar_update(
    *,
    actor: User,
    calendar: BusinessCalendar | int,
    fields: dict[str, Any],
    now: datetime | None = None,
) -> BusinessCalendar:
    """Edit hours, holidays or zone. Running clocks keep the due time computed at their start."""
    now = now or timezone.now()
    _require_manager(actor, "edit business calendars")
    calendar = _get(BusinessCalendar, calendar, "calendar", lock=True)
    unknown = sorted(set(fields) - {"name", "timezone", "weekly_hours", "holidays"})
    if unknown:
        raise DomainError(f"{unknown[0]} cannot be set here.", field=unknown[0])
    if "name" in fields:
        calendar.name = clean_name(BusinessCalendar, fields["name"], exclude_pk=calendar.pk)
    if "timezone" in fields:
        calendar.timezone = fields["timezone"]
    if "weekly_hours" in fields:
        calendar.weekly_hours = clean_weekly_hours(fields["weekly_hours"])
    if "holidays" in fields:
        calendar.holidays = clean_holidays(fields["holidays"])
    _validate_calendar(calendar)
    calendar.updated_at = now
    calendar.save()
    return calendar


# ---------------------------------------------------------------- policies


def clean_target(value: Any) -> timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta):
        raise DomainError("target must be a duration.", field="target")
    if value <= timedelta(0):
        raise DomainError(f"target must be longer than zero, got {value}.", field="target")
    if value > MAX_TARGET:
        raise DomainError("target must be at most 366 days.", field="target")
    return value


def clean_fraction(value: Any, field: str, *, allow_one: bool = False) -> Decimal:
    try:
        fraction = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(f"{field} must be a number between 0 and 1.", field=field) from exc
    upper_ok = fraction <= 1 if allow_one else fraction < 1
    if not fraction.is_finite() or not (fraction > 0 and upper_ok):
        bound = "1 (inclusive)" if allow_one else "1"
        raise DomainError(f"{field} must be greater than 0 and below {bound}.", field=field)
    return fraction.quantize(Decimal("0.001"))


POLICY_FIELDS = frozenset(
    {
        "name",
        "goal",
        "trigger_stage",
        "target",
        "at_risk_fraction",
        "calendar",
        "accountable_team",
        "escalate_to",
        "notify_owner",
        "met_by_update",
        "active",
    }
)


def _apply_policy_fields(policy: SlaPolicy, fields: dict[str, Any]) -> list[User] | None:
    unknown = sorted(set(fields) - POLICY_FIELDS)
    if unknown:
        raise DomainError(f"{unknown[0]} cannot be set on a policy.", field=unknown[0])
    escalate: list[User] | None = None
    for name, value in fields.items():
        if name == "name":
            value = clean_name(SlaPolicy, value, exclude_pk=policy.pk)
        elif name == "goal" and value not in SlaGoal.values:
            raise DomainError(f"Unknown goal {value!r}.", field="goal")
        elif name == "trigger_stage" and value not in Stage.values:
            raise DomainError(f"Unknown stage {value!r}.", field="trigger_stage")
        elif name == "accountable_team" and value not in Team.values:
            raise DomainError(f"Unknown team {value!r}.", field="accountable_team")
        elif name == "target":
            value = clean_target(value)
        elif name == "at_risk_fraction":
            value = clean_fraction(value, "at_risk_fraction")
        elif name == "calendar":
            value = None if value in (None, "") else _get(BusinessCalendar, value, "calendar")
        elif name in {"notify_owner", "met_by_update", "active"}:
            value = bool(value)
        if name == "escalate_to":
            escalate = [_get(User, user, "escalate_to") for user in value or []]
            continue
        setattr(policy, name, value)
    if policy.met_by_update and policy.goal != SlaGoal.EXIT_STAGE:
        raise DomainError(
            "Only an exit_stage policy can be met by an update.", field="met_by_update"
        )
    return escalate


@transaction.atomic
def policy_create(*, actor: User, fields: dict[str, Any], now: datetime | None = None) -> SlaPolicy:
    now = now or timezone.now()
    _require_manager(actor, "edit SLA policies")
    missing = [
        f
        for f in ("name", "goal", "trigger_stage", "target", "accountable_team")
        if f not in fields
    ]
    if missing:
        raise DomainError(f"{missing[0]} is required.", field=missing[0])
    policy = SlaPolicy(created_at=now, updated_at=now)
    escalate = _apply_policy_fields(policy, fields)
    policy.save()
    if escalate:
        policy.escalate_to.set(escalate)
    return policy


@transaction.atomic
def policy_update(
    *,
    actor: User,
    policy: SlaPolicy | int,
    fields: dict[str, Any],
    now: datetime | None = None,
) -> SlaPolicy:
    """Edit a policy. Clocks already started keep their target and due time (history stays)."""
    now = now or timezone.now()
    _require_manager(actor, "edit SLA policies")
    policy = _get(SlaPolicy, policy, "policy", lock=True)
    escalate = _apply_policy_fields(policy, fields)
    policy.updated_at = now
    policy.save()
    if escalate is not None:
        policy.escalate_to.set(escalate)
    return policy


# ---------------------------------------------------------------- commitments and webhooks


@transaction.atomic
def commitment_create(
    *,
    actor: User,
    name: str,
    period: str,
    target_qualified: int,
    starts_on: date,
    min_acceptance_rate: Any = None,
    timezone_name: str = "UTC",
    team: str = Team.MARKETING,
    now: datetime | None = None,
) -> Commitment:
    now = now or timezone.now()
    _require_manager(actor, "edit commitments")
    if period not in CommitmentPeriodKind.values:
        raise DomainError(f"period must be week or month, got {period!r}.", field="period")
    if (
        isinstance(target_qualified, bool)
        or not isinstance(target_qualified, int)
        or (target_qualified <= 0)
    ):
        raise DomainError(
            "target_qualified must be a whole number above zero.", field="target_qualified"
        )
    if timezone_name not in available_timezones():
        raise DomainError(f"Unknown time zone {timezone_name!r}.", field="timezone")
    rate = None
    if min_acceptance_rate not in (None, ""):
        rate = clean_fraction(min_acceptance_rate, "min_acceptance_rate", allow_one=True)
    return Commitment.objects.create(
        name=clean_name(Commitment, name),
        team=team,
        period=period,
        target_qualified=target_qualified,
        min_acceptance_rate=rate,
        timezone=timezone_name,
        starts_on=clean_date(starts_on, "starts_on"),
        created_at=now,
    )


@transaction.atomic
def webhook_endpoint_create(
    *,
    actor: User,
    name: str,
    url: str,
    secret: str = "",
    event_types: Iterable[str] = ("breach.created",),
    format: str = WebhookFormat.GENERIC,
    active: bool = True,
    now: datetime | None = None,
) -> WebhookEndpoint:
    now = now or timezone.now()
    _require_manager(actor, "configure webhooks")
    name = clean_name(WebhookEndpoint, name)
    if not isinstance(url, str) or len(url) > 500:
        raise DomainError("url must be text of at most 500 characters.", field="url")
    if len(secret or "") > 200:
        raise DomainError("secret is too long (at most 200 characters).", field="secret")
    if not url.startswith(("http://", "https://")):
        raise DomainError("url must start with http:// or https://.", field="url")
    events = sorted(set(event_types))
    unknown = [e for e in events if e not in WEBHOOK_EVENT_TYPES]
    if unknown or not events:
        raise DomainError(
            f"event_types must be some of {', '.join(WEBHOOK_EVENT_TYPES)}.", field="event_types"
        )
    if format not in WebhookFormat.values:
        raise DomainError(f"Unknown format {format!r}.", field="format")
    if format == WebhookFormat.GENERIC and not secret:
        raise DomainError("A generic webhook needs a secret to sign with.", field="secret")
    return WebhookEndpoint.objects.create(
        name=name,
        url=url,
        secret=secret,
        event_types=events,
        format=format,
        active=active,
        created_at=now,
    )


# ---------------------------------------------------------------- breach review


@transaction.atomic
def breach_acknowledge(
    *, breach: Breach | int, actor: User, note: str, now: datetime | None = None
) -> Breach:
    """A manager reviews a breach and writes down what happens next."""
    now = now or timezone.now()
    _require_manager(actor, "acknowledge breaches")
    breach = _get(Breach, breach, "breach", lock=True)
    note = (note or "").strip()
    if not note:
        raise DomainError("Write a note when acknowledging a breach.", field="note")
    if len(note) > 1000:
        raise DomainError("note is too long (at most 1000 characters).", field="note")
    if breach.acknowledged_at is not None:
        raise DomainError(
            f"This breach was already acknowledged on {breach.acknowledged_at:%Y-%m-%d %H:%M}.",
            code=ErrorCode.ILLEGAL_TRANSITION,
        )
    breach.acknowledged_at = now
    breach.acknowledged_by = actor
    breach.acknowledgement_note = note
    breach.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledgement_note"])
    if breach.lead_id is not None:
        record_clock_events(
            [(breach.lead_id, now, {"breach_id": breach.pk, "acknowledged": True}, note)],
            actor=actor,
        )
    return breach


# ---------------------------------------------------------------- clocks


def clocks_on_lead_event(*, lead: Lead, event: LeadEvent, now: datetime) -> None:
    """Start, meet or cancel the lead's clocks for what just happened to it."""
    from leads.models import LeadEvent

    kind = event.kind
    changes = event.changes or {}
    touched = kind == LeadEvent.Kind.ACTIVITY and bool(changes.get("first_touch"))
    updated = kind in (LeadEvent.Kind.UPDATED, LeadEvent.Kind.ACTIVITY)
    left_stage = kind == LeadEvent.Kind.TRANSITION and event.from_stage
    if left_stage or kind == LeadEvent.Kind.ACCEPTED or updated:
        settle_clocks(
            lead=lead,
            now=now,
            left_stage=event.from_stage if left_stage else "",
            rejected=changes.get("transition") == "reject",
            accepted=kind == LeadEvent.Kind.ACCEPTED,
            touched=touched,
            updated=updated,
        )
    if kind == LeadEvent.Kind.ASSIGNED:
        # A reassigned lead's running clocks follow the new owner.
        SlaClock.objects.open().filter(lead=lead).update(owner_id=lead.owner_id)
    if kind in (LeadEvent.Kind.CREATED, LeadEvent.Kind.TRANSITION) and event.to_stage:
        clocks_start(
            lead=lead,
            stage=event.to_stage,
            now=now,
            first_cycle=kind == LeadEvent.Kind.CREATED,
        )


def _policies_deadlines(stage: str, now: datetime) -> list[tuple[SlaPolicy, datetime, datetime]]:
    """Each active policy triggered by `stage`, with its at-risk and due instants from `now`
    (computed once here: a later policy edit never moves a running clock)."""
    policies = SlaPolicy.objects.filter(active=True, trigger_stage=stage).select_related("calendar")
    deadlines = []
    for policy in policies:
        schedule = policy.schedule()
        deadlines.append(
            (
                policy,
                add_business_time(now, policy.target * float(policy.at_risk_fraction), schedule),
                add_business_time(now, policy.target, schedule),
            )
        )
    return deadlines


def _started_changes(clock: SlaClock) -> dict[str, Any]:
    """What a clock's start says on the lead's timeline."""
    return {
        "policy": clock.policy.name,
        "state": ["", ClockState.RUNNING],
        "due_at": clock.due_at.isoformat(),
    }


def _insert_started_clocks(clocks: list[SlaClock], now: datetime) -> list[SlaClock]:
    SlaClock.objects.bulk_create(clocks)
    record_clock_events([(c.lead_id, now, _started_changes(c), "") for c in clocks])
    return clocks


def _new_clock(
    *,
    lead: Lead,
    policy: SlaPolicy,
    cycle: int,
    stage: str,
    now: datetime,
    at_risk_at: datetime,
    due_at: datetime,
) -> SlaClock:
    return SlaClock(
        lead=lead,
        policy=policy,
        cycle=cycle,
        goal=policy.goal,
        stage=stage,
        team=policy.accountable_team,
        owner_id=lead.owner_id,
        target=policy.target,
        started_at=now,
        at_risk_at=at_risk_at,
        due_at=due_at,
    )


def clocks_start(
    *, lead: Lead, stage: str, now: datetime, first_cycle: bool = False
) -> list[SlaClock]:
    """A new cycle of every active policy triggered by entering `stage`. A lead just created
    (`first_cycle`) has no earlier cycles to look up."""
    deadlines = _policies_deadlines(stage, now)
    if not deadlines:
        return []
    cycles = (
        {}
        if first_cycle
        else dict(
            SlaClock.objects.filter(lead=lead, policy__in=[d[0] for d in deadlines])
            .order_by()
            .values_list("policy_id")
            .annotate(last=Max("cycle"))
        )
    )
    clocks = [
        _new_clock(
            lead=lead,
            policy=policy,
            cycle=cycles.get(policy.pk, 0) + 1,
            stage=stage,
            now=now,
            at_risk_at=at_risk_at,
            due_at=due_at,
        )
        for policy, at_risk_at, due_at in deadlines
    ]
    return _insert_started_clocks(clocks, now)


def clocks_start_many(
    *, lead_ids: Sequence[int], owner_id: int | None, stage: str, now: datetime
) -> int:
    """clocks_start for many leads just created in `stage` with one owner (their first
    cycle): one query for the policies, then one set-based insert for the clocks and one for
    their timeline events, whatever the number of leads. Returns how many clocks started.

    All the leads share `now` and so each policy's deadlines: a policy's clock differs from
    lead to lead only by `lead_id`, and is written as one template row fanned out per id.
    """
    from leads.models import Lead, LeadEvent

    deadlines = _policies_deadlines(stage, now) if lead_ids else []
    if not deadlines:
        return 0
    holder = Lead(owner_id=owner_id)
    clocks = [
        _new_clock(
            lead=holder,
            policy=policy,
            cycle=1,
            stage=stage,
            now=now,
            at_risk_at=at_risk_at,
            due_at=due_at,
        )
        for policy, at_risk_at, due_at in deadlines
    ]
    started = insert_for_each(SlaClock, key="lead_id", ids=lead_ids, templates=clocks)
    # The same rows record_clock_events writes for a single start, lead by lead.
    events = [
        LeadEvent(kind=LeadEvent.Kind.CLOCK, changes=_started_changes(c), created_at=now)
        for c in clocks
    ]
    insert_for_each(LeadEvent, key="lead_id", ids=lead_ids, templates=events)
    return len(started)


def _goal_reached(
    clock: SlaClock,
    *,
    left_stage: str,
    rejected: bool,
    accepted: bool,
    touched: bool,
    updated: bool,
    met_by_update: bool,
) -> bool:
    if clock.goal == SlaGoal.ACCEPT:
        return accepted or (left_stage == clock.stage and rejected)
    if clock.goal == SlaGoal.FIRST_TOUCH:
        return touched
    return left_stage == clock.stage or (updated and met_by_update)


def settle_clocks(
    *,
    lead: Lead,
    now: datetime,
    left_stage: str,
    rejected: bool,
    accepted: bool,
    touched: bool,
    updated: bool,
) -> None:
    # Breached clocks still wait for their goal so that reports know how late it came.
    waiting = list(
        SlaClock.objects.select_for_update()
        .filter(
            lead=lead,
            state__in=[*OPEN_CLOCK_STATES, ClockState.BREACHED],
            met_at__isnull=True,
            cancelled_at__isnull=True,
        )
        .select_related("policy")
    )
    events = []
    new_breaches = []
    for clock in waiting:
        reached = _goal_reached(
            clock,
            left_stage=left_stage,
            rejected=rejected,
            accepted=accepted,
            touched=touched,
            updated=updated,
            met_by_update=clock.policy.met_by_update,
        )
        abandoned = not reached and left_stage == clock.stage
        if not (reached or abandoned):
            continue
        before = clock.state
        if reached:
            clock.met_at = now
        else:
            clock.cancelled_at = now
        if clock.state in OPEN_CLOCK_STATES:
            if now >= clock.due_at:
                clock.state = ClockState.BREACHED
                clock.breached_at = clock.due_at
                new_breaches.append(clock)
            else:
                clock.state = ClockState.MET if reached else ClockState.CANCELLED
        clock.save(update_fields=["state", "met_at", "cancelled_at", "breached_at"])
        detail = {"policy": clock.policy.name, "state": [before, clock.state]}
        if reached and before == ClockState.BREACHED:
            detail["goal_reached_late"] = True
        events.append((lead.pk, now, detail, ""))
    if new_breaches:
        breaches_record(new_breaches, now=now)
    if events:
        record_clock_events(events)


def breaches_record(clocks: list[SlaClock], *, now: datetime) -> None:
    """Breach rows for clocks just flagged breached; notifying them is a later claimed step."""
    from crm.outbox import outbox_drain_soon

    Breach.objects.bulk_create(
        [
            Breach(
                kind=Breach.Kind.CLOCK,
                clock=clock,
                policy_id=clock.policy_id,
                lead_id=clock.lead_id,
                team=clock.team,
                owner_id=clock.owner_id,
                breached_at=clock.due_at,
                summary=f"{clock.policy.name}: lead {clock.lead_id} missed its "
                f"{clock.get_goal_display().lower()} goal",
                created_at=now,
            )
            for clock in clocks
        ]
    )
    transaction.on_commit(_notify_breaches_soon)
    outbox_drain_soon()


def _notify_breaches_soon() -> None:
    from crm.outbox import send_hint
    from sla.tasks import notify_breaches

    send_hint(notify_breaches)


def record_clock_events(
    rows: list[tuple[int, datetime, dict[str, Any], str]], actor: User | None = None
) -> None:
    """Clock history on the lead's timeline, written directly (not through record_event,
    which would call back into the clocks)."""
    from leads.models import LeadEvent

    LeadEvent.objects.bulk_create(
        [
            LeadEvent(
                lead_id=lead_id,
                kind=LeadEvent.Kind.CLOCK,
                actor=actor,
                changes=changes,
                note=note[:500],
                created_at=at,
            )
            for lead_id, at, changes, note in rows
        ]
    )


def _get(model: type, value: Any, field: str, *, lock: bool = False) -> Any:
    if isinstance(value, model):
        if not lock:
            return value
        value = value.pk
    manager = model.objects.select_for_update() if lock else model.objects
    try:
        return manager.get(pk=int(value))
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise DomainError(
            f"Unknown {field} {value!r}.", code=ErrorCode.NOT_FOUND, field=field
        ) from exc


def _pad_hour(raw: str) -> str:
    """'9:00' reads as '09:00'."""
    return "0" + raw if raw[1:2] == ":" else raw
