"""Keyset pages over leads, newest first, by (created_at, id).

No COUNT(*) and no OFFSET: a page costs the same on the first page of ten leads and on
page ten thousand of a million, using the (stage, -created_at) and primary-key indexes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from leads.models import Lead

PAGE_SIZE = 25


@dataclass(frozen=True)
class LeadPage:
    leads: list[Lead]
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(lead: Lead) -> str:
    raw = f"{lead.created_at.isoformat()}|{lead.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """A malformed cursor means "first page", never an error page."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None:
            return None
        return moment, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def lead_page(
    queryset: QuerySet[Lead], *, after: str = "", before: str = "", size: int = PAGE_SIZE
) -> LeadPage:
    """The page after `after` (older leads) or before `before` (newer leads)."""
    newer = decode_cursor(before) if before else None
    older = decode_cursor(after) if after and newer is None else None
    if newer is not None:
        created, pk = newer
        rows = list(
            queryset.filter(Q(created_at__gt=created) | Q(created_at=created, id__gt=pk)).order_by(
                "created_at", "id"
            )[: size + 1]
        )
        has_more_newer = len(rows) > size
        leads = list(reversed(rows[:size]))
        return LeadPage(
            leads=leads,
            next_cursor=encode_cursor(leads[-1]) if leads else None,
            previous_cursor=encode_cursor(leads[0]) if has_more_newer and leads else None,
        )
    base = queryset.order_by("-created_at", "-id")
    if older is not None:
        created, pk = older
        base = base.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk))
    rows = list(base[: size + 1])
    leads = rows[:size]
    return LeadPage(
        leads=leads,
        next_cursor=encode_cursor(leads[-1]) if len(rows) > size else None,
        previous_cursor=encode_cursor(leads[0]) if older is not None and leads else None,
    )
