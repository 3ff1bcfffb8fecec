"""Who takes a lead: the next rep in the rotation who can keep the accept promise.

A rep is eligible when they are not out of office now, have fewer leads waiting for their
acceptance than their capacity, and, when an accept policy starts a clock on the stage, have
enough working time (their own calendar, else the team's: the policy's) before its due time,
absences taken off. The candidates come in rotation order; the first eligible one is chosen
and every rep passed over is recorded with why. When nobody is eligible the lead goes to the
rep whose next working window starts first (rotation order breaks ties), and says so.

Cost is O(reps) per pick and a fixed number of queries whatever the number of leads or reps:
one for the accept policies, one for availabilities with their calendars, one for absences
not over, one count of waiting leads grouped by rep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from crm.models import User
from leads.models import Lead
from sla.business_time import WorkingSchedule, add_business_time, business_time_between, is_open_at
from sla.models import Absence, RepAvailability, SlaGoal, SlaPolicy

# A rep needs at least this much working time before the accept is due to be given the lead
# (or the whole target, when the promise is shorter): time to read it, call, and answer.
ENOUGH_TIME = timedelta(minutes=30)
# How far ahead the fallback looks for someone's next working window.
HORIZON = timedelta(days=60)


class SkipReason:
    AWAY = "away"
    CAPACITY = "capacity"
    HOURS = "hours"


@dataclass(frozen=True)
class Skip:
    rep_id: int
    name: str
    why: str
    until: datetime | None = None  # away: back at
    waiting: int | None = None  # capacity: leads waiting, of `capacity`
    capacity: int | None = None
    working: timedelta | None = None  # hours: working time left before the due time

    def as_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"id": self.rep_id, "name": self.name, "why": self.why}
        if self.until is not None:
            row["until"] = self.until.isoformat()
        if self.capacity is not None:
            row["waiting"], row["capacity"] = self.waiting, self.capacity
        if self.working is not None:
            row["working_minutes"] = int(self.working.total_seconds() // 60)
        return row


@dataclass
class Routing:
    """A pick and its reasons, as the lead's history records them (`as_json`)."""

    chosen: User | None
    skipped: list[Skip] = field(default_factory=list)
    fallback: bool = False
    due_at: datetime | None = None
    starts_at: datetime | None = None  # fallback: the chosen rep's next working window

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "chosen": {"id": self.chosen.pk, "name": self.chosen.display_name}
            if self.chosen
            else None,
            "skipped": [skip.as_json() for skip in self.skipped],
            "fallback": self.fallback,
        }
        if self.due_at is not None:
            data["due_at"] = self.due_at.isoformat()
        if self.fallback and self.starts_at is not None:
            data["starts_at"] = self.starts_at.isoformat()
        return data


@dataclass(frozen=True)
class _Promise:
    due_at: datetime | None
    needed: timedelta
    schedule: WorkingSchedule


def _accept_promise(stage: str, now: datetime) -> _Promise:
    """The earliest accept due time of the active policies started by entering `stage`,
    and the team's working schedule it runs on."""
    policies = SlaPolicy.objects.filter(
        active=True, trigger_stage=stage, goal=SlaGoal.ACCEPT
    ).select_related("calendar")
    best: _Promise | None = None
    for policy in policies:
        schedule = policy.schedule()
        due = add_business_time(now, policy.target, schedule)
        if best is None or (best.due_at is not None and due < best.due_at):
            best = _Promise(due, min(ENOUGH_TIME, policy.target), schedule)
    return best or _Promise(None, ENOUGH_TIME, WorkingSchedule.always_open(settings.TIME_ZONE))


