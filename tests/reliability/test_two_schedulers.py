"""Two beat schedulers at once for five minutes of simulated time: no duplicate breach,
notification, outbox delivery or commitment result.

Handoff does not lock the scheduler: a double run is harmless by design. Every periodic job
claims its work with a conditional UPDATE (a clock is flagged only while still open, a breach
notified only while `processed_at` is null, an outbox row sent only while pending and not
leased), and what a job writes carries a unique key (Notification.delivery_key, the outbox's
delivery_key, CommitmentResult (commitment, period_start)). Here two threads, each with its
own database connection, run every beat job on every tick at the same moment.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db.models import Count

from crm.models import Notification, OutboxChannel, OutboxMessage
from crm.outbox import outbox_drain
from leads.models import LeadEvent
from leads.services.transitions import lead_hand_off
from sla.commitments import commitments_evaluate
from sla.models import Breach, ClockState, CommitmentResult, SlaClock
from sla.services import commitment_create, webhook_endpoint_create
from sla.sweep import sla_sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import BusinessCalendarFactory, SlaPolicyFactory
from tests.reliability.schedulers import two_schedulers

# Sunday 8 March 2026, 09:58 UTC: two minutes before a new week starts in Kiritimati (UTC+14),
# so a weekly commitment there closes a period inside the simulated five minutes.
START = datetime(2026, 3, 8, 9, 58, tzinfo=UTC)
TICK = timedelta(seconds=15)
TICKS = 20  # five minutes
LEADS = 12


@pytest.fixture
def scenario(manager, marketer, sales_rep, make_lead, receiver):
    """Clocks that go at risk and breach during the window, a commitment period that closes
    (and is missed) in it, and a webhook endpoint that hears about every breach."""
    always = BusinessCalendarFactory(actor=manager, name="Always open", always_open=True, now=START)
    SlaPolicyFactory(
        actor=manager,
        name="Accept within two minutes",
        target=timedelta(minutes=2),
        calendar=always,
        now=START,
    )
    commitment_create(
        actor=manager,
        name="Ten qualified leads a week",
        period="week",
        target_qualified=100,
        timezone_name="Pacific/Kiritimati",
        starts_on=date(2026, 3, 2),
        now=START,
    )
    webhook_endpoint_create(
        actor=manager, name="Ops", url=receiver.url, secret="signing-secret", now=START
    )
    for n in range(LEADS):
        handed_at = START + timedelta(seconds=10 * n)
        lead = make_lead(email=f"clock{n}@example.com", now=handed_at - timedelta(hours=1))
        lead_hand_off(
            lead=lead,
            actor=marketer,
            assignee=sales_rep,
            criteria=ALL_REQUIRED_CRITERIA,
            now=handed_at,
        )


def _beat_jobs(now: datetime) -> dict[str, int]:
    """What beat sends each minute (sweep, outbox re-drain, commitment evaluation)."""
    swept = sla_sweep(now=now)
    evaluated = len(commitments_evaluate(now=now))
    drained = outbox_drain(now=now)
    return {
        "breached": swept.breached,
        "at_risk": swept.at_risk,
        "notified": swept.notified,
        "evaluated": evaluated,
        "sent": drained.sent,
        "expanded": drained.expanded,
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_for_five_minutes_double_nothing(scenario, receiver, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    # Both schedulers wait for each other, the clock moves on, then both fire at once.
    with time_machine.travel(START, tick=False) as traveller:
        both = two_schedulers(traveller, START, TICK, TICKS, _beat_jobs)

    clocks = SlaClock.objects.all()
    assert clocks.count() == LEADS
    assert set(clocks.values_list("state", flat=True)) == {ClockState.BREACHED}
    # Each clock flagged once, each breach notified once, one result for the closed period.
    assert both["breached"] == LEADS
    assert both["at_risk"] == LEADS
    assert both["evaluated"] == 1
    assert CommitmentResult.objects.count() == 1
    assert Breach.objects.count() == LEADS + 1
    assert both["notified"] == LEADS + 1
    assert not Breach.objects.filter(processed_at__isnull=True).exists()
    assert (
        not Breach.objects.values("clock")
        .exclude(clock=None)
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    for state in (ClockState.AT_RISK, ClockState.BREACHED):
        flagged = Counter(
            LeadEvent.objects.filter(
                kind=LeadEvent.Kind.CLOCK, changes__state__1=state
            ).values_list("lead_id", flat=True)
        )
        assert len(flagged) == LEADS and set(flagged.values()) == {1}, (state, flagged)

    # Every outbox row delivered (or, for a breach's fan-out, expanded) exactly once.
    messages = OutboxMessage.objects.all()
    assert messages.exists()
    assert set(messages.values_list("status", flat=True)) == {OutboxMessage.Status.SENT}
    assert set(messages.values_list("attempts", flat=True)) == {1}
    assert both["expanded"] == messages.filter(channel=OutboxChannel.FAN_OUT).count() == LEADS + 1
    assert both["sent"] + both["expanded"] == messages.count()
    in_app = set(
        messages.filter(channel=OutboxChannel.IN_APP).values_list("delivery_key", flat=True)
    )
    notifications = list(Notification.objects.values_list("delivery_key", flat=True))
    assert sorted(notifications) == sorted(in_app)
    webhooks = messages.filter(channel=OutboxChannel.WEBHOOK).values_list("delivery_key", flat=True)
    assert len(webhooks) == LEADS + 1
    assert sorted(receiver.seen) == sorted(webhooks)
    assert len(mail.outbox) == messages.filter(channel=OutboxChannel.EMAIL).count()
