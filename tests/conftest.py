"""Shared fixtures: the personas of the design, and the rule that CI never skips.

Tests marked `postgres` or `redis` need those servers. Locally (SQLite, no Redis) they are
skipped with a reason; with HANDOFF_REQUIRE_SERVICES=1 (CI) a missing server fails them.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from crm.models import Role, User
from tests.factories import TEST_PASSWORD, ManagerFactory, UserFactory

REQUIRE_SERVICES = os.environ.get("HANDOFF_REQUIRE_SERVICES") == "1"


def _redis_available() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _missing_service(item: pytest.Item) -> str | None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return "needs PostgreSQL (set DATABASE_URL=postgres://...)"
    if item.get_closest_marker("redis") and not _redis_available():
        return "needs Redis (set REDIS_URL=redis://...)"
    if item.get_closest_marker("replica") and "replica" not in settings.DATABASES:
        return "needs a replica database (set DATABASE_REPLICA_URL=postgres://...)"
    return None


@pytest.fixture(autouse=True)
def _services_or_skip(request: pytest.FixtureRequest) -> None:
    reason = _missing_service(request.node)
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}: required with HANDOFF_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Argon2 is deliberately slow; tests that are not about hashing use a fast hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests drain the outbox themselves; broker hints would only pile up unread.
    settings.OUTBOX_ENQUEUE_HINTS = False
    # The suite's webhook receivers listen on loopback (tests/sla/test_webhook_targets.py
    # clears this to check the refusal).
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    # Tests read the primary; tests/crm/test_replica.py turns the replica on.
    settings.READ_FROM_REPLICA = False


@pytest.fixture(autouse=True)
def _seeded_rows_after_flush(request: pytest.FixtureRequest) -> None:
    """Transactional tests end with a flush that also empties the rows the migrations seed
    (stage definitions, reason lists); put them back so every test starts like a fresh install.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps

    import_module("leads.migrations.0002_default_definitions").create(apps, None)
    import_module("leads.migrations.0018_exemption_reasons").create(apps, None)


@pytest.fixture
def password() -> str:
    return TEST_PASSWORD


@pytest.fixture
def marketer(db: None) -> User:
    return UserFactory(username="mia.marketer", role=Role.MARKETER, first_name="Mia")


@pytest.fixture
def sales_rep(db: None) -> User:
    return UserFactory(username="sam.sales", role=Role.SALES_REP, first_name="Sam")


@pytest.fixture
def other_sales_rep(db: None) -> User:
    return UserFactory(username="olga.sales", role=Role.SALES_REP, first_name="Olga")


@pytest.fixture
def manager(db: None) -> User:
    return ManagerFactory()


@pytest.fixture
def integration_user(db: None) -> User:
    return UserFactory(username="webform-bot", role=Role.INTEGRATION, first_name="Web form")


# Leads built through the services, so history and clocks are real.

ALL_REQUIRED_CRITERIA = ["fits-icp", "budget-confirmed", "decision-maker", "need-identified"]


@pytest.fixture
def make_lead(marketer: User):
    from leads.services.leads import LeadInput, lead_create

    counter = iter(range(1, 1_000_000))

    def make(**fields: object):
        n = next(counter)
        data = {"email": f"prospect{n}@acme.example", "first_name": "Pat", "last_name": f"N{n}"}
        data.update(fields)
        actor = data.pop("actor", marketer)
        now = data.pop("now", None)
        return lead_create(actor=actor, data=LeadInput(**data), now=now)

    return make


@pytest.fixture
def engaged_lead(make_lead):
    return make_lead(company="Acme Logistics")


@pytest.fixture
def qualified_lead(engaged_lead, marketer: User, sales_rep: User):
    from leads.services.transitions import lead_hand_off

    return lead_hand_off(
        lead=engaged_lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA
    )


@pytest.fixture
def accepted_lead(qualified_lead, sales_rep: User):
    from leads.services.transitions import lead_accept

    return lead_accept(lead=qualified_lead, actor=sales_rep)


@pytest.fixture
def opportunity_lead(accepted_lead, sales_rep: User):
    from leads.services.transitions import lead_to_opportunity

    return lead_to_opportunity(
        lead=accepted_lead, actor=sales_rep, estimated_value="12000", next_step="Demo on Tuesday"
    )


@pytest.fixture
def monthly_commitment(manager: User):
    """Marketing's "120 SQLs a month, 80% accepted", on London's months from March 2026."""
    from datetime import date

    from sla.services import commitment_create

    return commitment_create(
        actor=manager,
        name="120 SQLs a month",
        period="month",
        target_qualified=120,
        min_acceptance_rate="0.8",
        timezone_name="Europe/London",
        starts_on=date(2026, 3, 1),
    )
