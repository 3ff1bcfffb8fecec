"""Statements prepared once per PostgreSQL session, for the few that run on every API create
(the key with its user, the policies a new lead starts, the single-row set insert).

Parsing and planning those statements cost the server about as much as running them: the
single-lead ingest row of the bench (target 60% of a bare DRF create) missed without this.
`execute(cursor, sql, params)` prepares `sql` on the cursor's session the first time it
sees it there, then sends `EXECUTE name (...)` with the same parameters, each cast to the
type PostgreSQL inferred for it (from the statement's own casts and comparisons), so values
convert as in the plain statement. Prepared statements outlive a rolled-back transaction
and end with the session; a reconnection starts a new registry, and the server re-plans one
whose tables changed. Elsewhere (SQLite), with DB_PREPARED_STATEMENTS=false (behind a pooler
that shares sessions between clients, such as PgBouncer in transaction mode), or past
MAX_PER_SESSION statements, the statement runs as it is.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection

# {raw driver connection: {statement text: its EXECUTE with typed placeholders}}
_SESSIONS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
MAX_PER_SESSION = 32
_PLACEHOLDER = re.compile(r"%s")


def execute(cursor: Any, sql: str, params: Sequence[Any]) -> None:
    """Run `sql` (with `%s` placeholders and no literal `%`) on `cursor`, prepared."""
    cursor.execute(_prepared(cursor, sql), params)


def _prepared(cursor: Any, sql: str) -> str:
    if connection.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
        return sql
    statements = _SESSIONS.setdefault(connection.connection, {})
    found = statements.get(sql)
    if found is not None:
        return found
    if len(statements) >= MAX_PER_SESSION:
        return sql
    name = f"handoff_{len(statements) + 1}"
    numbers = iter(range(1, sql.count("%s") + 1))
    cursor.execute(f"PREPARE {name} AS {_PLACEHOLDER.sub(lambda _: f'${next(numbers)}', sql)}")
    cursor.execute(
        "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = %s", [name]
    )
    types = cursor.fetchone()[0]
    statements[sql] = f"EXECUTE {name}" + (
        f" ({', '.join(f'%s::{t}' for t in types)})" if types else ""
    )
    return statements[sql]
