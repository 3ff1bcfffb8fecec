"""Times to goal per group: the median and the 90th percentile of the clocks that reached
their goal, for several groupings of the same clocks in one query.

The median is the mean of the one or two middle times (ranks of `is_middle_rank`), the 90th
percentile the time at the nearest rank ceil(0.9 n) (`is_p90_rank`); both in integer rank
arithmetic, so every database and every grouping gives the same value to the microsecond.

On PostgreSQL each grouping is a grouping set whose times are gathered in order and indexed
at those ranks; elsewhere (SQLite, the embedded default) window functions rank every clock
once per grouping and only the rows at a wanted rank come back. Both read the same clocks
and give the same figures (tests/sla/test_times_to_goal.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connections
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.db.models.lookups import GreaterThanOrEqual, LessThan, LessThanOrEqual

from sla.models import SlaClock

# A clock's time from start to its goal, wall-clock.
TIME_TO_GOAL = ExpressionWrapper(F("met_at") - F("started_at"), output_field=DurationField())


def is_middle_rank(size: int, rank: int) -> bool:
    """Rank r of n is a middle one (the median is the mean of one or two of them)."""
    return size <= 2 * rank <= size + 2


def is_p90_rank(size: int, rank: int) -> bool:
    """Rank r of n is the 90th percentile by nearest rank (r = ceil(0.9 n))."""
    return 9 * size <= 10 * rank < 9 * size + 10


@dataclass
class GroupTimes:
    """One group's times to goal: its one or two middle times and its 90th percentile."""

    middle: list[timedelta] = field(default_factory=list)
    p90: timedelta | None = None

    @property
    def median(self) -> timedelta | None:
        return sum(self.middle, timedelta()) / len(self.middle) if self.middle else None


Times = dict[str, dict[Any, GroupTimes]]


def times_by_group(clocks: QuerySet[SlaClock], columns: Sequence[str]) -> Times:
    """For each of `columns` (fields or annotations of `clocks`), each of its values -> the
    times to goal of the clocks with that value that reached their goal. One query."""
    reached = clocks.filter(met_at__isnull=False).annotate(took=TIME_TO_GOAL)
    if connections[reached.db].vendor == "postgresql":
        return _gathered(reached, columns)
    return _ranked(reached, columns)


def _gathered(reached: QuerySet[SlaClock], columns: Sequence[str]) -> Times:
    """PostgreSQL: one grouping set per column; each group's times in order, read at the
    middle and 90th-percentile ranks (arrays count from 1)."""
    connection = connections[reached.db]
    compiler = reached.values(*columns, "took").query.get_compiler(using=reached.db)
    inner, params = compiler.as_sql()
    # The columns' own conversions (a truncated week comes back in the current zone).
    converters = compiler.get_converters([expression for expression, _, _ in compiler.select])
    names = [connection.ops.quote_name(column) for column in columns]
    sets = ", ".join(f"({name})" for name in names)
    flags = ", ".join(f"GROUPING({name}) AS g{i}" for i, name in enumerate(names))
    sql = (
        f"SELECT {', '.join(f'g{i}' for i in range(len(names)))}, n, "
        "times[(n + 1) / 2], times[n / 2 + 1], times[(9 * n + 9) / 10], "
        f"{', '.join(names)} FROM ("
        f"SELECT {', '.join(names)}, {flags}, COUNT(*) AS n, "
        "array_agg(q.took ORDER BY q.took) AS times "
        f"FROM ({inner}) q GROUP BY GROUPING SETS ({sets})) s"
    )
    found: Times = {column: {} for column in columns}
    width = len(columns)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for row in rows:
        flags_, (n, low, high, p90) = row[:width], row[width : width + 4]
        values = next(compiler.apply_converters([[*row[width + 4 :], low]], converters))
        at = flags_.index(0)
        middle = [low] if n % 2 else [low, high]
        found[columns[at]][values[at]] = GroupTimes(middle=middle, p90=p90)
    return found


def _rank_q(column: str) -> Q:
    """The rows at a middle or the 90th-percentile rank of their group of `column`: the
    database side of is_middle_rank and is_p90_rank."""
    n, r = F(f"{column}_size"), F(f"{column}_rank")
    middle = Q(LessThanOrEqual(n, r * 2)) & Q(GreaterThanOrEqual(n + 2, r * 2))
    p90 = Q(LessThanOrEqual(n * 9, r * 10)) & Q(LessThan(r * 10, n * 9 + 10))
    return middle | p90


def _ranked(reached: QuerySet[SlaClock], columns: Sequence[str]) -> Times:
    """Any database: each clock ranked by its time within each grouping by a window; only
    the rows at a wanted rank of some group come back (a few per group)."""
    wanted = Q()
    for column in columns:
        reached = reached.annotate(
            **{
                f"{column}_rank": Window(
                    RowNumber(), partition_by=[F(column)], order_by=[F("took").asc(), "id"]
                ),
                f"{column}_size": Window(Count("id"), partition_by=[F(column)]),
            }
        )
        wanted |= _rank_q(column)
    ranks = [f"{column}_{x}" for column in columns for x in ("rank", "size")]
    found: Times = {column: defaultdict(GroupTimes) for column in columns}
    for row in reached.filter(wanted).values("took", *columns, *ranks):
        for column in columns:
            size, rank = row[f"{column}_size"], row[f"{column}_rank"]
            if is_middle_rank(size, rank):
                found[column][row[column]].middle.append(row["took"])
            if is_p90_rank(size, rank):
                found[column][row[column]].p90 = row["took"]
    return {column: dict(groups) for column, groups in found.items()}
