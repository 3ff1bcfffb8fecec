"""Idempotency-Key for POST: a retry gets the first answer, and concurrent ones do no harm.

The record is inserted in the same transaction as the work and its stored answer, so a
request that dies half-way (a worker killed, the database restarted) leaves nothing behind
and its retry simply does the work. The unique constraint on (owner, key) picks the one
request that does the work: a concurrent request with the same key waits on that insert
until the first commits and then gets the stored answer (same status and body), or 422 when
the same key arrives with a different method, path or body. A record left without an answer
(written by an older version that committed the claim first) is answered 409 `in_progress`
and taken over after ABANDONED_AFTER. Server errors are not stored, so a retry after a 5xx
does the work again. Records are kept IDEMPOTENCY_RETENTION_HOURS (24 h by default) and
then purged by `idempotency_purge`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.auth import request_api_key
from crm.api.errors import ApiProblem
from crm.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEY_PATTERN = re.compile(r"[!-~]{8,255}")  # printable ASCII without spaces; UUIDs fit
# A claim whose request died without answering is taken over after this long.
ABANDONED_AFTER = timedelta(minutes=2)
REPLAYED_HEADERS = ("Location", "ETag")

# The header as the schema documents it on every idempotent POST.
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=f"A unique string of 8 to {MAX_KEY_LENGTH} printable ASCII characters "
    "(a UUID is fine). A retry with the same key and body gets the first answer again "
    "(header Idempotent-Replayed: true); the same key with another body is refused "
    "with 422; while the first request is still running, 409 `in_progress`. "
    "Keys are kept for 24 hours.",
    pattern=f"^{KEY_PATTERN.pattern}$",
)


def _retention() -> timedelta:
    return timedelta(hours=getattr(settings, "IDEMPOTENCY_RETENTION_HOURS", 24))


def _owner(request: Request) -> str:
    api_key = request_api_key(request)
    return f"key:{api_key.pk}" if api_key else f"user:{request.user.pk}"


def _fingerprint(request: Request) -> str:
    payload = json.dumps(
        [request.method, request.get_full_path(), request.data],
        sort_keys=True,
        cls=DjangoJSONEncoder,
    )
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def _clean_key(raw: str) -> str:
    if not KEY_PATTERN.fullmatch(raw):
        raise ApiProblem(
            400,
            f"{HEADER} must be 8 to {MAX_KEY_LENGTH} printable ASCII characters, no spaces.",
            code="invalid",
            errors=[{"pointer": f"/{HEADER}", "message": "Invalid key.", "code": "invalid"}],
        )
    return raw


def _claim(*, owner: str, key: str, fingerprint: str, now: datetime) -> tuple[Any, bool]:
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                owner=owner, key=key, request_hash=fingerprint, created_at=now
            )
        return record, True
    except IntegrityError:
        record = IdempotencyRecord.objects.get(owner=owner, key=key)
    stale_claim = (
        record.status_code is None
        and record.request_hash == fingerprint
        and record.created_at < now - ABANDONED_AFTER
    )
    if stale_claim:
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, status_code__isnull=True, created_at=record.created_at
        ).update(created_at=now)
        if taken:
            record.created_at = now
            return record, True
    return record, False


def _replay(record: IdempotencyRecord) -> HttpResponse:
    """The stored answer again, byte for byte; an answer whose copy was scrubbed by an
    erasure (content dropped) is rendered again from its scrubbed body."""
    headers = {k: v for k, v in record.response_headers.items() if k in REPLAYED_HEADERS}
    headers["Idempotent-Replayed"] = "true"
    content_type = record.response_headers.get("Content-Type")
    if record.response_content is None:
        return Response(
            record.response_body,
            status=record.status_code,
            headers=headers,
            content_type=content_type,
        )
    replay = HttpResponse(
        bytes(record.response_content), status=record.status_code, content_type=content_type
    )
    for name, value in headers.items():
        replay[name] = value
    return replay


def _store(record: IdempotencyRecord, response: Response, now: datetime) -> None:
    """Keep the rendered answer (`response.render()` has run) and its JSON for searches."""
    headers = {k: response[k] for k in REPLAYED_HEADERS if response.has_header(k)}
    headers["Content-Type"] = response["Content-Type"]
    body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=response.status_code,
        response_body=body,
        response_content=response.content,
        response_headers=headers,
        completed_at=now,
    )


def _answer_for_taken_key(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    if record.request_hash != fingerprint:
        raise ApiProblem(
            422,
            f"This {HEADER} was already used with a different request.",
            code="idempotency_key_reused",
            errors=[{"pointer": f"/{HEADER}", "message": "Reused key.", "code": "reused"}],
        )
    if record.status_code is None:
        raise ApiProblem(
            409,
            "A request with this Idempotency-Key is still in progress; retry shortly.",
            code="in_progress",
            headers={"Retry-After": "1"},
        )
    return _replay(record)


def idempotent(view_method: Callable[..., Response]) -> Callable[..., HttpResponse]:
    """Wrap a POST action of a viewset: runs after authentication, permissions, throttling."""

    @wraps(view_method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        raw = request.headers.get(HEADER)
        if raw is None:
            return view_method(view, request, *args, **kwargs)
        key = _clean_key(raw)
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            record, claimed = _claim(
                owner=_owner(request), key=key, fingerprint=fingerprint, now=timezone.now()
            )
            if not claimed:
                return _answer_for_taken_key(record, fingerprint)
            try:
                response = view_method(view, request, *args, **kwargs)
            except Exception as exc:
                response = view.handle_exception(exc)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # the claim goes with the failed work
            else:
                response = view.finalize_response(request, response, *args, **kwargs)
                response.render()
                _store(record, response, timezone.now())
        return response

    return wrapper


def idempotency_purge(*, now: datetime) -> int:
    """Delete records past their retention; returns how many went."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - _retention()).delete()
    return deleted
