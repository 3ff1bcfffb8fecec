"""Set-based INSERTs: new rows of one model, and the rows that go with each of them (its
history, its clocks), written by one statement without a model instance per row.

The new rows are described as one template instance (the columns every row shares) plus
arrays (the columns that vary, one value per row); the rows that go with each new row as
`PerRow` templates. On PostgreSQL that becomes a single statement:

    WITH new AS (INSERT ... SELECT ... FROM unnest(arrays) WITH ORDINALITY ... ORDER BY n
                 ON CONFLICT DO NOTHING RETURNING id, ...),
         c0 AS (INSERT INTO <child table> SELECT ... FROM new CROSS JOIN unnest(templates) ...)
    SELECT id, ... FROM new ORDER BY id

The driver sends each array as one literal, so a thousand rows and their children cost one
round trip, no ORM work per row, and (outside a transaction) no BEGIN or COMMIT: one statement
is one transaction. A row that a unique index refuses is skipped with its children, and the
caller learns which rows were written from what comes back. Elsewhere (SQLite, the embedded
default) the same rows go through the ORM: one bulk insert, or one savepoint per new row
when a unique index refuses one of them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models import Field, JSONField, Model

from crm import prepared

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class PerRow:
    """Rows of `model` written for every new row: one per template, in template order, with
    `key` (an attname such as `lead_id`) set to the new row's id. Each column named in
    `parent_json` holds a JSON object of the new row's columns ({json key: attname})."""

    model: type[Model]
    key: str
    templates: Sequence[Model]
    parent_json: dict[str, dict[str, str]] = field(default_factory=dict)


def _columns(model: type[Model]) -> list[Field]:
    # Generated columns are written by the database itself.
    return [f for f in model._meta.concrete_fields if not f.primary_key and not f.generated]


_CASTS: dict[Field, str] = {}


def _cast(field: Field) -> str:
    # Asked for every column of every statement: worked out once per field.
    if field not in _CASTS:
        _CASTS[field] = field.db_type(connection)
    return _CASTS[field]


def _array_values(field: Field, values: Sequence[Any]) -> list[Any]:
    """Values as the driver should send them inside an array. JSON goes as text (cast to
    jsonb by the statement); other values are the plain Python types the driver adapts."""
    if isinstance(field, JSONField):
        encoder = field.encoder
        return [None if v is None else json.dumps(v, cls=encoder) for v in values]
    return list(values)


def _constant(field: Field, template: Model) -> Any:
    return field.get_db_prep_save(getattr(template, field.attname), connection)


def _check(model: type[Model], arrays: dict[str, Sequence[Any]]) -> int:
    count = len(next(iter(arrays.values()))) if arrays else 0
    if any(len(values) != count for values in arrays.values()):
        raise ValueError("insert_new_rows: arrays of different lengths")
    names = {f.attname for f in _columns(model)}
    unknown = set(arrays) - names
    if unknown:
        raise ValueError(f"insert_new_rows: {sorted(unknown)} are not columns of {model.__name__}")
    per_row = [
        f.attname
        for f in _columns(model)
        if f.has_default()
        and callable(f.default)
        and f.default not in (list, dict)
        and f.attname not in arrays
    ]
    if per_row:
        raise ValueError(f"insert_new_rows: give {per_row} per row, not from the template")
    return count


