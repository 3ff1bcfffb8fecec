"""Structured logs for production: one JSON object a line, with the request (or task) it
belongs to, through structlog's formatter on the standard logging handlers.

Every request gets an id (a sane `X-Request-ID` from the proxy, or a new one), echoed in the
response; each request and each Celery task ends with one line saying who (the user's id,
never an e-mail or a name), what (view or task, lead id where the route names one) and the
outcome. Any e-mail address inside a message is masked before the line is written. The
embedded default (`make run`) keeps the plain console format (`LOG_FORMAT=plain`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

request_logger = logging.getLogger("handoff.request")
task_logger = logging.getLogger("handoff.task")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_EMAIL = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+\.[^\s@\"'<>(),;:]+")


def mask_emails(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A processor: e-mail addresses in any text field become `[email]`."""
    for key, value in list(event.items()):
        if isinstance(value, str) and "@" in value:
            event[key] = _EMAIL.sub("[email]", value)
    return event


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    """Named in settings.LOGGING; renders every standard log record as one JSON line."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            mask_emails,
            structlog.processors.JSONRenderer(),
        ],
    )


def _request_id(request: HttpRequest) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex


def _user_id(request: HttpRequest) -> int | None:
    """The user's id if the request already loaded its user (reading it here would cost a
    session query on pages that never needed one)."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


def _lead_id(request: HttpRequest) -> int | None:
    match = request.resolver_match
    if match is None or "leads" not in match.route:
        return None
    value = match.kwargs.get("pk") or match.kwargs.get("lead_id")
    return int(value) if str(value or "").isdigit() else None


def outcome(status: int) -> str:
    return "ok" if status < 400 else "refused" if status < 500 else "failed"


class RequestLogMiddleware:
    """One line per request, every line of the request tagged with its id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _request_id(request)
        started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
            # The line's fields are worked out only when it is written (LOG_LEVEL INFO or
            # below): a request's path, view and ids cost something on every request.
            if request_logger.isEnabledFor(logging.INFO):
                match = request.resolver_match
                request_logger.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "view": match.view_name if match else None,
                        "status": response.status_code,
                        "outcome": outcome(response.status_code),
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "user_id": _user_id(request),
                        "lead_id": _lead_id(request),
                    },
                )
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            structlog.contextvars.clear_contextvars()


_task_started: dict[str, float] = {}


def task_started(task_id: str | None = None, task: Any = None, **_: object) -> None:
    """Celery `task_prerun`: tag the task's lines with its id and name."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task=getattr(task, "name", None))
    if task_id:
        _task_started[task_id] = time.perf_counter()


def task_finished(task_id: str | None = None, state: str | None = None, **_: object) -> None:
    """Celery `task_postrun`: one line with the outcome and the time taken."""
    started = _task_started.pop(task_id or "", None)
    task_logger.info(
        "task",
        extra={
            "outcome": (state or "unknown").lower(),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        },
    )
    structlog.contextvars.clear_contextvars()
