"""A person's saved lead lists: a name for the list's filters and order.

A saved view belongs to one person and changes no lead, so it keeps no lead history; only
its owner may save or delete it.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import User
from leads.models import SavedView, field_max_length

MAX_VIEWS = 20
MAX_NAME = field_max_length(SavedView, "name")
MAX_QUERY = field_max_length(SavedView, "query")
# The list's parameters a view keeps; the page position (after, before) is not one of them.
KEPT_PARAMS = frozenset(
    {
        "q",
        "stage",
        "owner",
        "team",
        "campaign",
        "persona",
        "sla_state",
        "open",
        "accepted",
        "created_after",
        "created_before",
        "view",
        "ordering",
    }
)


def clean_query(query: str) -> str:
    """The list's query string with only the parameters a view keeps, empty ones dropped."""
    pairs = [(k, v) for k, v in parse_qsl(query or "", keep_blank_values=False) if k in KEPT_PARAMS]
    cleaned = urlencode(pairs)
    if len(cleaned) > MAX_QUERY:
        raise DomainError("These filters are too long to save as a view.", field="query")
    return cleaned


@transaction.atomic
def saved_view_create(
    *, actor: User, name: str, query: str, now: datetime | None = None
) -> SavedView:
    """Save the list as `actor` sees it under a name of their own."""
    if not actor.is_active:
        raise DomainError("Only an active user saves views.", code=ErrorCode.FORBIDDEN)
    if not isinstance(name, str) or not name.strip():
        raise DomainError("Give the view a name.", field="name")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise DomainError(f"name is too long (at most {MAX_NAME} characters).", field="name")
    if SavedView.objects.filter(user=actor).count() >= MAX_VIEWS:
        raise DomainError(
            f"You have {MAX_VIEWS} saved views already; delete one first.", field="name"
        )
    try:
        with transaction.atomic():
            return SavedView.objects.create(
                user=actor, name=name, query=clean_query(query), created_at=now or timezone.now()
            )
    except IntegrityError as exc:
        raise DomainError(f"You already have a view named {name!r}.", field="name") from exc


@transaction.atomic
def saved_view_delete(*, actor: User, view_id: int) -> None:
    """Delete one of the actor's views; another person's view is not found for them."""
    deleted, _ = SavedView.objects.filter(user=actor, pk=view_id).delete()
    if not deleted:
        raise DomainError("No such saved view.", code=ErrorCode.NOT_FOUND)
