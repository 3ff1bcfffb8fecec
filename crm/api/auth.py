"""Who is calling the API and what they may do: API keys, scopes and the per-key throttle.

Users signed in through the browser use the session and act with their role's rights.
Integrations send `Authorization: Bearer hk_...`; the request then acts as the key's user
and the key's scopes decide which endpoints it may call. The services still apply the role
rights of that user, so a key never does more than both allow.
"""

from __future__ import annotations

import functools
import logging
import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from crm.circuit import Breaker
from crm.keys import api_key_lookup, api_key_touch
from crm.models import ApiKey, User
from crm.rights import key_scope_allowed

logger = logging.getLogger("handoff.api")


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header; expected 'Bearer <API key>'."
            )
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.") from exc
        api_key = api_key_lookup(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        if not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("The account behind this API key is disabled.")
        api_key_touch(api_key=api_key, now=timezone.now())
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeySchemeExtension(OpenApiAuthenticationExtension):
    target_class = "crm.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key created by a manager: `Authorization: Bearer hk_...`.",
        }


def request_api_key(request: Request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class HasScope(BasePermission):
    """Keys need the view's scope for the method; signed-in users pass to the role checks.

    A view declares `read_scope` (safe methods) and `write_scope` (the rest);
    `action_scopes` overrides them for one action.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not user.is_active:
            return False
        api_key = request_api_key(request)
        if api_key is None:
            return True
        scope = required_scope(request, view)
        if scope is None or not api_key.has_scope(scope):
            self.message = f"This API key lacks the {scope!s} scope."
            return False
        if not key_scope_allowed(user, scope):
            self.message = f"This API key's user ({user.get_role_display()}) cannot use {scope}."
            return False
        return True


def required_scope(request: Request, view: Any) -> str | None:
    action = getattr(view, "action", None)
    overrides: dict[str, str] = getattr(view, "action_scopes", {})
    if action in overrides:
        return overrides[action]
    if request.method in SAFE_METHODS:
        return getattr(view, "read_scope", None)
    return getattr(view, "write_scope", None)


# One atomic step in Redis per request, with the same rule as DRF's SimpleRateThrottle (at
# most N requests in any window of the period; refused requests do not count): forget what
# left the window, refuse when it is full (answering how long until its oldest request
# leaves), otherwise record this request. Concurrent web processes cannot undercount, and
# only a few bytes cross the wire whatever the rate.
SLIDING_WINDOW_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(window))
return false
"""


@functools.cache
def _sliding_window(location: str) -> Any:
    """The script bound to a client of the cache's Redis (one connection pool per process)."""
    import redis

    client = redis.Redis.from_url(location, socket_connect_timeout=1, socket_timeout=1)
    return client.register_script(SLIDING_WINDOW_SCRIPT)


def _redis_cache_location() -> str | None:
    cache = settings.CACHES.get("default", {})
    if cache.get("BACKEND") != "django.core.cache.backends.redis.RedisCache":
        return None
    location = cache.get("LOCATION")
    return location if isinstance(location, str) else None


# After the cache fails (down, or frozen until the socket timeout), the rate limit is skipped
# for a few seconds: a hung Redis costs one request its timeout, not every request.
RATE_LIMIT_BACKOFF_SECONDS = 5.0
rate_limit_breaker = Breaker(RATE_LIMIT_BACKOFF_SECONDS)


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per API key, counted in the shared cache (Redis in production).

    The rate is read per request from settings.API_KEY_RATE so it can be tuned (and tests
    can lower it) without a restart of the class-level DRF settings. With Redis the window
    is a sorted set kept by one script call; any other cache (the embedded default) keeps
    DRF's list of timestamps.
    """

    scope = "api_key"
    _wait: float | None = None

    def get_rate(self) -> str:
        return settings.API_KEY_RATE

    def allow_request(self, request: Request, view: Any) -> bool:
        """Counts in the cache; if the cache (Redis) is down the request is let through:
        losing the rate limit for a while is better than refusing every integration."""
        if rate_limit_breaker.is_open():
            return True
        try:
            location = _redis_cache_location()
            if location is None or self.rate is None:
                return super().allow_request(request, view)
            key = self.get_cache_key(request, view)
            if key is None:
                return True
            now = self.timer()
            wait = _sliding_window(location)(
                keys=[f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{key}"],
                args=[repr(now), self.duration, self.num_requests, f"{now!r}:{uuid.uuid4().hex}"],
            )
        except Exception:  # the cache backend's connection error, whatever the client library
            rate_limit_breaker.trip()
            logger.warning("rate-limit cache unavailable; letting requests through for a while")
            return True
        if wait is None:
            return True
        self._wait = max(float(wait), 0.0)
        return False

    def wait(self) -> float | None:
        return self._wait if self._wait is not None else super().wait()

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        api_key = request_api_key(request)
        if api_key is None:
            return None
        return f"throttle:api_key:{api_key.prefix}"
