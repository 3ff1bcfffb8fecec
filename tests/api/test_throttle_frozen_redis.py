"""A frozen Redis (SIGSTOP) costs the throttle one socket timeout, then the rate limit steps
aside for a few seconds instead of making every request wait for the timeout."""

from __future__ import annotations

import pytest

from crm.api import auth
from crm.models import ApiScope
from tests.hung_server import hung_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen_cache_redis(settings):
    auth.rate_limit_breaker.reset()
    with hung_server() as server:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{server.port}/0",
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
        yield server
    auth.rate_limit_breaker.reset()


def test_it_asks_a_frozen_redis_once_then_lets_requests_through(frozen_cache_redis, key_client):
    client = key_client([ApiScope.LEADS_READ])
    statuses = [client.get("/api/v1/leads/").status_code for _ in range(5)]
    assert statuses == [200] * 5
    # One connection tried and timed out; the four requests after it never waited on Redis.
    assert frozen_cache_redis.accepted == 1


def test_it_tries_redis_again_after_the_back_off(frozen_cache_redis, key_client, monkeypatch):
    client = key_client([ApiScope.LEADS_READ])
    clock = [1000.0]
    monkeypatch.setattr(auth.rate_limit_breaker, "seconds", 5.0)
    from crm import circuit

    monkeypatch.setattr(circuit.time, "monotonic", lambda: clock[0])
    client.get("/api/v1/leads/")
    clock[0] += 5.1
    client.get("/api/v1/leads/")
    assert frozen_cache_redis.accepted >= 2
