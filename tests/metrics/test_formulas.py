"""Property tests on the metric formulas: rates stay within 0-100%, a lead counts once per
metric, and a period is whole days in its zone (23:59 on the last day counts in it).

Histories are written straight to the event table, so hypothesis may also try orders the
services would refuse (a second hand-off before an answer, an answer before the period):
the formulas must hold for any history. Expected counts come from the generated plan.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.lifecycle import STAGE_OWNER, Stage
from leads.models import Lead, LeadEvent
from leads.periods import Period, local_midnight
from sla.metrics.compute import MetricFilter, handoff_figures, lead_flow_figures, rate
from tests.factories import LeadFactory

ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
PERIOD = Period(first=date(2026, 3, 1), last=date(2026, 3, 31), zone="Europe/London")
# Event offsets in hours from the period's start: before it, inside it, or after it.
OFFSETS = st.integers(min_value=-24 * 10, max_value=24 * 40)
KINDS = st.sampled_from(["hand_off", "accept", "reject"])
HISTORY = st.lists(st.tuples(KINDS, OFFSETS), max_size=5)
PLANS = st.lists(HISTORY, min_size=1, max_size=6)
EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


EVENTS = {
    "hand_off": {"kind": "transition", "from_stage": "engaged", "to_stage": "qualified"},
    "accept": {"kind": "accepted"},
    "reject": {"kind": "transition", "from_stage": "qualified", "to_stage": "nurture"},
}


def _write(plan: list[list[tuple[str, int]]]) -> None:
    start = PERIOD.start
    assert start is not None
    for history in plan:
        lead = LeadFactory(created_at=start - timedelta(days=20))
        for kind, hours in history:
            at = start + timedelta(hours=hours)
            fields = {
                "hand_off": {
                    "kind": "transition",
                    "from_stage": "engaged",
                    "to_stage": "qualified",
                },
                "accept": {"kind": "accepted"},
                "reject": {"kind": "transition", "from_stage": "qualified", "to_stage": "nurture"},
            }[kind]
            LeadEvent.objects.create(lead=lead, created_at=at, **fields)


def _expected(plan: list[list[tuple[str, int]]]) -> tuple[int, int, int]:
    """Handed off, accepted, rejected, counted from the plan by the documented rule."""
    end_hours = (PERIOD.end - PERIOD.start).total_seconds() / 3600  # type: ignore[operator]
    handed = accepted = rejected = 0
    for history in plan:
        if not any(kind == "hand_off" and 0 <= h < end_hours for kind, h in history):
            continue
        handed += 1
        was_accepted = any(kind == "accept" and h >= 0 for kind, h in history)
        was_rejected = any(kind == "reject" and h >= 0 for kind, h in history)
        accepted += was_accepted
        rejected += was_rejected and not was_accepted
    return handed, accepted, rejected


@pytest.mark.django_db
@EXAMPLES
@given(plan=PLANS)
def test_hand_off_figures_count_each_lead_once_and_rates_stay_in_range(plan):
    with transaction.atomic():
        _write(plan)
        values, reasons = handoff_figures(MetricFilter(period=PERIOD))
        transaction.set_rollback(True)
    assert (values["handed_off"], values["accepted"], values["rejected"]) == _expected(plan)
    assert values["accepted"] + values["rejected"] <= values["handed_off"]
    for key in ("acceptance_rate", "acceptance_rate_all"):
        assert values[key] is None or 0 <= values[key] <= 100
    assert sum(count for _, count in reasons) == values["rejected"]


STAGES = st.sampled_from([Stage.ENGAGED, Stage.OPPORTUNITY, Stage.WON, Stage.LOST])


@pytest.mark.django_db
@EXAMPLES
@given(leads=st.lists(st.tuples(STAGES, OFFSETS, OFFSETS), min_size=1, max_size=8))
def test_lead_figures_count_each_lead_once_and_the_win_rate_stays_in_range(leads):
    start = PERIOD.start
    assert start is not None
    with transaction.atomic():
        for stage, created, moved in leads:
            closed = start + timedelta(hours=moved) if stage in (Stage.WON, Stage.LOST) else None
            reached = None if stage == Stage.ENGAGED else start + timedelta(hours=moved)
            LeadFactory(
                stage=stage,
                owner_team=STAGE_OWNER[stage],
                created_at=start + timedelta(hours=created),
                first_opportunity_at=reached,
                closed_at=closed,
            )
        values, by_stage = lead_flow_figures(MetricFilter(period=PERIOD), start)
        transaction.set_rollback(True)
    inside = [PERIOD.start <= start + timedelta(hours=h) < PERIOD.end for _, h, _ in leads]
    assert values["new_leads"] == sum(inside) == sum(row["count"] for row in by_stage.values())
    assert values["opportunities"] <= len(leads)
    assert values["win_rate"] is None or 0 <= values["win_rate"] <= 100


@given(part=st.integers(min_value=0, max_value=10**6), extra=st.integers(0, 10**6))
def test_a_rate_is_a_share_between_0_and_100(part, extra):
    share = rate(part, part + extra)
    assert share is None or 0 <= share <= 100
    assert rate(part, 0) is None


DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@given(zone=st.sampled_from(ZONES), first=DAYS, length=st.integers(0, 400))
def test_a_period_holds_whole_local_days(zone, first, length):
    period = Period(first=first, last=first + timedelta(days=length), zone=zone)
    tz = ZoneInfo(zone)
    last_minute = datetime.combine(period.last, time(23, 59), tzinfo=tz).astimezone(UTC)
    next_midnight = datetime.combine(period.last + timedelta(days=1), time(0), tzinfo=tz)
    first_midnight = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    assert period.start == first_midnight == local_midnight(first, zone)
    assert period.start <= last_minute < period.end
    assert period.end == next_midnight.astimezone(UTC)


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ZONES)
def test_a_hand_off_at_23_59_on_the_last_day_counts_in_that_period(zone, settings):
    settings.TIME_ZONE = zone
    # The last Sunday of March: summer time starts in London that morning.
    period = Period(first=date(2026, 3, 23), last=date(2026, 3, 29), zone=zone)
    tz = ZoneInfo(zone)
    moments = {
        "first minute": datetime.combine(period.first, time(0), tzinfo=tz),
        "last minute": datetime.combine(period.last, time(23, 59), tzinfo=tz),
        "a minute before": datetime.combine(period.first, time(0), tzinfo=tz)
        - timedelta(minutes=1),
        "the next midnight": datetime.combine(period.last + timedelta(days=1), time(0), tzinfo=tz),
    }
    leads = {}
    for name, moment in moments.items():
        leads[name] = lead = LeadFactory(created_at=moment - timedelta(days=30))
        LeadEvent.objects.create(
            lead=lead,
            kind="transition",
            from_stage="engaged",
            to_stage="qualified",
            created_at=moment,
        )
    values, _ = handoff_figures(MetricFilter(period=period))
    assert values["handed_off"] == 2
    counted = Lead.objects.filter(
        pk__in=LeadEvent.objects.filter(
            created_at__gte=period.start, created_at__lt=period.end
        ).values("lead_id")
    )
    assert set(counted) == {leads["first minute"], leads["last minute"]}
