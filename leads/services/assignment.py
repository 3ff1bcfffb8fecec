"""Who takes a handed-off lead: the rep named, or the next eligible one in the round robin.

The rotation's order lives here (active sales reps by id, after the cursor); who in it can
keep the accept promise (absences, capacity, working hours) is `sla.routing`'s rule, reached
through the clock hook.
"""

from __future__ import annotations

from datetime import datetime

from crm.errors import DomainError, ErrorCode
from crm.models import Role, User
from leads.lifecycle import Stage
from leads.models import AssignmentCursor
from sla.clocks import Routing, assignee_route


def _rotation(last_user_id: int | None) -> list[User]:
    """Active sales reps in rotation order: those after the cursor, then the rest."""
    reps = list(User.objects.filter(role=Role.SALES_REP, is_active=True).order_by("id"))
    after = [rep for rep in reps if rep.pk > (last_user_id or 0)]
    return after + [rep for rep in reps if rep.pk <= (last_user_id or 0)]


def _no_rep() -> DomainError:
    return DomainError(
        "No active sales rep can take this lead; assign one explicitly.",
        code=ErrorCode.MISSING_REQUIREMENT,
        field="assignee",
    )


def next_sales_rep(
    *,
    now: datetime,
    stage: str = Stage.QUALIFIED,
    exclude_id: int | None = None,
    eligible_only: bool = False,
) -> Routing:
    """The next eligible rep in the round robin, and why the ones before were passed over.
    The cursor row is locked while picking, so concurrent hand-offs take turns. With
    `eligible_only`, a fallback pick is returned without taking the turn (the caller keeps
    the lead where it is)."""
    cursor, _ = AssignmentCursor.objects.select_for_update().get_or_create(name="sales")
    routing = assignee_route(
        candidates=_rotation(cursor.last_user_id), stage=stage, now=now, exclude_id=exclude_id
    )
    if routing.chosen is None:
        if eligible_only:
            return routing
        raise _no_rep()
    if eligible_only and routing.fallback:
        return routing
    cursor.last_user = routing.chosen
    cursor.save(update_fields=["last_user"])
    return routing


def suggested_sales_rep(*, now: datetime) -> Routing:
    """What the round robin would pick for a hand-off now, without taking the turn: the
    hand-off form's suggestion."""
    cursor = AssignmentCursor.objects.filter(name="sales").first()
    return assignee_route(
        candidates=_rotation(cursor.last_user_id if cursor else None),
        stage=Stage.QUALIFIED,
        now=now,
    )


def resolve_assignee(assignee: User | int | None) -> User:
    """The named active sales rep."""
    if assignee is None or assignee == "":
        raise DomainError("Choose a sales rep.", field="assignee")
    if not isinstance(assignee, User):
        try:
            assignee = User.objects.get(pk=int(assignee))
        except (User.DoesNotExist, ValueError, TypeError) as exc:
            raise DomainError(f"Unknown assignee {assignee!r}.", field="assignee") from exc
    if assignee.role != Role.SALES_REP or not assignee.is_active:
        raise DomainError(f"{assignee.display_name} is not an active sales rep.", field="assignee")
    return assignee
