"""An API key never does more than its user's role: refused when issued, checked per request."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from crm.admin import ApiKeyCreateForm
from crm.errors import DomainError
from crm.keys import api_key_create
from crm.models import ApiKey, ApiScope, Role
from sla.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db

HOOKS = "/api/v1/webhook-endpoints/"


def bearer(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def slack_hook(manager) -> None:
    webhook_endpoint_create(
        actor=manager, name="Slack", url="https://hooks.slack.example/T0/B0/secret", secret="s"
    )


@pytest.mark.parametrize("role_fixture", ["sales_rep", "integration_user"])
def test_it_refuses_a_manage_key_for_a_role_without_manage_rights(request, role_fixture) -> None:
    user = request.getfixturevalue(role_fixture)

    with pytest.raises(DomainError) as refused:
        api_key_create(actor=None, name="Rep tool", scopes=["leads:read", "manage"], user=user)

    assert refused.value.field == "scopes"
    assert "manage" in refused.value.message
    assert not ApiKey.objects.exists()


def test_it_refuses_a_manage_key_for_a_new_integration_account(db) -> None:
    with pytest.raises(DomainError):
        api_key_create(actor=None, name="Web form", scopes=["manage"])

    assert not ApiKey.objects.exists()


def test_it_issues_each_role_the_scopes_its_rights_cover(marketer, sales_rep, manager) -> None:
    api_key_create(actor=None, name="Catalog", scopes=["manage"], user=marketer)
    api_key_create(actor=None, name="Reader", scopes=["leads:read", "sla:read"], user=sales_rep)
    api_key_create(actor=None, name="All", scopes=list(ApiScope.values), user=manager)

    assert ApiKey.objects.count() == 3


def test_the_command_and_the_admin_form_refuse_it_too(sales_rep) -> None:
    with pytest.raises(CommandError, match="manage"):
        call_command(
            "create_api_key",
            "Rep tool",
            "--scope",
            "manage",
            "--user",
            sales_rep.username,
            stderr=io.StringIO(),
        )
    form = ApiKeyCreateForm(data={"name": "Rep tool", "user": sales_rep.pk, "scopes": ["manage"]})

    assert not form.is_valid()
    assert "manage" in " ".join(form.errors["scopes"])
    assert not ApiKey.objects.exists()


def test_a_reps_key_issued_with_manage_earlier_reads_no_webhooks(sales_rep, slack_hook) -> None:
    issued = api_key_create(actor=None, name="Rep tool", scopes=["leads:read"], user=sales_rep)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(scopes=["leads:read", "manage"])
    session = APIClient()
    session.force_login(sales_rep)

    by_key = bearer(issued.raw_key).get(HOOKS)

    assert session.get(HOOKS).status_code == 403
    assert by_key.status_code == 403
    assert "slack" not in by_key.content.decode().lower()


def test_a_key_loses_what_its_user_loses_with_a_new_role(manager, slack_hook) -> None:
    issued = api_key_create(actor=None, name="Ops", scopes=["manage", "sla:read"], user=manager)
    client = bearer(issued.raw_key)
    assert client.get(HOOKS).status_code == 200

    manager.role, manager.team = Role.SALES_REP, "sales"
    manager.save(update_fields=["role", "team"])

    assert client.get(HOOKS).status_code == 403
    assert client.get("/api/v1/breaches/").status_code == 200


def test_a_marketers_manage_key_edits_the_catalog_but_not_webhooks(marketer, slack_hook) -> None:
    issued = api_key_create(actor=None, name="Catalog", scopes=["manage"], user=marketer)
    client = bearer(issued.raw_key)

    created = client.post("/api/v1/personas/", {"name": "CFO"}, format="json")

    assert created.status_code == 201
    assert client.get(HOOKS).status_code == 403
