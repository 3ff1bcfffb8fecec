"""Reads that may come from the read replica (`DATABASE_REPLICA_URL`): the dashboard,
reports and exports, which show figures and tolerate a replica a second behind.

Everything else reads the primary, so a person always sees their own writes: only code run
inside `replica_reads()` (views marked `@reads_from_replica`) is routed, and even there a
read inside an open transaction on the primary stays on the primary. Writes always go to
the primary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse, StreamingHttpResponse

REPLICA = "replica"
_reading_replica: ContextVar[bool] = ContextVar("handoff_reading_replica", default=False)

V = TypeVar("V", bound=Callable[..., HttpResponse])


@contextmanager
def replica_reads() -> Iterator[None]:
    token = _reading_replica.set(True)
    try:
        yield
    finally:
        _reading_replica.reset(token)


def _streamed_from_replica(chunks: Iterable[Any]) -> Iterator[Any]:
    with replica_reads():
        yield from chunks


def reads_from_replica(view: V) -> V:
    """The view's queries, and the rows a streamed export reads after it returns, come from
    the replica when there is one."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> HttpResponse:
        with replica_reads():
            response = view(*args, **kwargs)
        if isinstance(response, StreamingHttpResponse):
            response.streaming_content = _streamed_from_replica(response.streaming_content)
        return response

    return wrapped  # type: ignore[return-value]


class ReplicaRouter:
    """Named in settings.DATABASE_ROUTERS."""

    def db_for_read(self, _model: Any, **_hints: Any) -> str | None:
        if not (_reading_replica.get() and settings.READ_FROM_REPLICA):
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None  # reading inside a write transaction: read your writes
        return REPLICA

    def db_for_write(self, _model: Any, **_hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, *_objects: Any, **_hints: Any) -> bool:
        return True  # the replica holds the same rows as the primary
