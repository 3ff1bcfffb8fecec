"""A policy that moves an unaccepted lead on at the at-risk mark: the sweep hands it to the next
eligible rep once per clock, both reps are told, and the clock keeps its due time; two sweeps
at once and a worker killed mid-move on PostgreSQL change nothing about that."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from django.utils import timezone

from crm.models import OutboxMessage, Role, User
from leads.models import Lead, LeadEvent
from leads.services.transitions import lead_accept, lead_hand_off
from sla.availability import absence_add
from sla.models import ClockState, SlaClock, SlaPolicy
from sla.sweep import sla_sweep
from sla.tasks import sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import SlaPolicyFactory, UserFactory
from tests.sla.test_sweep_concurrency import (
    _blocked_session,
    _dsn,
    _empty_broker,
    _session_gone,
    _start_worker,
    _task_succeeded,
    _wait_for,
    _wait_until_ready,
    two_sweeps_at_once,
)

MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AT_RISK = MONDAY_10AM + timedelta(hours=3, minutes=5)  # 4 hours to accept, at risk after 3


@pytest.fixture
def moving_policy(manager: User) -> SlaPolicy:
    return SlaPolicyFactory(
        actor=manager, name="Accept within 4 hours, else move on", reassign_at_risk=True
    )


@pytest.fixture
def handed_to(make_lead, marketer):
    def hand(rep: User, at: datetime = MONDAY_10AM) -> Lead:
        lead = make_lead(now=at - timedelta(hours=1))
        return lead_hand_off(
            lead=lead, actor=marketer, assignee=rep, criteria=ALL_REQUIRED_CRITERIA, now=at
        )

    return hand


def _moves(lead: Lead):
    return LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.ASSIGNED)


def test_an_unaccepted_lead_moves_on_once_at_the_at_risk_mark(
    moving_policy, handed_to, sales_rep, other_sales_rep
):
    lead = handed_to(sales_rep)
    clock = SlaClock.objects.get(lead=lead)

    assert sla_sweep(now=MONDAY_10AM + timedelta(hours=2)).reassigned == 0  # not at risk yet
    first = sla_sweep(now=AT_RISK)
    later = sla_sweep(now=AT_RISK + timedelta(minutes=5))

    assert (first.at_risk, first.reassigned, later.reassigned) == (1, 1, 0)
    lead.refresh_from_db()
    assert lead.owner == other_sales_rep
    moved = _moves(lead).get()
    assert moved.actor is None
    assert moved.changes["owner"] == [str(sales_rep), str(other_sales_rep)]
    assert moved.changes["routing"]["chosen"]["id"] == other_sales_rep.pk
    assert "still due 2026-03-02 14:00 UTC" in moved.note
    refreshed = SlaClock.objects.get(pk=clock.pk)
    assert refreshed.due_at == clock.due_at  # the team's promise does not reset
    assert refreshed.owner == other_sales_rep
    assert refreshed.reassigned_at == AT_RISK
    told = OutboxMessage.objects.filter(event_type="lead.reassigned")
    assert sorted(told.values_list("recipient_id", flat=True)) == sorted(
        [sales_rep.pk, other_sales_rep.pk]
    )


def test_the_new_rep_then_has_until_the_same_due_time(
    moving_policy, handed_to, sales_rep, other_sales_rep
):
    lead = handed_to(sales_rep)
    sla_sweep(now=AT_RISK)
    lead_accept(lead=lead.pk, actor=other_sales_rep, now=AT_RISK + timedelta(minutes=30))
    clock = SlaClock.objects.get(lead=lead)
    assert (clock.state, clock.owner) == (ClockState.MET, other_sales_rep)


def test_with_nobody_else_eligible_the_lead_stays_and_says_so(
    moving_policy, handed_to, sales_rep, other_sales_rep
):
    absence_add(
        actor=other_sales_rep, rep=other_sales_rep, first_day="2026-03-02",
        last_day="2026-03-03", now=MONDAY_10AM,
    )  # fmt: skip
    lead = handed_to(sales_rep)

    assert sla_sweep(now=AT_RISK).reassigned == 1
    assert sla_sweep(now=AT_RISK + timedelta(minutes=1)).reassigned == 0

    lead.refresh_from_db()
    assert lead.owner == sales_rep
    assert not _moves(lead).exists()
    stayed = LeadEvent.objects.filter(lead=lead, changes__reassign="nobody_eligible")
    assert stayed.count() == 1
    assert "stays where it is" in stayed.get().note


def test_policies_without_the_option_leave_the_lead_alone(
    manager, handed_to, sales_rep, other_sales_rep
):
    SlaPolicyFactory(actor=manager)
    lead = handed_to(sales_rep)
    assert sla_sweep(now=AT_RISK).reassigned == 0
    lead.refresh_from_db()
    assert lead.owner == sales_rep


def test_only_an_accept_policy_may_move_leads_on(manager):
    from crm.errors import DomainError
    from sla.models import SlaGoal

    with pytest.raises(DomainError) as refused:
        SlaPolicyFactory(actor=manager, goal=SlaGoal.FIRST_TOUCH, reassign_at_risk=True)
    assert refused.value.field == "reassign_at_risk"


# ---------------------------------------------------------------- on PostgreSQL, concurrently


@pytest.fixture
def reps(db) -> list[User]:
    return [UserFactory(username=f"rep{n}", role=Role.SALES_REP) for n in range(3)]


def _assert_each_lead_moved_once(leads: list[Lead], first_owner: User) -> None:
    for lead in leads:
        lead.refresh_from_db()
        assert lead.owner_id != first_owner.pk
        assert _moves(lead).count() == 1
    assert SlaClock.objects.filter(reassigned_at__isnull=True).count() == 0
    assert OutboxMessage.objects.filter(event_type="lead.reassigned").count() == 2 * len(leads)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_move_each_lead_once(moving_policy, handed_to, reps):
    leads = [handed_to(reps[0]) for _ in range(12)]
    results = two_sweeps_at_once(now=AT_RISK, batch_size=3)

    assert sum(r.at_risk for r in results) == 12
    assert sum(r.reassigned for r in results) == 12
    _assert_each_lead_moved_once(leads, reps[0])


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_move_moves_nothing_twice(moving_policy, handed_to, reps, tmp_path):
    # Handed off 3.5 hours ago: at risk now, due in half an hour. An earlier sweep flagged
    # them; the doomed worker's sweep has only the moving on to do.
    leads = [
        handed_to(reps[0], at=timezone.now() - timedelta(hours=3, minutes=30)) for _ in range(4)
    ]
    SlaClock.objects.update(state=ClockState.AT_RISK)
    _empty_broker()
    first = _start_worker(tmp_path, "doomed")
    try:
        _wait_until_ready("doomed")
        blocker = psycopg2.connect(_dsn())
        try:
            cursor = blocker.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            blocker_pid = cursor.fetchone()[0]
            # The outbox held: the batch has moved the leads, claimed their clocks and
            # written history, and waits to tell the reps.
            cursor.execute("LOCK TABLE crm_outboxmessage IN SHARE ROW EXCLUSIVE MODE")
            killed = sweep.delay()
            _wait_for(
                lambda: _blocked_session(blocker_pid) is not None,
                what="the sweep to block mid-move",
            )
            pid, query = _blocked_session(blocker_pid)
            assert query.startswith("INSERT INTO crm_outboxmessage"), query
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            blocker.rollback()
            blocker.close()
        _wait_for(lambda: _session_gone(pid), what="the killed worker's session to end")
        # The killed batch rolled back whole: no lead moved, no clock marked, no message.
        assert Lead.objects.filter(owner=reps[0]).count() == 4
        assert SlaClock.objects.filter(reassigned_at__isnull=False).count() == 0
        assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.ASSIGNED).exists()

        second = _start_worker(tmp_path, "survivor")
        try:
            _wait_until_ready("survivor")
            sweep.delay()
            _wait_for(
                lambda: SlaClock.objects.filter(reassigned_at__isnull=True).count() == 0,
                what="the restarted worker to move the leads on",
            )
            _wait_for(
                lambda: _task_succeeded(tmp_path / "survivor.log", killed.id),
                timeout=30,  # replayed within seconds: the worker scans every second
                what="the killed sweep message to replay",
            )
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    _assert_each_lead_moved_once(leads, reps[0])
