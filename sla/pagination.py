"""Keyset pages over breaches, newest first, by (breached_at, id): no OFFSET, no COUNT(*)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from sla.models import Breach

PAGE_SIZE = 25


@dataclass(frozen=True)
class BreachPage:
    breaches: list[Breach]
    next_cursor: str | None


def encode_cursor(breach: Breach) -> str:
    raw = f"{breach.breached_at.isoformat()}|{breach.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """A malformed cursor means "first page", never an error page."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None or not pk.isdigit() or len(pk) > 11:
            return None
        return at, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def breach_page(
    queryset: QuerySet[Breach], *, after: str = "", size: int = PAGE_SIZE
) -> BreachPage:
    """The page of breaches older than the cursor `after` (the first page without one)."""
    rows = queryset.order_by("-breached_at", "-id")
    position = decode_cursor(after) if after else None
    if position is not None:
        at, pk = position
        rows = rows.filter(Q(breached_at__lt=at) | Q(breached_at=at, id__lt=pk))
    fetched = list(rows[: size + 1])
    breaches = fetched[:size]
    return BreachPage(
        breaches=breaches,
        next_cursor=encode_cursor(breaches[-1]) if len(fetched) > size else None,
    )
