"""SLA-aware round robin: who is skipped and why, and the fallback when nobody can keep the
promise. Time is frozen: every service takes its `now`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.errors import DomainError
from crm.models import Role, User
from leads.models import LeadEvent
from leads.services.transitions import lead_hand_off
from sla.availability import absence_add, absence_cancel, availability_set
from sla.models import SlaClock
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import BusinessCalendarFactory, SlaPolicyFactory, UserFactory, weekday_hours

# Monday 2 March 2026, 10:00 in London (GMT).
MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def raj(db) -> User:
    return UserFactory(username="raj.sales", role=Role.SALES_REP, first_name="Raj", last_name="")


@pytest.fixture
def lena(db) -> User:
    return UserFactory(username="lena.sales", role=Role.SALES_REP, first_name="Lena", last_name="")


@pytest.fixture
def round_robin(make_lead, marketer):
    """Hand a new lead off at `now` with no assignee named: the round robin picks."""

    def hand_off(now: datetime = MONDAY_10AM):
        lead = make_lead(now=now - timedelta(hours=1))
        return lead_hand_off(lead=lead, actor=marketer, criteria=ALL_REQUIRED_CRITERIA, now=now)

    return hand_off


def _routing(lead) -> dict:
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.TRANSITION, to_stage="qualified")
    return event.changes["routing"]


def test_it_skips_a_rep_on_leave_and_says_until_when(raj, lena, manager, round_robin):
    SlaPolicyFactory(actor=manager, now=MONDAY_10AM)
    absence_add(
        actor=raj, rep=raj, first_day=date(2026, 3, 2), last_day=date(2026, 3, 4),
        now=MONDAY_10AM - timedelta(days=3),
    )  # fmt: skip

    lead = round_robin()

    assert lead.owner == lena
    routing = _routing(lead)
    assert routing["chosen"] == {"id": lena.pk, "name": "Lena"}
    assert routing["skipped"] == [
        {"id": raj.pk, "name": "Raj", "why": "away", "until": "2026-03-05T00:00:00+00:00"}
    ]
    assert routing["fallback"] is False


def test_it_skips_a_rep_at_capacity(raj, lena, manager, round_robin):
    SlaPolicyFactory(actor=manager, now=MONDAY_10AM)
    availability_set(actor=manager, rep=raj, calendar=None, capacity=1, now=MONDAY_10AM)

    first = round_robin()  # Raj's turn: he has room for one
    second = round_robin()  # Lena's turn
    third = round_robin()  # Raj's turn again, but one lead already waits for him

    assert (first.owner, second.owner, third.owner) == (raj, lena, lena)
    assert _routing(third)["skipped"] == [
        {"id": raj.pk, "name": "Raj", "why": "capacity", "waiting": 1, "capacity": 1}
    ]


def test_a_rep_whose_day_ends_before_the_due_time_is_skipped_when_another_can_make_it(
    raj, lena, manager, round_robin
):
    # Around the clock, two hours to accept: due at 18:45 London.
    SlaPolicyFactory(actor=manager, target=timedelta(hours=2), now=MONDAY_10AM)
    london = BusinessCalendarFactory(actor=manager, name="London 9-5")
    new_york = BusinessCalendarFactory(
        actor=manager, name="New York 9-5", timezone="America/New_York"
    )
    availability_set(actor=manager, rep=raj, calendar=london, capacity=None)
    availability_set(actor=manager, rep=lena, calendar=new_york, capacity=None)
    at = datetime(2026, 3, 2, 16, 45, tzinfo=UTC)  # Raj has 15 minutes of his day left

    lead = round_robin(now=at)

    assert lead.owner == lena
    routing = _routing(lead)
    assert routing["skipped"] == [
        {"id": raj.pk, "name": "Raj", "why": "hours", "working_minutes": 15}
    ]
    assert routing["due_at"] == "2026-03-02T18:45:00+00:00"


def test_a_rep_with_enough_of_their_day_left_is_not_skipped(raj, lena, manager, round_robin):
    SlaPolicyFactory(actor=manager, target=timedelta(hours=2), now=MONDAY_10AM)
    london = BusinessCalendarFactory(actor=manager, name="London 9-5")
    availability_set(actor=manager, rep=raj, calendar=london, capacity=None)

    lead = round_robin(now=datetime(2026, 3, 2, 16, 0, tzinfo=UTC))  # an hour left

    assert lead.owner == raj
    assert _routing(lead)["skipped"] == []


def test_with_nobody_eligible_the_rep_back_first_takes_it_and_history_says_so(
    raj, lena, manager, round_robin
):
    SlaPolicyFactory(actor=manager, now=MONDAY_10AM)
    earlier = MONDAY_10AM - timedelta(days=3)
    absence_add(actor=manager, rep=raj, first_day="2026-03-02", last_day="2026-03-06", now=earlier)
    absence_add(actor=manager, rep=lena, first_day="2026-03-02", last_day="2026-03-03", now=earlier)

    lead = round_robin()

    assert lead.owner == lena  # back on Wednesday, Raj on the next Saturday
    routing = _routing(lead)
    assert routing["fallback"] is True
    assert routing["starts_at"] == "2026-03-04T00:00:00+00:00"
    assert [skip["name"] for skip in routing["skipped"]] == ["Raj"]
    # The clock keeps the team's promise all the same.
    assert SlaClock.objects.get(lead=lead).due_at == MONDAY_10AM + timedelta(hours=4)


def test_the_fallback_follows_working_hours_too(raj, lena, manager, round_robin):
    SlaPolicyFactory(actor=manager, target=timedelta(hours=1), now=MONDAY_10AM)
    sydney = BusinessCalendarFactory(
        actor=manager,
        name="Sydney",
        timezone="Australia/Sydney",
        weekly_hours=weekday_hours(("09:00", "17:00")),
    )
    late = BusinessCalendarFactory(
        actor=manager, name="Late London", weekly_hours=weekday_hours(("20:00", "23:00"))
    )
    availability_set(actor=manager, rep=raj, calendar=late, capacity=None)
    availability_set(actor=manager, rep=lena, calendar=sydney, capacity=None)

    lead = round_robin()  # 10:00 London: Raj starts at 20:00, Lena at 22:00 (09:00 Sydney)

    assert lead.owner == raj
    assert _routing(lead)["starts_at"] == "2026-03-02T20:00:00+00:00"


def test_a_named_assignee_is_taken_as_named(raj, lena, manager, make_lead, marketer):
    absence_add(actor=raj, rep=raj, first_day="2026-03-02", last_day="2026-03-02", now=MONDAY_10AM)
    lead = lead_hand_off(
        lead=make_lead(), actor=marketer, assignee=raj, criteria=ALL_REQUIRED_CRITERIA,
        now=MONDAY_10AM,
    )  # fmt: skip
    assert lead.owner == raj
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.TRANSITION)
    assert "routing" not in event.changes


def test_picking_costs_the_same_queries_for_two_reps_or_twenty(raj, manager, round_robin):
    SlaPolicyFactory(actor=manager, now=MONDAY_10AM)

    def queries(reps: int) -> int:
        for n in range(reps):
            rep = UserFactory(username=f"rep{reps}-{n}", role=Role.SALES_REP)
            absence_add(
                actor=manager, rep=rep, first_day="2026-03-02", last_day="2026-03-02",
                now=MONDAY_10AM,
            )  # fmt: skip
        with CaptureQueriesContext(connection) as ctx:
            round_robin()
        return len(ctx.captured_queries)

    round_robin()  # the first hand-off also creates the rotation's cursor
    assert queries(2) == queries(20)


# ---------------------------------------------------------------- absences: rights and input


def test_a_rep_sets_only_their_own_absences_and_a_manager_anyones(raj, lena, manager):
    with pytest.raises(DomainError) as refused:
        absence_add(actor=raj, rep=lena, first_day="2026-03-02", last_day="2026-03-03")
    assert refused.value.code == "forbidden"
    absence = absence_add(
        actor=manager, rep=lena, first_day="2026-03-02", last_day="2026-03-03", now=MONDAY_10AM
    )
    with pytest.raises(DomainError):
        absence_cancel(actor=raj, absence=absence)
    absence_cancel(actor=lena, absence=absence, now=MONDAY_10AM)
    absence.refresh_from_db()
    assert absence.cancelled_by == lena  # cancelled, not deleted


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2026-03-05", "2026-03-04", "last_day"),
        ("not a date", "2026-03-04", "first_day"),
        ("2026-02-01", "2026-02-02", "last_day"),  # already over
        ("2026-03-03", "2026-03-09", "first_day"),  # overlaps the one below
    ],
)
def test_it_refuses_a_bad_absence_naming_the_field(raj, first, last, field):
    absence_add(actor=raj, rep=raj, first_day="2026-03-06", last_day="2026-03-10", now=MONDAY_10AM)
    with pytest.raises(DomainError) as refused:
        absence_add(actor=raj, rep=raj, first_day=first, last_day=last, now=MONDAY_10AM)
    assert refused.value.field == field


def test_only_managers_set_hours_and_capacity(raj, manager):
    with pytest.raises(DomainError) as refused:
        availability_set(actor=raj, rep=raj, calendar=None, capacity=3)
    assert refused.value.code == "forbidden"
    with pytest.raises(DomainError) as refused:
        availability_set(actor=manager, rep=raj, calendar=None, capacity=0)
    assert refused.value.field == "capacity"
