"""Times to goal per group (sla.metrics.times): PostgreSQL's grouping sets and the portable
window ranks give the same medians and 90th percentiles as the definition worked by hand,
for any group sizes, ties and microseconds.

Clocks are written straight to their table (met, with a time to goal hypothesis chooses),
so every grouping sees odd and even sizes, one-clock groups and equal times.
"""

from __future__ import annotations

from datetime import timedelta
from math import ceil
from statistics import median

import pytest
from django.db import connection
from django.db.models.functions import TruncWeek
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.metrics import times
from sla.models import ClockState, SlaClock
from tests.factories import LeadFactory
from tests.sla.conftest import MONDAY_10AM

COLUMNS = ("team", "owner_id", "policy_id", "week", "goal")
CLOCK = st.tuples(
    st.sampled_from(["sales", "marketing"]),
    st.booleans(),  # owned by the rep, or by nobody
    st.booleans(),  # the accept policy, or the first-touch one
    st.integers(min_value=0, max_value=20),  # days after Monday 10:00: three weeks
    # Microseconds to the goal: a few common values (ties) or any up to 12 days.
    st.one_of(
        st.sampled_from([60_000_000, 3_600_000_000, 3_600_000_001, 3]),
        st.integers(min_value=0, max_value=10**12),
    ),
)
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _write(plan, rep, policies) -> None:
    lead = LeadFactory()
    for cycle, (team, owned, first, days, micros) in enumerate(plan):
        policy = policies[first]
        started = MONDAY_10AM + timedelta(days=days, minutes=cycle)
        SlaClock.objects.create(
            lead=lead,
            policy=policy,
            cycle=cycle,
            goal=policy.goal,
            stage=policy.trigger_stage,
            team=team,
            owner=rep if owned else None,
            target=timedelta(hours=4),
            state=ClockState.MET,
            started_at=started,
            at_risk_at=started,
            due_at=started + timedelta(days=30),
            met_at=started + timedelta(microseconds=micros),
        )


def _by_hand() -> dict[str, dict[object, tuple[timedelta, timedelta]]]:
    """Per grouping and group: (median, p90 by nearest rank), the slow, obvious way."""
    groups: dict[str, dict[object, list[timedelta]]] = {column: {} for column in COLUMNS}
    for clock in SlaClock.objects.annotate(week=TruncWeek("started_at")):
        for column in COLUMNS:
            took = clock.met_at - clock.started_at
            groups[column].setdefault(getattr(clock, column), []).append(took)
    return {
        column: {
            key: (median(values), sorted(values)[ceil(0.9 * len(values)) - 1])
            for key, values in by_key.items()
        }
        for column, by_key in groups.items()
    }


def _read(found: times.Times) -> dict[str, dict[object, tuple[timedelta, timedelta]]]:
    return {
        column: {key: (group.median, group.p90) for key, group in by_key.items()}
        for column, by_key in found.items()
    }


@pytest.mark.django_db
@EXAMPLES
@given(plan=st.lists(CLOCK, min_size=1, max_size=40))
def test_every_way_gives_the_definitions_medians_and_p90(
    plan, sales_rep, accept_policy, touch_policy
) -> None:
    SlaClock.objects.all().delete()
    _write(plan, sales_rep, [accept_policy, touch_policy])
    _compare()


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 2, 3, 9, 10, 11, 20, 21])
def test_every_group_size_gives_the_definitions_figures(
    size, sales_rep, accept_policy, touch_policy
) -> None:
    """One group of `size` distinct times (and the ranks around 0.9 n differ)."""
    plan = [("sales", True, False, 0, (n + 1) * 1_000_003) for n in reversed(range(size))]
    _write(plan, sales_rep, [accept_policy, touch_policy])
    _compare()


def _compare() -> None:
    clocks = SlaClock.objects.order_by().annotate(week=TruncWeek("started_at"))
    expected = _by_hand()
    reached = clocks.filter(met_at__isnull=False).annotate(took=times.TIME_TO_GOAL)
    assert _read(times._ranked(reached, COLUMNS)) == expected
    assert _read(times.times_by_group(clocks, COLUMNS)) == expected
    if connection.vendor == "postgresql":
        assert _read(times._gathered(reached, COLUMNS)) == expected


def test_ranks_are_the_definitions() -> None:
    """Middle ranks: n=1 -> 1; n=4 -> 2, 3. The 90th percentile: ceil(0.9 n), where floating
    point would say 64 for n = 70 (0.9 * 70 = 63.000000000000007)."""
    assert [r for r in range(1, 5) if times.is_middle_rank(4, r)] == [2, 3]
    assert [r for r in range(1, 2) if times.is_middle_rank(1, r)] == [1]
    assert [r for r in range(1, 71) if times.is_p90_rank(70, r)] == [63]
    assert [r for r in range(1, 12) if times.is_p90_rank(11, r)] == [10]
