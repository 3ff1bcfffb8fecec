"""Sales reps' availability: out-of-office periods, an own working calendar, a capacity.

Writes only; `sla.routing` reads them when it picks who takes a lead. A rep records their own
absences, a manager anyone's; calendar and capacity are a manager's to set. An absence is
cancelled, never deleted, so the record of who was away stays.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import Role, User
from sla.models import Absence, BusinessCalendar, RepAvailability
from sla.services import clean_date

MAX_ABSENCE_DAYS = 366
MAX_CAPACITY = 1000
MAX_NOTE = Absence._meta.get_field("note").max_length


def can_set_absence(actor: User, rep: User) -> bool:
    """A rep sets their own absences; a manager sets anyone's."""
    return actor.is_active and (actor.role == Role.MANAGER or actor.pk == rep.pk)


def working_zone(rep: User, availability: RepAvailability | None) -> str:
    """The zone a rep's days are counted in: their own calendar's, else their own, else the
    team's (settings.TIME_ZONE)."""
    if availability is not None and availability.calendar is not None:
        return availability.calendar.timezone
    return rep.time_zone or settings.TIME_ZONE


def _sales_rep(value: User | int | None, field: str = "user") -> User:
    try:
        rep = value if isinstance(value, User) else User.objects.get(pk=int(value))  # type: ignore[arg-type]
    except (User.DoesNotExist, ValueError, TypeError) as exc:
        raise DomainError(f"Unknown sales rep {value!r}.", field=field) from exc
    if rep.role != Role.SALES_REP:
        raise DomainError(f"{rep.display_name} is not a sales rep.", field=field)
    return rep


@transaction.atomic
def absence_add(
    *,
    actor: User,
    rep: User | int,
    first_day: date | str,
    last_day: date | str,
    note: str = "",
    now: datetime | None = None,
) -> Absence:
    """Out of office from the start of `first_day` to the end of `last_day`, whole days in the
    rep's working zone."""
    now = now or timezone.now()
    rep = _sales_rep(rep)
    if not can_set_absence(actor, rep):
        raise DomainError(
            "Sales reps set their own absences; a manager sets anyone's.",
            code=ErrorCode.FORBIDDEN,
        )
    first, last = clean_date(first_day, "first_day"), clean_date(last_day, "last_day")
    if last < first:
        raise DomainError("The last day away is before the first.", field="last_day")
    if (last - first).days >= MAX_ABSENCE_DAYS:
        raise DomainError(
            f"An absence lasts at most {MAX_ABSENCE_DAYS} days; add another after it.",
            field="last_day",
        )
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DomainError(f"note is too long (at most {MAX_NOTE} characters).", field="note")
    zone = ZoneInfo(working_zone(rep, RepAvailability.objects.filter(user=rep).first()))
    starts_at = datetime.combine(first, time(0), tzinfo=zone)
    ends_at = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    if ends_at <= now:
        raise DomainError("That absence is already over.", field="last_day")
    # Lock the rep's row: two overlapping absences added at once cannot both pass the check.
    User.objects.select_for_update().filter(pk=rep.pk).first()
    clash = Absence.objects.overlapping(starts_at, ends_at).filter(user=rep).first()
    if clash is not None:
        raise DomainError(
            f"{rep.display_name} is already away from {clash.starts_at.astimezone(zone):%d %b} "
            f"to {(clash.ends_at.astimezone(zone) - timedelta(days=1)):%d %b %Y}.",
            code=ErrorCode.DUPLICATE,
            field="first_day",
        )
    return Absence.objects.create(
        user=rep, starts_at=starts_at, ends_at=ends_at, note=note, created_at=now, created_by=actor
    )


@transaction.atomic
def absence_cancel(*, actor: User, absence: Absence | int, now: datetime | None = None) -> Absence:
    """The absence no longer applies (the rep came back early, or it was entered by mistake)."""
    now = now or timezone.now()
    pk = absence.pk if isinstance(absence, Absence) else absence
    try:
        absence = Absence.objects.select_for_update().select_related("user").get(pk=int(pk))
    except (Absence.DoesNotExist, ValueError, TypeError) as exc:
        raise DomainError(
            f"Unknown absence {pk!r}.", code=ErrorCode.NOT_FOUND, field="absence"
        ) from exc
    if not can_set_absence(actor, absence.user):
        raise DomainError(
            "Sales reps cancel their own absences; a manager cancels anyone's.",
            code=ErrorCode.FORBIDDEN,
        )
    if absence.cancelled_at is not None:
        raise DomainError("That absence was already cancelled.", code=ErrorCode.ILLEGAL_TRANSITION)
    absence.cancelled_at, absence.cancelled_by = now, actor
    absence.save(update_fields=["cancelled_at", "cancelled_by"])
    return absence


@transaction.atomic
def availability_set(
    *,
    actor: User,
    rep: User | int,
    calendar: BusinessCalendar | int | None,
    capacity: int | None,
    now: datetime | None = None,
) -> RepAvailability:
    """A manager sets a rep's own working calendar (none: the team's) and capacity (none: no
    limit)."""
    now = now or timezone.now()
    if not (actor.is_active and actor.role == Role.MANAGER):
        raise DomainError("Only managers set working hours and capacity.", code=ErrorCode.FORBIDDEN)
    rep = _sales_rep(rep)
    if calendar not in (None, "") and not isinstance(calendar, BusinessCalendar):
        try:
            calendar = BusinessCalendar.objects.get(pk=int(calendar))  # type: ignore[arg-type]
        except (BusinessCalendar.DoesNotExist, ValueError, TypeError) as exc:
            raise DomainError(f"Unknown calendar {calendar!r}.", field="calendar") from exc
    if capacity in ("", None):
        capacity = None
    else:
        try:
            capacity = int(capacity)  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            raise DomainError("capacity must be a whole number.", field="capacity") from exc
        if not 1 <= capacity <= MAX_CAPACITY:
            raise DomainError(
                f"capacity must be between 1 and {MAX_CAPACITY}, or empty for no limit.",
                field="capacity",
            )
    availability, _ = RepAvailability.objects.select_for_update().update_or_create(
        user=rep,
        defaults={
            "calendar": calendar or None,
            "capacity": capacity,
            "updated_at": now,
            "updated_by": actor,
        },
    )
    return availability
