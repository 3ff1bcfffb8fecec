"""Marketing's commitments: live progress, and a missed period becomes a breach."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import OutboxMessage
from crm.outbox import outbox_drain
from leads.services.transitions import lead_accept
from sla.commitments import commitment_progress, commitments_evaluate, period_bounds
from sla.models import Breach, CommitmentResult
from sla.services import commitment_create
from sla.sweep import breaches_notify

pytestmark = pytest.mark.django_db


@pytest.fixture
def commitment(manager):
    return commitment_create(
        actor=manager,
        name="Two qualified leads a week, half accepted",
        period="week",
        target_qualified=2,
        min_acceptance_rate="0.5",
        timezone_name="Europe/London",
        starts_on=date(2026, 3, 2),
    )


def test_period_bounds_follow_the_local_calendar(commitment, manager):
    start, end = period_bounds(commitment, datetime(2026, 3, 4, 12, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC))
    monthly = commitment_create(
        actor=manager, name="m", period="month", target_qualified=1,
        timezone_name="Europe/London", starts_on=date(2026, 1, 1),
    )  # fmt: skip
    # London is on summer time in July: the month starts at 23:00 UTC the day before.
    start, end = period_bounds(monthly, datetime(2026, 7, 15, tzinfo=UTC))
    assert start == datetime(2026, 6, 30, 23, tzinfo=UTC)
    assert end == datetime(2026, 7, 31, 23, tzinfo=UTC)


def test_progress_is_live(commitment, hand_off, sales_rep):
    monday = datetime(2026, 3, 2, 10, tzinfo=UTC)
    lead = hand_off(at=monday)
    lead_accept(lead=lead, actor=sales_rep, now=monday + timedelta(hours=1))
    hand_off(at=monday + timedelta(days=1))

    progress = commitment_progress(commitment=commitment, now=monday + timedelta(days=2))
    assert (progress.qualified, progress.accepted) == (2, 1)
    assert progress.acceptance_rate == pytest.approx(0.5)
    assert progress.met and progress.percent_of_target == 100


def test_a_missed_period_becomes_a_breach_once(commitment, hand_off, manager):
    hand_off(at=datetime(2026, 3, 3, 10, tzinfo=UTC))  # one of two, none accepted
    after_two_weeks = datetime(2026, 3, 16, 1, tzinfo=UTC)

    results = commitments_evaluate(now=after_two_weeks)
    assert [(r.qualified, r.accepted, r.met) for r in results] == [(1, 0, False), (0, 0, False)]
    assert commitments_evaluate(now=after_two_weeks) == []
    breaches = Breach.objects.filter(kind=Breach.Kind.COMMITMENT).order_by("breached_at")
    assert [b.breached_at for b in breaches] == [
        datetime(2026, 3, 9, tzinfo=UTC),
        datetime(2026, 3, 16, tzinfo=UTC),
    ]
    assert "1/2 qualified" in breaches[0].summary

    assert breaches_notify(now=after_two_weeks) == 2
    assert OutboxMessage.objects.filter(channel="fan_out").count() == 2
    outbox_drain(now=after_two_weeks)
    assert OutboxMessage.objects.filter(recipient=manager, channel="in_app").count() == 2
    assert CommitmentResult.objects.count() == 2


def test_a_met_period_is_recorded_without_a_breach(commitment, hand_off, sales_rep):
    for day in (2, 3):
        lead = hand_off(at=datetime(2026, 3, day, 10, tzinfo=UTC))
        lead_accept(lead=lead, actor=sales_rep, now=datetime(2026, 3, day, 11, tzinfo=UTC))
    (result,) = commitments_evaluate(now=datetime(2026, 3, 10, tzinfo=UTC))
    assert result.met
    assert not Breach.objects.exists()


@pytest.mark.parametrize(
    ("handed", "accepted", "day", "status"),
    [
        (2, 1, 2, "met"),  # both targets reached
        (1, 1, 2, "on track"),  # half the volume with a third of the week gone
        (1, 1, 6, "at risk"),  # half the volume, the week nearly over
        (2, 0, 2, "at risk"),  # the volume, but sales accepts none of it
        (1, 1, 8, "missed"),  # measured after the week
    ],
)
def test_progress_says_its_status(commitment, hand_off, sales_rep, handed, accepted, day, status):
    monday = datetime(2026, 3, 2, 10, tzinfo=UTC)
    for n in range(handed):
        lead = hand_off(at=monday + timedelta(minutes=n))
        if n < accepted:
            lead_accept(lead=lead, actor=sales_rep, now=monday + timedelta(hours=1))
    at = monday + timedelta(days=day)
    measured = commitment_progress(commitment=commitment, now=min(at, monday + timedelta(days=2)))
    progress = dataclasses.replace(measured, as_of=at)
    assert progress.status == status
    assert progress.volume_percent == 50.0 * handed


def test_the_dashboard_draws_a_failing_commitment_as_failing(client, commitment, hand_off, manager):
    hand_off(at=timezone.now())
    client.force_login(manager)
    page = client.get(reverse("dashboard")).content.decode()
    block = page[page.index(f'id="commitment-{commitment.pk}"') :][:3000]
    assert 'data-status="at risk"' in block or 'data-status="on track"' in block
    assert "of 2 hand-offs" in block and 'max="2" value="1"' in block
    assert 'data-metric="commitment_volume"' in block and ">50.0%<" in block
