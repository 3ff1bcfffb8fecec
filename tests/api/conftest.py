"""API fixtures: clients acting through real API keys and sessions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import signals
from django.db import close_old_connections
from rest_framework.test import APIClient

from crm.keys import IssuedKey, api_key_create
from crm.models import ApiScope, Role, User
from crm.rights import scopes_role_can_hold


@pytest.fixture
def issue_key(db: None) -> Callable[..., IssuedKey]:
    def issue(
        name: str = "Web form", scopes: list[str] | None = None, user: User | None = None
    ) -> IssuedKey:
        role = user.role if user is not None else Role.INTEGRATION
        held = scopes or sorted(scopes_role_can_hold(role))
        return api_key_create(actor=None, name=name, scopes=held, user=user)

    return issue


@pytest.fixture
def key_client(issue_key) -> Callable[..., APIClient]:
    def make(scopes: list[str] | None = None, user: User | None = None) -> APIClient:
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {issue_key(scopes=scopes, user=user).raw_key}"
        )
        return client

    return make


@pytest.fixture
def integration(key_client) -> APIClient:
    """A web-form integration with read and write access to leads."""
    return key_client([ApiScope.LEADS_READ, ApiScope.LEADS_WRITE])


@pytest.fixture
def as_user() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def _keep_test_connection():
    """In-process WSGI calls share the test's connection; Django must not close it per
    request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
