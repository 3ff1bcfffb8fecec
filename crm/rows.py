"""Model instances from plain SELECTs, for the few reads on every request whose ORM query
cost more to compile than to run (an API key with its user, the policies a new lead starts).

A query selects `select_list(First, alias)` then `select_list(Second, alias)`; `pairs` runs
it prepared (crm.prepared) and builds each row's two instances, converted as the ORM would
(a JSON column arrives as text). A LEFT JOIN's missing second row is all NULLs: None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

from crm import prepared

M = TypeVar("M", bound=Model)
N = TypeVar("N", bound=Model)


def select_list(model: type[Model], alias: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def pairs(
    sql: str, params: Sequence[Any], first: type[M], second: type[N]
) -> list[tuple[M, N | None]]:
    """Each row of `sql` as its `first` instance and the `second` beside it (or None)."""
    with connection.cursor() as cursor:
        prepared.execute(cursor, sql, params)
        found = cursor.fetchall()
    split = len(first._meta.concrete_fields)
    return [
        (
            _instance(first, row[:split]),
            _instance(second, row[split:]) if row[split] is not None else None,
        )
        for row in found
    ]


def _instance(model: type[M], values: Sequence[Any]) -> M:
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        for converter in field.get_db_converters(connection):
            value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)
