"""API keys (hashed, scoped, revocable), sessions, and the per-key throttle."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core import serializers
from django.core.management import call_command
from rest_framework.test import APIClient

from crm.keys import api_key_revoke
from crm.models import ApiKey, IdempotencyRecord
from leads.models import Lead

LEAD = {"email": "jo@acme.example"}


def test_it_refuses_a_request_without_credentials(db) -> None:
    response = APIClient().get("/api/v1/leads/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


def test_it_refuses_a_key_without_leads_write_with_403(key_client) -> None:
    reader = key_client(["leads:read"])

    assert reader.get("/api/v1/leads/").status_code == 200
    response = reader.post("/api/v1/leads/", LEAD, format="json")

    assert response.status_code == 403
    assert "leads:write" in response.json()["detail"]
    assert not Lead.objects.exists()


def test_it_refuses_catalog_writes_without_manage(integration) -> None:
    response = integration.post("/api/v1/personas/", {"name": "CFO"}, format="json")

    assert response.status_code == 403


def test_it_refuses_a_revoked_key_with_401(issue_key) -> None:
    issued = issue_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    assert client.get("/api/v1/leads/").status_code == 200

    api_key_revoke(api_key=issued.api_key, actor=None)
    response = client.get("/api/v1/leads/")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "header", ["Bearer hk_0000_nope", "Bearer", "Bearer a b", "Bearer hk_é_x", "Bearer ___"]
)
def test_it_refuses_unknown_or_malformed_keys(db, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get("/api/v1/leads/").status_code == 401


def test_it_records_when_a_key_was_last_used(issue_key) -> None:
    issued = issue_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")

    client.get("/api/v1/leads/")

    assert ApiKey.objects.get().last_used_at is not None


def test_it_stores_the_key_only_hashed(issue_key) -> None:
    issued = issue_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    client.post("/api/v1/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY="retry-0001")
    secret = issued.raw_key.split("_", 2)[2]

    assert IdempotencyRecord.objects.exists() and Lead.objects.exists()
    for model in apps.get_models():
        dump = serializers.serialize("json", model.objects.all())
        assert issued.raw_key not in dump, model
        assert secret not in dump, model


def test_it_lets_signed_in_users_act_with_their_role(as_user, marketer, sales_rep) -> None:
    assert as_user(marketer).post("/api/v1/leads/", LEAD, format="json").status_code == 201
    refused = as_user(sales_rep).post("/api/v1/leads/", {"email": "x@acme.example"}, format="json")

    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"


def test_it_throttles_a_key_with_429_and_retry_after(key_client, settings) -> None:
    settings.API_KEY_RATE = "3/min"
    client = key_client(["leads:read"])

    statuses = [client.get("/api/v1/leads/").status_code for _ in range(4)]
    response = client.get("/api/v1/leads/")

    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["status"] == 429


def test_it_creates_keys_from_the_command_line(db) -> None:
    out, err = io.StringIO(), io.StringIO()

    call_command("create_api_key", "CRM sync", "--scope", "leads:read", stdout=out, stderr=err)

    raw_key = out.getvalue().strip()
    key = ApiKey.objects.get()
    assert raw_key.startswith(f"hk_{key.prefix}_")
    assert key.scopes == ["leads:read"]
    assert key.user.role == "integration"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get("/api/v1/leads/").status_code == 200


def test_it_issues_keys_in_the_admin_and_shows_them_once(manager, client) -> None:
    manager.is_staff = manager.is_superuser = True
    manager.save()
    client.force_login(manager)

    response = client.post(
        "/admin/crm/apikey/add/",
        {"name": "Web form", "scopes": ["leads:write", "leads:read"]},
        follow=True,
    )

    key = ApiKey.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any(f"hk_{key.prefix}_" in m for m in shown)
    assert client.get(f"/admin/crm/apikey/{key.pk}/change/").status_code == 200


@pytest.mark.redis
def test_it_counts_requests_in_redis_shared_by_all_web_processes(key_client, settings) -> None:
    import redis
    from django.core.cache import caches

    settings.API_KEY_RATE = "100/min"
    client = key_client(["leads:read"])
    client.get("/api/v1/leads/")
    prefix = ApiKey.objects.get().prefix

    server = redis.Redis.from_url(settings.REDIS_URL)
    assert caches["default"].__class__.__name__ == "RedisCache"
    assert server.keys(f"*throttle:api_key:{prefix}")


@pytest.mark.redis
def test_it_counts_only_accepted_requests_in_one_sorted_set_per_key(key_client, settings) -> None:
    import redis

    settings.API_KEY_RATE = "2/min"
    client = key_client(["leads:read"])
    statuses = [client.get("/api/v1/leads/").status_code for _ in range(4)]
    prefix = ApiKey.objects.get().prefix

    server = redis.Redis.from_url(settings.REDIS_URL)
    [key] = server.keys(f"*throttle:api_key:{prefix}")
    assert statuses == [200, 200, 429, 429]
    assert server.type(key) == b"zset"
    assert server.zcard(key) == 2
    assert 0 < server.ttl(key) <= 60


def test_it_lets_only_managers_issue_keys(marketer) -> None:
    from crm.errors import DomainError
    from crm.keys import api_key_create

    with pytest.raises(DomainError):
        api_key_create(actor=marketer, name="Sneaky", scopes=["manage"])
    assert not ApiKey.objects.exists()


def test_it_refuses_unknown_scopes(db) -> None:
    from django.core.management.base import CommandError

    with pytest.raises((CommandError, SystemExit)):
        call_command("create_api_key", "X", "--scope", "everything", stderr=io.StringIO())
    assert not ApiKey.objects.exists()
