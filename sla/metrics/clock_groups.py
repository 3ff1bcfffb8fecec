"""Decided SLA clocks per group, for several groupings of the same clocks at once: how many
promises were met, missed and exempted, and the median and 90th percentile time to goal of
those that reached it.

The median is the mean of the one or two middle times (ranks of `is_middle_rank`), the 90th
percentile the time at the nearest rank ceil(0.9 n) (`is_p90_rank`); both in integer rank
arithmetic, so every database and every grouping gives the same value to the microsecond.

On PostgreSQL it is one query: each grouping is a grouping set that counts its clocks and
gathers their times in order, read at those ranks. Elsewhere (SQLite, the embedded default)
each grouping's counts are one GROUP BY, and window functions rank every clock once per
grouping so that only the rows at a wanted rank come back. Both give the same figures
(tests/sla/test_clock_groups.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connections
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.db.models.lookups import GreaterThanOrEqual, LessThan, LessThanOrEqual

from sla.models import ClockState, SlaClock

# A clock's time from start to its goal, wall-clock.
TIME_TO_GOAL = ExpressionWrapper(F("met_at") - F("started_at"), output_field=DurationField())
# A missed promise a manager exempted (sla.exemptions): adjusted compliance leaves it out.
# The clock's breach row is one-to-one, so counting through it never doubles a clock.
EXEMPTED = Q(breach__exempted_at__isnull=False)
MET = Q(state=ClockState.MET)


def is_middle_rank(size: int, rank: int) -> bool:
    """Rank r of n is a middle one (the median is the mean of one or two of them)."""
    return size <= 2 * rank <= size + 2


def is_p90_rank(size: int, rank: int) -> bool:
    """Rank r of n is the 90th percentile by nearest rank (r = ceil(0.9 n))."""
    return 9 * size <= 10 * rank < 9 * size + 10


@dataclass
class ClockGroup:
    """One group's decided clocks: counts, and the times to goal of those that reached it."""

    label: Any = None
    met: int = 0
    total: int = 0
    exempted: int = 0
    middle: list[timedelta] = field(default_factory=list)
    p90: timedelta | None = None

    @property
    def missed(self) -> int:
        return self.total - self.met

    @property
    def median(self) -> timedelta | None:
        return sum(self.middle, timedelta()) / len(self.middle) if self.middle else None


Groups = dict[str, dict[Any, ClockGroup]]


def clock_groups(
    decided: QuerySet[SlaClock], columns: Sequence[str], labels: Mapping[str, str] | None = None
) -> Groups:
    """For each of `columns` (fields or annotations of `decided`), each of its values -> that
    group's figures. `labels` names, for a column, another one read along with it (e.g. the
    owner's username for `owner_id`) into `ClockGroup.label`."""
    labels = labels or {}
    if connections[decided.db].vendor == "postgresql":
        return _gathered(decided, columns, labels)
    return _portable(decided, columns, labels)


def _named(column: str, labels: Mapping[str, str]) -> list[str]:
    """A grouping's columns: its own, and its label's when it has one."""
    return [column, *([labels[column]] if column in labels else [])]


