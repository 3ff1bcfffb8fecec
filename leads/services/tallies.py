"""The leads' kept counts (LeadTally): fold the change rows the database appends, and
recompute them from the leads to prove them right.

Folding is a claimed step, not part of each write: the triggers only append, so concurrent
writers never wait on one another's count row, and a fold takes exactly the rows it deleted
(DELETE ... RETURNING), so a change committed meanwhile waits for the next fold.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from leads.models import Lead, LeadTally

Key = tuple[str, int, int, int, str]
Counts = tuple[int, int, Decimal]
_TABLE = LeadTally._meta.db_table
_COLUMNS = (*LeadTally.KEY, "leads", "opportunities", "value")


def _add(totals: dict[Key, list], key: Key, leads: int, opportunities: int, value) -> None:
    total = totals[key]
    total[0] += leads
    total[1] += opportunities
    total[2] += Decimal(str(value or 0))  # SQLite hands back a float


def _tally_rows(counts: dict[Key, Counts]) -> list[LeadTally]:
    """One row per key."""
    return [
        LeadTally(**dict(zip(LeadTally.KEY, key, strict=True)), leads=n, opportunities=o, value=v)
        for key, (n, o, v) in counts.items()
    ]


def _summed(totals: dict[Key, list]) -> dict[Key, Counts]:
    return {key: (n, o, v) for key, (n, o, v) in totals.items() if n or o or v}


def tallies_fold() -> int:
    """Fold every change row into one row per key (keys that add up to nothing go). Returns
    how many rows were folded. Safe to run anywhere, any time, twice at once."""
    totals: dict[Key, list] = defaultdict(lambda: [0, 0, Decimal("0")])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_TABLE} RETURNING {', '.join(_COLUMNS)}")
        rows = cursor.fetchall()
        for *key, leads, opportunities, value in rows:
            _add(totals, tuple(key), leads, opportunities, value)
        LeadTally.objects.bulk_create(_tally_rows(_summed(totals)))
    return len(rows)


def tallies_now() -> dict[Key, Counts]:
    """The kept counts per key, change rows included (what the figures read)."""
    totals: dict[Key, list] = defaultdict(lambda: [0, 0, Decimal("0")])
    for row in LeadTally.objects.values_list(*_COLUMNS):
        _add(totals, row[:5], *row[5:])
    return _summed(totals)


def tallies_recomputed() -> dict[Key, Counts]:
    """The same counts recomputed from the leads themselves."""
    rows = (
        Lead.objects.order_by()
        .values_list("owner_team", "owner_id", "campaign_id", "persona_id", "stage")
        .annotate(
            n=Count("id"),
            o=Count("id", filter=Q(first_opportunity_at__isnull=False)),
            v=Coalesce(Sum("estimated_value"), Decimal("0")),
        )
    )
    return {
        (team, owner or 0, campaign or 0, persona or 0, stage): (n, o, Decimal(v))
        for team, owner, campaign, persona, stage, n, o, v in rows
    }


@dataclass(frozen=True)
class TallyDifference:
    key: Key
    kept: Counts | None
    recomputed: Counts | None


def tallies_differences() -> list[TallyDifference]:
    """Where the kept counts and the leads disagree (none, unless something wrote around
    the database's triggers)."""
    kept, recomputed = tallies_now(), tallies_recomputed()
    return [
        TallyDifference(key, kept.get(key), recomputed.get(key))
        for key in sorted({*kept, *recomputed}, key=str)
        if kept.get(key) != recomputed.get(key)
    ]


def tallies_rebuild() -> None:
    """Replace the kept counts with a recomputation from the leads, in one transaction that
    locks out lead writes meanwhile (their changes would otherwise count twice or not at all).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Lead._meta.db_table} IN SHARE MODE")
        counts = tallies_recomputed()
        LeadTally.objects.all().delete()
        LeadTally.objects.bulk_create(_tally_rows(counts))
