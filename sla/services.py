"""SLA configuration writes: calendars, policies, commitments, webhook endpoints, and a
manager's acknowledgement of a breach. Each refuses non-managers and bad input with a
DomainError naming the field. The clocks themselves live in `sla.clocks`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import Role, Team, User
from crm.rights import can_acknowledge_breaches
from leads.lifecycle import Stage
from sla.business_time import ScheduleError, is_place_zone
from sla.clocks import record_clock_events
from sla.models import (
    WEEKDAYS,
    Breach,
    BusinessCalendar,
    Commitment,
    CommitmentEvent,
    CommitmentPeriodKind,
    SlaGoal,
    SlaPolicy,
    WebhookEndpoint,
    WebhookFormat,
    parse_clock_time,
)
from sla.public_holidays import clean_region, public_holidays
from sla.webhook_targets import webhook_url_problem

MAX_TARGET = timedelta(days=366)
MAX_COMMITMENT_TARGET = 1_000_000  # PositiveIntegerField holds more; no team hands over more
WEBHOOK_EVENT_TYPES = ("breach.created", "clock.at_risk", "commitment.missed", "review.digest")


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
    if not is_place_zone(calendar.timezone):
        raise DomainError(
            f"Unknown time zone {calendar.timezone!r}: use an IANA name such as Europe/London.",
            field="timezone",
        )
    try:
        calendar.schedule().validate()
    except ScheduleError as exc:
        raise DomainError(f"Working hours: {exc}.", field="weekly_hours") from exc


CALENDAR_FIELDS = {
    "name",
    "timezone",
    "weekly_hours",
    "holidays",
    "holiday_country",
    "holiday_subdivision",
}


def _set_holiday_region(
    calendar: BusinessCalendar, country: str, subdivision: str, *, now: datetime
) -> None:
    country, subdivision = clean_region(country, subdivision)
    calendar.holiday_country = country
    calendar.holiday_subdivision = subdivision
    calendar.public_holidays = public_holidays(
        country, subdivision, today=_local_today(calendar, now)
    )


def _local_today(calendar: BusinessCalendar, now: datetime) -> date:
    return now.astimezone(ZoneInfo(calendar.timezone)).date()


def calendars_refresh_public_holidays(*, now: datetime | None = None) -> int:
    """Beat, daily: each calendar with a region gets its public holidays through the year
    after next (a new year adds one); returns how many calendars changed."""
    now = now or timezone.now()
    changed = 0
    for calendar in BusinessCalendar.objects.exclude(holiday_country=""):
        with transaction.atomic():
            calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
            days = public_holidays(
                calendar.holiday_country,
                calendar.holiday_subdivision,
                today=_local_today(calendar, now),
            )
            if days != calendar.public_holidays:
                calendar.public_holidays = days
                calendar.updated_at = now
                calendar.save(update_fields=["public_holidays", "updated_at"])
                changed += 1
    return changed


@transaction.atomic
def calendar_create(
    *,
    actor: User,
    name: str,
    timezone_name: str,
    weekly_hours: Any,
    holidays: Any = None,
    holiday_country: str = "",
    holiday_subdivision: str = "",
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
    _set_holiday_region(calendar, holiday_country, holiday_subdivision, now=now)
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
    unknown = sorted(set(fields) - CALENDAR_FIELDS)
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
    if {"holiday_country", "holiday_subdivision"} & set(fields):
        _set_holiday_region(
            calendar,
            fields.get("holiday_country", calendar.holiday_country),
            fields.get("holiday_subdivision", calendar.holiday_subdivision),
            now=now,
        )
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
        "reassign_at_risk",
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
        elif name in {"notify_owner", "met_by_update", "reassign_at_risk", "active"}:
            value = bool(value)
        if name == "escalate_to":
            escalate = [_get(User, user, "escalate_to") for user in value or []]
            continue
        setattr(policy, name, value)
    if policy.met_by_update and policy.goal != SlaGoal.EXIT_STAGE:
        raise DomainError(
            "Only an exit_stage policy can be met by an update.", field="met_by_update"
        )
    if policy.reassign_at_risk and policy.goal != SlaGoal.ACCEPT:
        raise DomainError(
            "Only an accept policy can move an unaccepted lead on at the at-risk mark.",
            field="reassign_at_risk",
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
    expected_updated_at: datetime | None = None,
) -> SlaPolicy:
    """Edit a policy. Clocks already started keep their target and due time (history stays).
    `expected_updated_at`, when given, is the edit the editor saw: a later one refuses this."""
    now = now or timezone.now()
    _require_manager(actor, "edit SLA policies")
    policy = _get(SlaPolicy, policy, "policy", lock=True)
    if expected_updated_at is not None and expected_updated_at != policy.updated_at:
        raise DomainError(
            "Someone changed this policy since you opened it; reload and edit again.",
            code=ErrorCode.STALE,
            field="updated_at",
        )
    escalate = _apply_policy_fields(policy, fields)
    policy.updated_at = now
    policy.save()
    if escalate is not None:
        policy.escalate_to.set(escalate)
    return policy


# ---------------------------------------------------------------- commitments and webhooks


COMMITMENT_FIELDS = (
    "name",
    "period",
    "target_qualified",
    "min_acceptance_rate",
    "timezone",
    "starts_on",
    "active",
)


def _clean_commitment(values: dict[str, Any], *, exclude_pk: int | None = None) -> dict[str, Any]:
    """The rules of a commitment, one place for creating and editing it."""
    period = values["period"]
    if period not in CommitmentPeriodKind.values:
        raise DomainError(f"period must be week or month, got {period!r}.", field="period")
    target = values["target_qualified"]
    if isinstance(target, bool) or not isinstance(target, int) or target <= 0:
        raise DomainError(
            "target_qualified must be a whole number above zero.", field="target_qualified"
        )
    if target > MAX_COMMITMENT_TARGET:
        raise DomainError(
            f"target_qualified must be at most {MAX_COMMITMENT_TARGET}.", field="target_qualified"
        )
    zone = values["timezone"].strip() if isinstance(values["timezone"], str) else ""
    if not is_place_zone(zone):
        raise DomainError(f"Unknown time zone {values['timezone']!r}.", field="timezone")
    rate = values["min_acceptance_rate"]
    if rate not in (None, ""):
        rate = clean_fraction(rate, "min_acceptance_rate", allow_one=True)
    return {
        "name": clean_name(Commitment, values["name"], exclude_pk=exclude_pk),
        "period": period,
        "target_qualified": target,
        "min_acceptance_rate": None if rate in (None, "") else rate,
        "timezone": zone,
        "starts_on": clean_date(values["starts_on"], "starts_on"),
        "active": bool(values["active"]),
    }


def _commitment_text(value: Any) -> Any:
    return (
        value.isoformat() if isinstance(value, date) else str(value) if value is not None else None
    )


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
    values = _clean_commitment(
        {
            "name": name,
            "period": period,
            "target_qualified": target_qualified,
            "min_acceptance_rate": min_acceptance_rate,
            "timezone": timezone_name,
            "starts_on": starts_on,
            "active": True,
        }
    )
    commitment = Commitment.objects.create(team=team, created_at=now, **values)
    CommitmentEvent.objects.create(
        commitment=commitment,
        kind=CommitmentEvent.Kind.CREATED,
        actor=actor,
        changes={key: _commitment_text(value) for key, value in values.items()},
        created_at=now,
    )
    return commitment


@transaction.atomic
def commitment_update(
    *,
    actor: User,
    commitment: Commitment | int,
    fields: dict[str, Any],
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Commitment:
    """Edit a commitment with the rules it was written under. Periods already evaluated keep
    their results; the change counts from the running period on. `expected_version`, when
    given, is the version the editor saw: a later edit by someone else refuses this one."""
    now = now or timezone.now()
    _require_manager(actor, "edit commitments")
    commitment = _get(Commitment, commitment, "commitment", lock=True)
    if expected_version is not None and expected_version != commitment.version:
        raise DomainError(
            "Someone changed this commitment since you opened it; reload and edit again.",
            code=ErrorCode.STALE,
            field="version",
        )
    unknown = sorted(set(fields) - set(COMMITMENT_FIELDS))
    if unknown:
        raise DomainError(f"{unknown[0]} cannot be set on a commitment.", field=unknown[0])
    current = {name: getattr(commitment, name) for name in COMMITMENT_FIELDS}
    values = _clean_commitment(current | fields, exclude_pk=commitment.pk)
    changes = {
        name: [_commitment_text(current[name]), _commitment_text(value)]
        for name, value in values.items()
        if current[name] != value
    }
    if not changes:
        return commitment
    for name, value in values.items():
        setattr(commitment, name, value)
    commitment.version += 1
    commitment.save(update_fields=[*COMMITMENT_FIELDS, "version"])
    CommitmentEvent.objects.create(
        commitment=commitment,
        kind=CommitmentEvent.Kind.UPDATED,
        actor=actor,
        changes=changes,
        created_at=now,
    )
    return commitment


def _check_standard_secret(secret: str) -> None:
    """Standard Webhooks secrets are `whsec_` and base64 of 24 to 64 random bytes."""
    message = (
        "A Standard Webhooks secret is whsec_ followed by base64 of 24 to 64 random bytes, "
        "e.g. from: python -c \"import base64,os;print('whsec_'+base64.b64encode(os.urandom(32))"
        '.decode())"'
    )
    if not (secret or "").startswith("whsec_"):
        raise DomainError(message, field="secret")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DomainError(message, field="secret") from exc
    if not 24 <= len(key) <= 64:
        raise DomainError(message, field="secret")


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
    problem = webhook_url_problem(url)
    if problem:
        raise DomainError(problem, field="url")
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
    if format == WebhookFormat.STANDARD:
        _check_standard_secret(secret)
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
    if not can_acknowledge_breaches(actor):
        raise DomainError("Only managers may acknowledge breaches.", code=ErrorCode.FORBIDDEN)
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