def _free_spans(
    start: datetime, end: datetime, away: Sequence[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """[start, end) with the absences cut out (absences sorted by start)."""
    spans, cursor = [], start
    for a_start, a_end in away:
        if a_end <= cursor or a_start >= end:
            continue
        if a_start > cursor:
            spans.append((cursor, a_start))
        cursor = max(cursor, a_end)
    if cursor < end:
        spans.append((cursor, end))
    return spans


def _back_at(now: datetime, away: Sequence[tuple[datetime, datetime]]) -> datetime | None:
    """When an absence covering `now` ends (following absences that chain on), else None."""
    back = None
    for a_start, a_end in away:
        if a_start <= (back or now) < a_end:
            back = a_end
    return back


def _next_working(
    now: datetime, schedule: WorkingSchedule, away: Sequence[tuple[datetime, datetime]]
) -> datetime | None:
    """The first instant from `now` when the rep is at work and not away."""
    moment = now
    limit = now + HORIZON
    while moment < limit:
        moment = _back_at(moment, away) or moment
        if not is_open_at(moment, schedule):
            # The first working instant after `moment`: a tick of work, less the tick.
            moment = add_business_time(moment, timedelta(microseconds=1), schedule) - timedelta(
                microseconds=1
            )
        if _back_at(moment, away) is None:
            return moment
    return None


def route(
    *, candidates: Sequence[User], stage: str, now: datetime, exclude_id: int | None = None
) -> Routing:
    """Pick among `candidates` (active sales reps, in rotation order) for a lead entering
    `stage` at `now`; `exclude_id` (the rep a lead moves on from) is never picked."""
    reps = [rep for rep in candidates if rep.pk != exclude_id]
    if not reps:
        return Routing(chosen=None)
    promise = _accept_promise(stage, now)
    ids = [rep.pk for rep in reps]
    own = {
        a.user_id: a
        for a in RepAvailability.objects.filter(user_id__in=ids).select_related("calendar")
    }
    horizon_end = max(promise.due_at or now, now) + HORIZON
    away: dict[int, list[tuple[datetime, datetime]]] = {}
    for absence in (
        Absence.objects.overlapping(now, horizon_end).filter(user_id__in=ids).order_by("starts_at")
    ):
        away.setdefault(absence.user_id, []).append((absence.starts_at, absence.ends_at))
    waiting = Lead.objects.waiting_by_owner(ids)
    skipped: list[Skip] = []
    schedules: dict[int, WorkingSchedule] = {}
    for rep in reps:
        mine = own.get(rep.pk)
        schedule = mine.calendar.schedule() if mine and mine.calendar else promise.schedule
        schedules[rep.pk] = schedule
        rep_away = away.get(rep.pk, [])
        back = _back_at(now, rep_away)
        if back is not None:
            skipped.append(Skip(rep.pk, rep.display_name, SkipReason.AWAY, until=back))
            continue
        if mine and mine.capacity is not None and waiting.get(rep.pk, 0) >= mine.capacity:
            skipped.append(
                Skip(
                    rep.pk,
                    rep.display_name,
                    SkipReason.CAPACITY,
                    waiting=waiting.get(rep.pk, 0),
                    capacity=mine.capacity,
                )
            )
            continue
        if promise.due_at is not None:
            working = sum(
                (
                    business_time_between(a, b, schedule)
                    for a, b in _free_spans(now, promise.due_at, rep_away)
                ),
                timedelta(),
            )
            if working < promise.needed:
                skipped.append(
                    Skip(
                        rep.pk,
                        rep.display_name,
                        SkipReason.HOURS,
                        working=working,
                    )
                )
                continue
        return Routing(chosen=rep, skipped=skipped, due_at=promise.due_at)
    # Nobody can keep the promise: the rep back at work first takes it.
    starts = {rep.pk: _next_working(now, schedules[rep.pk], away.get(rep.pk, [])) for rep in reps}
    order = {rep.pk: position for position, rep in enumerate(reps)}
    reachable = [rep for rep in reps if starts[rep.pk] is not None]
    chosen = min(reachable or reps, key=lambda r: (starts[r.pk] or horizon_end, order[r.pk]))
    return Routing(
        chosen=chosen,
        skipped=[skip for skip in skipped if skip.rep_id != chosen.pk],
        fallback=True,
        due_at=promise.due_at,
        starts_at=starts[chosen.pk],
    )
