"""API keys: create (the secret is returned once), authenticate by digest, revoke.

A key looks like `hk_<prefix>_<secret>`. The prefix is stored in clear to find the row and
to show in lists; the whole key is stored only as a SHA-256 digest. A slow password hash is
not needed: the secret has 256 bits of entropy, so a digest cannot be brute-forced.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from crm import rows
from crm.errors import DomainError, ErrorCode
from crm.models import ApiKey, ApiScope, Role, User
from crm.rights import scopes_role_can_hold
from crm.services import user_create

KEY_PREFIX = "hk"
# last_used_at is refreshed at most this often, so a busy key is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8", "surrogateescape")).hexdigest()


def clean_scopes(scopes: list[str] | tuple[str, ...] | str) -> list[str]:
    if isinstance(scopes, str):
        scopes = [s for s in scopes.replace(",", " ").split() if s]
    unknown = sorted(set(scopes) - set(ApiScope.values))
    if unknown:
        raise DomainError(
            f"Unknown scope {unknown[0]!r}; expected {', '.join(ApiScope.values)}.",
            field="scopes",
        )
    if not scopes:
        raise DomainError("A key needs at least one scope.", field="scopes")
    return sorted(set(scopes))


def require_scopes_within_role(*, scopes: list[str], user: User | None) -> None:
    """A key never exceeds its user's role (`user` None: a new integration account)."""
    role = user.role if user is not None else Role.INTEGRATION
    beyond = sorted(set(scopes) - scopes_role_can_hold(role))
    if beyond:
        raise DomainError(
            f"Keys of the {Role(role).label.lower()} role cannot hold the {beyond[0]} scope: "
            "that role has no right behind it.",
            field="scopes",
        )


def _integration_user(name: str) -> User:
    base = f"integration-{slugify(name)[:40] or 'key'}"
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    return user_create(username=username, role=Role.INTEGRATION, first_name=name[:150])


@transaction.atomic
def api_key_create(
    *,
    actor: User | None,
    name: str,
    scopes: list[str] | tuple[str, ...] | str,
    user: User | None = None,
    now: datetime | None = None,
) -> IssuedKey:
    """Issue a key acting as `user`, or as a new integration account named after the key."""
    now = now or timezone.now()
    if actor is not None and not actor.is_manager and not actor.is_superuser:
        raise DomainError("Only managers create API keys.", code=ErrorCode.FORBIDDEN)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError("name is required (at most 100 characters).", field="name")
    cleaned = clean_scopes(scopes)
    require_scopes_within_role(scopes=cleaned, user=user)
    if user is None:
        user = _integration_user(name)
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=hash_key(raw_key),
        user=user,
        scopes=cleaned,
        created_at=now,
        created_by=actor,
    )
    return IssuedKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User | None, now: datetime | None = None) -> ApiKey:
    now = now or timezone.now()
    if actor is not None and not actor.is_manager and not actor.is_superuser:
        raise DomainError("Only managers revoke API keys.", code=ErrorCode.FORBIDDEN)
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


# The key and its user in one round trip; the prefix is unique, so no ordering to add.
_KEY_WITH_USER = (
    f"SELECT {rows.select_list(ApiKey, 'k')}, {rows.select_list(User, 'u')} "
    f"FROM {ApiKey._meta.db_table} AS k JOIN {User._meta.db_table} AS u ON u.id = k.user_id "
    "WHERE k.prefix = %s AND k.revoked_at IS NULL"
)


def api_key_lookup(raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key` with its user, or None; compares digests in constant
    time.

    Read on every API request, so written as one plain SELECT of both rows, prepared once
    per database session: the ORM's select_related query cost more to compile than to run,
    and the server's planning more than the lookup (the single-lead ingest row of the
    bench). Nothing is cached: a revoked key or a disabled user is refused on the next
    request.
    """
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not (0 < len(parts[1]) <= 16):
        return None
    found = rows.pairs(_KEY_WITH_USER, [parts[1]], ApiKey, User)
    if not found:
        return None
    api_key, user = found[0]
    if not hmac.compare_digest(api_key.key_hash, hash_key(raw_key)):
        return None
    api_key.user = user
    return api_key


def api_key_touch(*, api_key: ApiKey, now: datetime) -> None:
    """Record use, coarsely: one UPDATE per key per LAST_USED_RESOLUTION at most."""
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
