"""Decided clocks per group (sla.metrics.clock_groups): PostgreSQL's grouping sets and the
portable path give the same counts, labels, medians and 90th percentiles as the definitions
worked by hand, for any group sizes, ties and microseconds.

Clocks are written straight to their table (met or missed, with a time to goal hypothesis
chooses), so every grouping sees odd and even sizes, one-clock groups and equal times.
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

from sla.metrics import clock_groups as groups
from sla.models import ClockState, SlaClock
from tests.factories import LeadFactory
from tests.sla.conftest import MONDAY_10AM

COLUMNS = ("team", "owner_id", "policy_id", "week", "goal")
LABELS = {"owner_id": "owner__username", "policy_id": "policy__name"}
CLOCK = st.tuples(
    st.sampled_from(["sales", "marketing"]),
    st.booleans(),  # owned by the rep, or by nobody
    st.booleans(),  # the accept policy, or the first-touch one
    st.integers(min_value=0, max_value=20),  # days after Monday 10:00: three weeks
    st.booleans(),  # met in time, or missed (and maybe reached late)
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
    for cycle, (team, owned, first, days, in_time, micros) in enumerate(plan):
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
            state=ClockState.MET if in_time else ClockState.BREACHED,
            started_at=started,
            at_risk_at=started,
            due_at=started + timedelta(days=30),
            # A missed clock reached its goal late, or (every third) never.
            met_at=started + timedelta(microseconds=micros) if in_time or cycle % 3 else None,
        )


def _by_hand() -> dict[str, dict[object, tuple]]:
    """Per grouping and group: (label, met, total, median, p90 by nearest rank), the slow,
    obvious way."""
    clocks: dict[str, dict[object, list[SlaClock]]] = {column: {} for column in COLUMNS}
    for clock in SlaClock.objects.annotate(week=TruncWeek("started_at")).select_related(
        "owner", "policy"
    ):
        for column in COLUMNS:
            clocks[column].setdefault(getattr(clock, column), []).append(clock)
    labels = {
        "owner_id": lambda c: c.owner.username if c.owner else None,
        "policy_id": lambda c: c.policy.name,
    }
    found: dict[str, dict[object, tuple]] = {column: {} for column in COLUMNS}
    for column, by_key in clocks.items():
        for key, members in by_key.items():
            took = sorted(c.met_at - c.started_at for c in members if c.met_at)
            found[column][key] = (
                labels[column](members[0]) if column in labels else None,
                sum(c.state == ClockState.MET for c in members),
                len(members),
                median(took) if took else None,
                took[ceil(0.9 * len(took)) - 1] if took else None,
            )
    return found


def _read(found: groups.Groups) -> dict[str, dict[object, tuple]]:
    return {
        column: {
            key: (group.label, group.met, group.total, group.median, group.p90)
            for key, group in by_key.items()
        }
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
    plan = [("sales", True, False, 0, True, (n + 1) * 1_000_003) for n in reversed(range(size))]
    _write(plan, sales_rep, [accept_policy, touch_policy])
    _compare()


def _compare() -> None:
    decided = SlaClock.objects.order_by().annotate(week=TruncWeek("started_at"))
    expected = _by_hand()
    assert _read(groups._portable(decided, COLUMNS, LABELS)) == expected
    assert _read(groups.clock_groups(decided, COLUMNS, LABELS)) == expected
    if connection.vendor == "postgresql":
        assert _read(groups._gathered(decided, COLUMNS, LABELS)) == expected


def test_ranks_are_the_definitions() -> None:
    """Middle ranks: n=1 -> 1; n=4 -> 2, 3. The 90th percentile: rank ceil(0.9 n), in
    integers: 63 of 70, 10 of 11."""
    assert [r for r in range(1, 5) if groups.is_middle_rank(4, r)] == [2, 3]
    assert [r for r in range(1, 2) if groups.is_middle_rank(1, r)] == [1]
    assert [r for r in range(1, 71) if groups.is_p90_rank(70, r)] == [63]
    assert [r for r in range(1, 12) if groups.is_p90_rank(11, r)] == [10]
