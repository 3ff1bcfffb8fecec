"""The one domain error raised by every service; pages and the API translate it."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID = "invalid"  # bad input for a field
    MISSING_REQUIREMENT = "missing_requirement"  # a transition needs something not there
    ILLEGAL_TRANSITION = "illegal_transition"
    FORBIDDEN = "forbidden"  # the actor's role or team may not do this
    STALE = "stale"  # optimistic lock: the record changed since it was read
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"


class DomainError(Exception):
    """A refused change. `field` names the input at fault when there is one."""

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode = ErrorCode.INVALID,
        field: str | None = None,
        existing_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.existing_id = existing_id

    def __str__(self) -> str:
        return self.message
