"""Every operation of the schema, called by every role and every kind of API key.

The cases come from the published OpenAPI schema, so a new endpoint is covered without
editing this file; who may write to it defaults to "managers only" (WRITERS) until stated.

The rules, from the design: anonymous callers get 401 and revoked keys 401; a key needs the
scope its view declares (otherwise 403, whatever else it could do); keys act as their user,
so here they act as a manager to separate scope refusals from role refusals; everyone
signed in reads the whole pipeline; writes follow the role's rights (403/404 otherwise);
notifications belong to people (keys get 403; each person sees only their own). No call
answers 500, and every error is problem+json whose `status` equals the HTTP status.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from crm.keys import api_key_create, api_key_revoke
from crm.models import ApiKey, ApiScope, Role, User
from leads.models import Lead
from leads.services.transitions import lead_hand_off
from sla.models import Breach, BusinessCalendar, SlaClock, WebhookEndpoint
from sla.review.decisions import decision_record
from sla.services import webhook_endpoint_create
from tests.api.schema_operations import Operation, published_schema, schema_operations
from tests.api.sla_world import build_sla_world, notify
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import BusinessCalendarFactory, CampaignFactory, PersonaFactory

pytestmark = pytest.mark.django_db

READ_SCOPES = {ApiScope.LEADS_READ, ApiScope.SLA_READ, ApiScope.MANAGE}
WRITE_SCOPES = {ApiScope.LEADS_WRITE, ApiScope.MANAGE}
# Views that keys may not use at all, whatever their scopes.
PEOPLE_ONLY = {"notifications"}
# Reads limited to managers (settings holding secrets).
MANAGER_READS = {"webhook-endpoints"}
ROLES = (Role.MARKETER, Role.SALES_REP, Role.MANAGER)


def may_write(role: str, op: Operation) -> bool:
    """The rights table for writes. The lead used for detail writes belongs to another rep."""
    if op.resource in PEOPLE_ONLY:
        return True
    if op.resource in ("campaigns", "personas"):
        return role in (Role.MARKETER, Role.MANAGER)
    if op.resource == "leads" and not op.is_detail:
        return role in (Role.MARKETER, Role.MANAGER)
    return role == Role.MANAGER


# Valid bodies for writes whose schema has no request example; the lead PATCH gets the
# lead's current version at call time. A write with neither is called with `{}`, and then
# only "no 2xx for a role that may not write" can be asserted (shape is checked first).
VALID_BODIES: dict[str, Any] = {
    "POST /api/v1/campaigns/": {"name": "Spring webinar"},
    "PATCH /api/v1/campaigns/{id}/": {"name": "Spring webinar, renamed"},
    "POST /api/v1/personas/": {"name": "Head of operations"},
    "POST /api/v1/stage-definitions/": {
        "stage": "qualified",
        "title": "Qualified",
        "criteria": [{"label": "Budget confirmed"}],
    },
    "POST /api/v1/leads/{id}/activities/": {"kind": "call", "summary": "Left a voicemail"},
    "PATCH /api/v1/leads/{id}/": lambda lead: {"phone": "+44 20 7946 0000", "version": lead},
    "PATCH /api/v1/calendars/{id}/": {"holidays": ["2026-12-26"]},
    "PATCH /api/v1/sla-policies/{id}/": {"notify_owner": False},
    "POST /api/v1/notifications/mark-read/": {},
}


def body_for(op: Operation, object_id: int | None) -> tuple[Any, bool]:
    """(body, whether it is valid) for a write operation."""
    key = f"{op.method} {op.path}"
    if key in VALID_BODIES:
        body = VALID_BODIES[key]
        if callable(body):
            body = body(Lead.objects.get(pk=object_id).version)
        return body, True
    example = op.example_body()
    return example, example != {}


def check_problem(response: Any, where: str, failures: list[str]) -> None:
    if response.status_code >= 500:
        failures.append(f"{where}: {response.status_code}")
        return
    if response.status_code >= 400:
        if not response["Content-Type"].startswith("application/problem+json"):
            failures.append(f"{where}: {response.status_code} as {response['Content-Type']}")
        elif response.json().get("status") != response.status_code:
            failures.append(f"{where}: body status differs from {response.status_code}")


def call(client: APIClient, op: Operation, url: str, body: Any = None) -> Any:
    if op.is_write:
        return client.generic(
            op.method, url, data=json.dumps(body), content_type="application/json"
        )
    return client.get(url)


@pytest.fixture
def world(manager, marketer, sales_rep, other_sales_rep, make_lead) -> dict[str, int]:
    """One object of every resource, and the ids detail paths use."""
    CampaignFactory.create_batch(1)
    PersonaFactory.create_batch(1)
    build_sla_world(manager=manager, marketer=marketer, sales_rep=sales_rep, make_lead=make_lead)
    others_lead = lead_hand_off(
        lead=make_lead(),
        actor=marketer,
        assignee=other_sales_rep,
        criteria=ALL_REQUIRED_CRITERIA,
    )
    BusinessCalendarFactory(actor=manager, name="London", weekly_hours={"0": [["09:00", "17:00"]]})
    webhook_endpoint_create(
        actor=manager, name="Ops", url="https://ops.acme.example/h", secret="s3cret"
    )
    for user in (marketer, sales_rep, manager):
        notify(user, 2)
    decision_record(actor=manager, text="Review the reasons", owner=manager, due_on="2026-12-04")
    return {
        "leads": others_lead.pk,
        "calendars": BusinessCalendar.objects.first().pk,
        "clocks": SlaClock.objects.first().pk,
        "breaches": Breach.objects.first().pk,
        "webhook-endpoints": WebhookEndpoint.objects.first().pk,
    }


def object_id(op: Operation, world: dict[str, int], manager_client: APIClient) -> int | None:
    if not op.is_detail:
        return None
    if op.resource in world:
        return world[op.resource]
    listed = manager_client.get(f"/api/v1/{op.resource}/")
    results = listed.json().get("results", []) if listed.status_code == 200 else []
    return results[0]["id"] if results else 0


def key_client(*, scopes: list[str], user: User, revoked: bool = False) -> APIClient:
    issued = api_key_create(actor=None, name="Matrix", scopes=scopes or ["leads:read"], user=user)
    if not scopes:
        ApiKey.objects.filter(pk=issued.api_key.pk).update(scopes=[])
    if revoked:
        api_key_revoke(api_key=issued.api_key, actor=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    return client


def test_every_operation_follows_the_access_rules(world, marketer, sales_rep, manager) -> None:
    users = {Role.MARKETER: marketer, Role.SALES_REP: sales_rep, Role.MANAGER: manager}
    role_clients = {}
    for role, user in users.items():
        role_clients[role] = APIClient()
        role_clients[role].force_login(user)
    anonymous = APIClient()
    scoped = {scope: key_client(scopes=[scope], user=manager) for scope in ApiScope.values}
    no_scope = key_client(scopes=[], user=manager)
    revoked = key_client(scopes=list(ApiScope.values), user=manager, revoked=True)

    failures: list[str] = []
    covered = 0
    for op in schema_operations():
        pk = object_id(op, world, role_clients[Role.MANAGER])
        url = op.url(pk)
        name = f"{op.method} {op.path}"
        declared = op.declared_scope()
        if op.resource not in PEOPLE_ONLY:
            allowed = WRITE_SCOPES if op.is_write else READ_SCOPES
            if declared not in allowed:
                failures.append(f"{name}: declares scope {declared!r}")

        for who, client, expected in (("anonymous", anonymous, 401), ("revoked key", revoked, 401)):
            response = call(client, op, url, body_for(op, pk)[0])
            check_problem(response, f"{name} as {who}", failures)
            if response.status_code != expected:
                failures.append(f"{name} as {who}: {response.status_code}, not {expected}")

        response = call(no_scope, op, url, body_for(op, pk)[0])
        check_problem(response, f"{name} with no scope", failures)
        if response.status_code != 403:
            failures.append(f"{name} with no scope: {response.status_code}")

        for scope, client in scoped.items():
            response = call(client, op, url, body_for(op, pk)[0])
            where = f"{name} with key {scope}"
            check_problem(response, where, failures)
            must_refuse = op.resource in PEOPLE_ONLY or scope != declared
            if must_refuse and response.status_code != 403:
                failures.append(f"{where}: {response.status_code}, not 403")
            if not must_refuse and response.status_code in (401, 403):
                failures.append(f"{where}: refused with {response.status_code}")
            if not must_refuse and not op.is_write and response.status_code != 200:
                failures.append(f"{where}: read answered {response.status_code}")

        for role in ROLES:
            body, valid = body_for(op, pk)
            response = call(role_clients[role], op, url, body)
            where = f"{name} as {role}"
            check_problem(response, where, failures)
            status = response.status_code
            if op.is_write:
                if may_write(role, op) and status in (401, 403):
                    failures.append(f"{where}: refused with {status}")
                if not may_write(role, op) and valid and status not in (403, 404):
                    failures.append(f"{where}: {status}, not 403/404")
                if not may_write(role, op) and status < 300:
                    failures.append(f"{where}: allowed with {status}")
            else:
                may_read = op.resource not in MANAGER_READS or role == Role.MANAGER
                if may_read and status != 200:
                    failures.append(f"{where}: read answered {status}")
                if not may_read and status != 403:
                    failures.append(f"{where}: {status}, not 403")
                if op.resource in PEOPLE_ONLY and status == 200:
                    own = set(users[role].notifications.values_list("id", flat=True))
                    seen = {row["id"] for row in response.json()["results"]}
                    if not seen <= own:
                        failures.append(f"{where}: sees others' notifications")
        covered += 1

    operations = sum(
        1
        for item in published_schema()["paths"].values()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )
    assert covered == operations
    assert covered >= 40
    assert failures == [], "\n".join(failures)
