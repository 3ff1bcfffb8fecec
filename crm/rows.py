"""Model instances from plain SELECTs, for the few reads on every request whose ORM query
cost more to compile than to run (an API key with its user, the policies a new lead starts).

`select_list(Model, alias)` names a model's concrete columns in order; `instance(Model, row)`
builds the instance from those columns as the driver returned them, converted as the ORM
would (a JSON column arrives as text). A LEFT JOIN's missing row is all NULLs: `instance`
gives None for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def select_list(model: type[Model], alias: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def instance(model: type[M], values: Sequence[Any]) -> M | None:
    fields = model._meta.concrete_fields
    if values[0] is None:  # the primary key: no row
        return None
    converted = []
    for field, value in zip(fields, values, strict=True):
        for converter in field.get_db_converters(connection):
            value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)
