"""Set-based INSERTs: many rows of one model written by one statement, without a model
instance per row where the database allows it.

Rows are described as one template instance (the columns every row shares) plus arrays
(the columns that vary, one value per row). On PostgreSQL that becomes a single
`INSERT ... SELECT ... FROM unnest(arrays) WITH ORDINALITY ... RETURNING id`: the driver
sends each array as one literal, so a thousand rows cost one round trip and no ORM work per
row. Elsewhere (SQLite, the embedded default) the same rows go through `bulk_create`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Field, JSONField, Model

M = TypeVar("M", bound=Model)


def _columns(model: type[Model]) -> list[Field]:
    # Generated columns are written by the database itself.
    return [f for f in model._meta.concrete_fields if not f.primary_key and not f.generated]


def _array_values(field: Field, values: Sequence[Any]) -> list[Any]:
    """Values as the driver should send them inside an array. JSON goes as text (cast to
    jsonb by the statement); other values are the plain Python types the driver adapts."""
    if isinstance(field, JSONField):
        encoder = field.encoder
        return [None if v is None else json.dumps(v, cls=encoder) for v in values]
    return list(values)


def insert_rows(model: type[M], *, template: M, arrays: dict[str, Sequence[Any]]) -> list[int]:
    """Insert one row per position of `arrays` (attname -> values, all the same length);
    every other column takes `template`'s value. Returns the new primary keys, in array
    order. A column whose default differs per row (a uuid, a clock) must come in `arrays`:
    the template holds only one value."""
    count = len(next(iter(arrays.values()))) if arrays else 0
    if any(len(values) != count for values in arrays.values()):
        raise ValueError("insert_rows: arrays of different lengths")
    per_row = [
        f.attname
        for f in _columns(model)
        if f.has_default()
        and callable(f.default)
        and f.default not in (list, dict)
        and f.attname not in arrays
    ]
    if per_row:
        raise ValueError(f"insert_rows: give {per_row} per row, not from the template")
    if count == 0:
        return []
    if connection.vendor != "postgresql":
        return _insert_with_orm(model, template, arrays, count)
    fields = _columns(model)
    unknown = set(arrays) - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"insert_rows: {sorted(unknown)} are not columns of {model.__name__}")
    varying = [f for f in fields if f.attname in arrays]
    constant = [f for f in fields if f.attname not in arrays]
    quote = connection.ops.quote_name
    unnest_args: list[str] = []
    params: list[Any] = []
    for field in varying:
        unnest_args.append(f"%s::{field.db_type(connection)}[]")
        params.append(_array_values(field, arrays[field.attname]))
    aliases = [f"a{n}" for n in range(len(varying))]
    selected = [f"t.{alias}" for alias in aliases]
    for field in constant:
        selected.append(f"%s::{field.db_type(connection)}")
    # The constants come after the arrays in the SELECT list but before them in the text.
    params = [
        field.get_db_prep_save(getattr(template, field.attname), connection) for field in constant
    ] + params
    pk = quote(model._meta.pk.column)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in varying + constant)}) "
        f"SELECT {', '.join(selected)} "
        f"FROM unnest({', '.join(unnest_args)}) WITH ORDINALITY AS t({', '.join(aliases)}, n) "
        f"ORDER BY t.n RETURNING {pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _insert_with_orm(
    model: type[M], template: M, arrays: dict[str, Sequence[Any]], count: int
) -> list[int]:
    rows = []
    for index in range(count):
        row = copy.copy(template)
        for attname, values in arrays.items():
            setattr(row, attname, values[index])
        rows.append(row)
    model.objects.bulk_create(rows)  # type: ignore[attr-defined]
    return [row.pk for row in rows]


def insert_for_each(
    model: type[M], *, key: str, ids: Sequence[int], templates: Sequence[M]
) -> list[int]:
    """One row per (id, template) pair, id-major: each template's row for every id, with
    `key` (an attname, e.g. `lead_id`) set to the id. The columns the templates disagree on
    vary per row; the rest are written once as constants."""
    if not ids or not templates:
        return []
    first = templates[0]
    differing = [
        f.attname
        for f in _columns(model)
        if f.attname != key
        and any(getattr(t, f.attname) != getattr(first, f.attname) for t in templates[1:])
    ]
    arrays: dict[str, list[Any]] = {key: [i for i in ids for _ in templates]}
    for attname in differing:
        per_template = [getattr(t, attname) for t in templates]
        arrays[attname] = per_template * len(ids)
    return insert_rows(model, template=first, arrays=arrays)