def _portable(
    decided: QuerySet[SlaClock], columns: Sequence[str], labels: Mapping[str, str]
) -> Groups:
    """Any database: one GROUP BY per column for the counts, one query for the times."""
    groups: Groups = {column: {} for column in columns}
    for column in columns:
        for row in decided.values(*_named(column, labels)).annotate(
            n_met=Count("id", filter=MET),
            n_total=Count("id"),
            n_exempted=Count("id", filter=EXEMPTED),
        ):
            groups[column][row[column]] = ClockGroup(
                label=row.get(labels.get(column, "")),
                met=row["n_met"],
                total=row["n_total"],
                exempted=row["n_exempted"],
            )
    reached = decided.filter(met_at__isnull=False).annotate(took=TIME_TO_GOAL)
    _rank_times(reached, groups)
    return groups


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def _gathered(
    decided: QuerySet[SlaClock], columns: Sequence[str], labels: Mapping[str, str]
) -> Groups:
    """PostgreSQL: one grouping set per column (with its label); each group's counts, and
    its times in order, read at the middle and 90th-percentile ranks (arrays count from 1)."""
    connection = connections[decided.db]
    label_columns = [labels[column] for column in columns if column in labels]
    rows = decided.annotate(
        took=Case(When(met_at__isnull=False, then=TIME_TO_GOAL)),
        is_met=_flag(MET),
        is_exempted=_flag(EXEMPTED),
    ).values(*columns, *label_columns, "took", "is_met", "is_exempted")
    compiler = rows.query.get_compiler(using=decided.db)
    inner, params = compiler.as_sql()
    # The columns' own conversions (a truncated week comes back in the current zone).
    converters = compiler.get_converters([expression for expression, _, _ in compiler.select])
    name = connection.ops.quote_name
    grouped = [*columns, *label_columns]
    sets = ", ".join(
        "("
        + ", ".join(name(c) for c in (column, *([labels[column]] if column in labels else [])))
        + ")"
        for column in columns
    )
    flags = ", ".join(f"GROUPING({name(column)}) AS g{i}" for i, column in enumerate(columns))
    kept = ", ".join([*(name(c) for c in grouped), *(f"g{i}" for i in range(len(columns)))])
    sql = (
        f"SELECT {kept}, met, total, exempted, reached, "
        "times[(reached + 1) / 2], times[reached / 2 + 1], times[(9 * reached + 9) / 10] "
        f"FROM (SELECT {', '.join(name(c) for c in grouped)}, {flags}, "
        "SUM(q.is_met) AS met, COUNT(*) AS total, SUM(q.is_exempted) AS exempted, "
        "COUNT(q.took) AS reached, "
        "array_agg(q.took ORDER BY q.took) FILTER (WHERE q.took IS NOT NULL) AS times "
        f"FROM ({inner}) q GROUP BY GROUPING SETS ({sets})) s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    groups: Groups = {column: {} for column in columns}
    width = len(grouped)
    for row in fetched:
        values = next(compiler.apply_converters([[*row[:width], None, 0, 0]], converters))
        flags_ = row[width : width + len(columns)]
        met, total, exempted, reached, low, high, p90 = row[width + len(columns) :]
        column = columns[flags_.index(0)]
        group = ClockGroup(met=int(met), total=total, exempted=int(exempted))
        if column in labels:
            group.label = values[len(columns) + label_columns.index(labels[column])]
        if reached:
            group.middle, group.p90 = ([low] if reached % 2 else [low, high]), p90
        groups[column][values[columns.index(column)]] = group
    return groups


def _rank_q(column: str) -> Q:
    """The rows at a middle or the 90th-percentile rank of their group of `column`: the
    database side of is_middle_rank and is_p90_rank."""
    n, r = F(f"{column}_size"), F(f"{column}_rank")
    middle = Q(LessThanOrEqual(n, r * 2)) & Q(GreaterThanOrEqual(n + 2, r * 2))
    p90 = Q(LessThanOrEqual(n * 9, r * 10)) & Q(LessThan(r * 10, n * 9 + 10))
    return middle | p90


def _rank_times(reached: QuerySet[SlaClock], groups: Groups) -> None:
    """Each group's middle and 90th-percentile times, into `groups`: every clock ranked by
    its time within each grouping by a window; only the rows at a wanted rank of some group
    come back (a few per group)."""
    wanted = Q()
    for column in groups:
        reached = reached.annotate(
            **{
                f"{column}_rank": Window(
                    RowNumber(), partition_by=[F(column)], order_by=[F("took").asc(), "id"]
                ),
                f"{column}_size": Window(Count("id"), partition_by=[F(column)]),
            }
        )
        wanted |= _rank_q(column)
    ranks = [f"{column}_{x}" for column in groups for x in ("rank", "size")]
    for row in reached.filter(wanted).values("took", *groups, *ranks):
        for column, by_value in groups.items():
            size, rank = row[f"{column}_size"], row[f"{column}_rank"]
            if is_middle_rank(size, rank):
                by_value[row[column]].middle.append(row["took"])
            if is_p90_rank(size, rank):
                by_value[row[column]].p90 = row["took"]