def insert_new_rows(
    model: type[M],
    *,
    template: M,
    arrays: dict[str, Sequence[Any]],
    returning: Sequence[str] = (),
    children: Sequence[PerRow] = (),
) -> list[tuple[Any, ...]]:
    """Insert one row per position of `arrays` (attname -> values, all the same length;
    every other column takes `template`'s value) with the `children` of each, skipping a row
    that a unique index refuses. Returns `(id, *returning)` for each row written, in array
    order. A column whose default differs per row (a uuid, a clock) must come in `arrays`:
    the template holds only one value."""
    count = _check(model, arrays)
    if count == 0:
        return []
    children = [child for child in children if child.templates]
    if connection.vendor != "postgresql":
        return _insert_with_orm(model, template, arrays, count, returning, children)
    quote = connection.ops.quote_name
    pk = model._meta.pk.column
    fields = _columns(model)
    varying = [f for f in fields if f.attname in arrays]
    constant = [f for f in fields if f.attname not in arrays]
    selected = [f"t.a{n}" for n in range(len(varying))] + [f"%s::{_cast(f)}" for f in constant]
    params: list[Any] = [_constant(f, template) for f in constant]
    unnest = ", ".join(f"%s::{_cast(f)}[]" for f in varying)
    params += [_array_values(f, arrays[f.attname]) for f in varying]
    aliases = ", ".join(f"a{n}" for n in range(len(varying)))
    wanted = [model._meta.get_field(name).column for name in returning]
    for child in children:
        for pairs in child.parent_json.values():
            wanted += [model._meta.get_field(name).column for name in pairs.values()]
    wanted = list(dict.fromkeys(wanted))
    sql = (
        f"WITH new AS (INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in varying + constant)}) "
        f"SELECT {', '.join(selected)} FROM unnest({unnest}) WITH ORDINALITY AS t({aliases}, n) "
        f"ORDER BY t.n ON CONFLICT DO NOTHING "
        f"RETURNING {', '.join(quote(c) for c in [pk, *wanted])})"
    )
    by_model: dict[type[Model], list[PerRow]] = {}
    for child in children:
        by_model.setdefault(child.model, []).append(child)
    for number, (child_model, parts) in enumerate(by_model.items()):
        child_sql, child_params = _children_sql(model, child_model, parts)
        sql += f", c{number} AS ({child_sql})"
        params += child_params
    returned = ", ".join(quote(model._meta.get_field(name).column) for name in returning)
    sql += f" SELECT {quote(pk)}{', ' + returned if returned else ''} FROM new ORDER BY {quote(pk)}"
    with connection.cursor() as cursor:
        if count == 1:
            # Planning this statement costs the server as much as running it for one row
            # (the single-lead ingest row of the bench); a batch pays it once for many.
            prepared.execute(cursor, sql, params)
        else:
            cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def _children_sql(
    parent: type[Model], model: type[Model], parts: list[PerRow]
) -> tuple[str, list[Any]]:
    """One INSERT for every PerRow of `model`: the rows of each new row together, in the
    order of the parts and their templates (so ids, and a timeline ordered by them, follow
    it)."""
    quote = connection.ops.quote_name
    fields = _columns(model)
    params: list[Any] = []
    selects = []
    for number, part in enumerate(parts):
        first = part.templates[0]
        varying = [
            f
            for f in fields
            if f.attname != part.key
            and f.attname not in part.parent_json
            and any(getattr(t, f.attname) != getattr(first, f.attname) for t in part.templates)
        ]
        columns = []
        for f in fields:
            if f.attname == part.key:
                columns.append(f"p.{quote(parent._meta.pk.column)}")
            elif f.attname in part.parent_json:
                pairs = part.parent_json[f.attname]
                inner = ", ".join(
                    f"%s::text, p.{quote(parent._meta.get_field(name).column)}"
                    for name in pairs.values()
                )
                params += list(pairs)
                columns.append(f"jsonb_build_object({inner})")
            elif f in varying:
                columns.append(f"t.a{varying.index(f)}")
            else:
                columns.append(f"%s::{_cast(f)}")
                params.append(_constant(f, first))
        unnest = ", ".join(f"%s::{_cast(f)}[]" for f in varying) or "ARRAY[NULL]::int[]"
        params += [
            _array_values(f, [getattr(t, f.attname) for t in part.templates]) for f in varying
        ]
        aliases = ", ".join(f"a{n}" for n in range(len(varying))) or "a"
        selects.append(
            f"SELECT p.{quote(parent._meta.pk.column)} AS k0, {number} AS k1, t.n AS k2, "
            + ", ".join(f"{c} AS v{n}" for n, c in enumerate(columns))
            + f" FROM new AS p CROSS JOIN unnest({unnest}) WITH ORDINALITY AS t({aliases}, n)"
        )
    values = ", ".join(f"v{n}" for n in range(len(fields)))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT {values} FROM ({' UNION ALL '.join(selects)}) AS rows ORDER BY k0, k1, k2"
    )
    return sql, params


def _instance(template: M) -> M:
    row = copy.copy(template)
    row._state = copy.copy(template._state)
    return row


def _insert_with_orm(
    model: type[M],
    template: M,
    arrays: dict[str, Sequence[Any]],
    count: int,
    returning: Sequence[str],
    children: Sequence[PerRow],
) -> list[tuple[Any, ...]]:
    def rows() -> list[M]:
        made = [_instance(template) for _ in range(count)]
        for attname, values in arrays.items():
            for row, value in zip(made, values, strict=True):
                setattr(row, attname, value)
        return made

    written = rows()
    try:
        with transaction.atomic():
            model.objects.bulk_create(written)  # type: ignore[attr-defined]
    except IntegrityError:
        # Some row is refused: find which, one savepoint each.
        written = []
        for row in rows():
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
            except IntegrityError:
                continue
            written.append(row)
    by_model: dict[type[Model], list[Model]] = {}
    for row in written:
        for child in children:
            for child_template in child.templates:
                instance = _instance(child_template)
                setattr(instance, child.key, row.pk)
                for attname, pairs in child.parent_json.items():
                    setattr(instance, attname, {k: getattr(row, a) for k, a in pairs.items()})
                by_model.setdefault(child.model, []).append(instance)
    for child_model, instances in by_model.items():
        child_model.objects.bulk_create(instances)  # type: ignore[attr-defined]
    return [(row.pk, *(getattr(row, name) for name in returning)) for row in written]
