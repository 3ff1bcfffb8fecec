"""Ceilings measured in the same run: what the database does with no product around it."""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from leads.models import Lead
from sla.models import ClockState, SlaClock

LEAD_INSERT_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "email_normalized",
    "phone",
    "company",
    "job_title",
    "source",
    "external_id",
    "stage",
    "owner_team",
    "next_step",
    "criteria_met",
    "stage_changed_at",
    "reason_note",
    "version",
    "created_at",
    "updated_at",
)


def lead_rows(prefix: str, count: int, now: datetime) -> list[tuple[object, ...]]:
    """`count` new engaged leads with unique emails and external ids."""
    return [
        (
            f"Ada{n}",
            "Bench",
            f"{prefix}{n}@ceiling.example",
            f"{prefix}{n}@ceiling.example",
            "+15550000",
            "Ceiling Inc",
            "Buyer",
            "ceiling",
            f"{prefix}{n}",
            "engaged",
            "marketing",
            "",
            "[]",
            now,
            "",
            1,
            now,
            now,
        )
        for n in range(count)
    ]


def _columns() -> list[str]:
    return [Lead._meta.get_field(c).column for c in LEAD_INSERT_COLUMNS]


class _Rollback(Exception):
    pass


def _timed_rolled_back(work) -> float:  # type: ignore[no-untyped-def]
    """Seconds `work` takes inside a transaction that is then rolled back (the table is left
    as it was, so the next measurement sees the same data)."""
    began = 0.0
    took = 0.0
    try:
        with transaction.atomic():
            began = time.perf_counter()
            work()
            took = time.perf_counter() - began
            raise _Rollback
    except _Rollback:
        pass
    return took


def insert_rates(count: int) -> dict[str, float]:
    """Rows per second for Django bulk_create, one multi-row INSERT per 1,000 rows and COPY,
    each writing the same `count` leads into the real leads table (rolled back)."""
    now = timezone.now()
    table = Lead._meta.db_table
    columns = _columns()
    rates: dict[str, float] = {}

    def bulk() -> None:
        Lead.objects.bulk_create(
            [
                Lead(**dict(zip(LEAD_INSERT_COLUMNS, row, strict=True)))
                for row in lead_rows("bulk", count, now)
            ],
            batch_size=1000,
        )

    def multirow() -> None:
        rows = lead_rows("multi", count, now)
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        with connection.cursor() as cursor:
            for start in range(0, count, 1000):
                chunk = rows[start : start + 1000]
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                    + ", ".join([placeholders] * len(chunk)),
                    [v for row in chunk for v in row],
                )

    def copy() -> None:
        buffer = io.StringIO()
        for row in lead_rows("copy", count, now):
            buffer.write(
                "\t".join(v.isoformat() if isinstance(v, datetime) else str(v) for v in row) + "\n"
            )
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)

    for name, work in (("bulk_create", bulk), ("multirow_insert", multirow), ("copy", copy)):
        rates[name] = count / _timed_rolled_back(work)
    return rates


def make_due(count: int, now: datetime) -> list[int]:
    """Bring `count` running clocks due (spread over the table), returning their ids."""
    table = SlaClock._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE state = %s", [ClockState.RUNNING.value])
        running = cursor.fetchone()[0]
        step = max(1, running // max(count, 1))
        cursor.execute(
            f"UPDATE {table} SET due_at = %s, at_risk_at = %s WHERE id IN ("
            f"SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM {table} "
            f"WHERE state = %s AND started_at < %s) AS numbered WHERE n %% %s = 0 LIMIT %s) "
            f"RETURNING id",
            [
                now - timedelta(minutes=1),
                now - timedelta(minutes=2),
                ClockState.RUNNING.value,
                now - timedelta(minutes=5),  # clocks the ingest just started stay as they are
                step,
                count,
            ],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return ids


def bare_sweep_seconds(now: datetime) -> float:
    """The bare conditional UPDATE that flags every due open clock breached (rolled back)."""
    table = SlaClock._meta.db_table

    def work() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET state = %s, breached_at = due_at "
                f"WHERE state IN (%s, %s) AND due_at <= %s",
                [
                    ClockState.BREACHED.value,
                    ClockState.RUNNING.value,
                    ClockState.AT_RISK.value,
                    now,
                ],
            )

    return min(_timed_rolled_back(work) for _ in range(3))
