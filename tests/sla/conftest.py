"""SLA fixtures: the demo's policies on a London working calendar, and a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.models import User
from leads.lifecycle import Stage
from sla.models import BusinessCalendar, SlaGoal, SlaPolicy
from tests.factories import BusinessCalendarFactory, SlaPolicyFactory, weekday_hours

# Monday 2 March 2026, 10:00 in London (GMT, no DST): inside working hours.
MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_broker_hints(settings) -> None:
    """Tests drive the drains themselves; hints would only pile up in a broker folder."""
    settings.OUTBOX_ENQUEUE_HINTS = False
    # The personas' passwords are never checked here; a slow hash only slows the setup.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sales_calendar(manager: User) -> BusinessCalendar:
    return BusinessCalendarFactory(
        actor=manager,
        name="Sales hours",
        weekly_hours=weekday_hours(("09:00", "12:30"), ("13:30", "18:00")),
        holidays=["2026-04-03"],
        now=MONDAY_10AM,
    )


@pytest.fixture
def accept_policy(manager: User, sales_calendar: BusinessCalendar) -> SlaPolicy:
    return SlaPolicyFactory(
        actor=manager,
        name="Accept within 4 business hours",
        calendar=sales_calendar,
        now=MONDAY_10AM,
    )


@pytest.fixture
def touch_policy(manager: User, sales_calendar: BusinessCalendar) -> SlaPolicy:
    return SlaPolicyFactory(
        actor=manager,
        name="First touch within a business day",
        goal=SlaGoal.FIRST_TOUCH,
        target=timedelta(hours=8),
        calendar=sales_calendar,
        now=MONDAY_10AM,
    )


@pytest.fixture
def opportunity_policy(manager: User) -> SlaPolicy:
    return SlaPolicyFactory(
        actor=manager,
        name="Opportunity moves within 14 days",
        goal=SlaGoal.EXIT_STAGE,
        trigger_stage=Stage.OPPORTUNITY,
        target=timedelta(days=14),
        met_by_update=True,
        now=MONDAY_10AM,
    )


@pytest.fixture
def hand_off(make_lead, marketer: User, sales_rep: User):
    """A lead handed to `sales_rep` at `at` (created two hours earlier)."""
    from leads.services.transitions import lead_hand_off
    from tests.conftest import ALL_REQUIRED_CRITERIA

    def make(at: datetime = MONDAY_10AM, **fields: object):
        lead = make_lead(now=at - timedelta(hours=2), **fields)
        return lead_hand_off(
            lead=lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA, now=at
        )

    return make


@pytest.fixture
def receiver():
    """A local webhook receiver (tests/sla/test_escalation.py's), serving while the test runs."""
    import threading

    from tests.sla.test_escalation import Receiver

    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
