"""Who takes a handed-off lead: the rep named, or the next one in the round robin."""

from __future__ import annotations

from crm.errors import DomainError, ErrorCode
from crm.models import Role, User
from leads.models import AssignmentCursor


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


def resolve_assignee(assignee: User | int | None) -> User:
    """The named active sales rep, or the next in the rotation when none is named."""
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
