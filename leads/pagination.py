"""Keyset pages over leads, by one sort column plus id (newest first unless told otherwise).

No COUNT(*) and no OFFSET: a page costs the same on the first page of ten leads and on
page ten thousand of a million when an index serves the sort ((-created_at, -id) for the
default). The cursor carries the last row's sort value and id.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet

from leads.models import Lead

PAGE_SIZE = 25


@dataclass(frozen=True)
class Sort:
    """A list order: one column (never null), its direction, and what its values are."""

    label: str
    field: str
    descending: bool
    is_time: bool = False  # the column holds datetimes (the cursor stores them as ISO text)

    def order_by(self, *, reverse: bool = False) -> tuple[Any, ...]:
        down = self.descending != reverse
        return tuple(F(name).desc() if down else F(name).asc() for name in (self.field, "id"))

    def beyond(self, value: Any, pk: int, *, reverse: bool = False) -> Q:
        """Rows after (value, pk) in this order, or before them with `reverse`."""
        down = self.descending != reverse
        op = "lt" if down else "gt"
        return Q(**{f"{self.field}__{op}": value}) | Q(**{self.field: value, f"id__{op}": pk})


@dataclass(frozen=True)
class LeadPage:
    leads: list[Lead]
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(lead: Lead, sort: Sort) -> str:
    value = getattr(lead, sort.field)
    raw = json.dumps([value.isoformat() if sort.is_time else value, lead.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, int] | None:
    """A malformed cursor means "first page", never an error page."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(pk, int) or isinstance(pk, bool) or not isinstance(value, str):
            return None
        if sort.is_time:
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                return None
        return value, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


NEWEST = Sort("Newest first", "created_at", descending=True, is_time=True)


def lead_page(
    queryset: QuerySet[Lead],
    *,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
    sort: Sort = NEWEST,
) -> LeadPage:
    """The page after `after` (further down the order) or before `before` (back up)."""
    back = decode_cursor(before, sort) if before else None
    forth = decode_cursor(after, sort) if after and back is None else None
    if back is not None:
        rows = list(
            queryset.filter(sort.beyond(*back, reverse=True)).order_by(
                *sort.order_by(reverse=True)
            )[: size + 1]
        )
        has_more_before = len(rows) > size
        leads = list(reversed(rows[:size]))
        return LeadPage(
            leads=leads,
            next_cursor=encode_cursor(leads[-1], sort) if leads else None,
            previous_cursor=encode_cursor(leads[0], sort) if has_more_before and leads else None,
        )
    base = queryset.order_by(*sort.order_by())
    if forth is not None:
        base = base.filter(sort.beyond(*forth))
    rows = list(base[: size + 1])
    leads = rows[:size]
    return LeadPage(
        leads=leads,
        next_cursor=encode_cursor(leads[-1], sort) if len(rows) > size else None,
        previous_cursor=encode_cursor(leads[0], sort) if forth is not None and leads else None,
    )
