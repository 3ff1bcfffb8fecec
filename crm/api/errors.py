"""One exception handler for the API: every error becomes `application/problem+json`.

RFC 9457 body: `type`, `title`, `status` (always equal to the HTTP status), `detail`,
`instance`, plus `code` (machine-readable reason) and `errors`, a list of
`{pointer, message, code}` with a JSON Pointer (RFC 6901) into the request body or the
name of the query parameter at fault. Duplicates add `existing_id`. Nothing else — no
exception text from unexpected errors, no stack trace — reaches the client.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from crm.errors import DomainError, ErrorCode
from crm.middleware import is_database_unavailable

logger = logging.getLogger("handoff.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:handoff:problem:"

TITLES: dict[int, str] = {
    400: "The request is invalid",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict with the current state",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}

# Every `code` a problem answer can carry (the schema's enum): the domain's, the API's own,
# and those of DRF's exceptions.
PROBLEM_CODES: tuple[str, ...] = (
    *(str(code) for code in ErrorCode),
    *("precondition_required", "in_progress", "idempotency_key_reused", "unavailable"),
    *("too_large", "too_many_items", "bad_request", "server_error", "not_authenticated"),
    *("authentication_failed", "permission_denied", "method_not_allowed", "not_acceptable"),
    *("unsupported_media_type", "throttled", "parse_error", "error"),
)

# A database that is restarting or unreachable: the client may retry (with the same
# Idempotency-Key) after this many seconds.
DATABASE_RETRY_AFTER = "5"

DOMAIN_STATUS: dict[str, int] = {
    ErrorCode.INVALID: 400,
    ErrorCode.MISSING_REQUIREMENT: 400,
    ErrorCode.ILLEGAL_TRANSITION: 409,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.STALE: 409,  # 412 when the client sent If-Match
    ErrorCode.DUPLICATE: 409,
    ErrorCode.NOT_FOUND: 404,
}


class ApiProblem(exceptions.APIException):
    """An API-level refusal with a chosen status, code and optional field errors."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        code: str,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.problem_code = code
        self.errors = errors or []
        self.headers = headers or {}


# ---------------------------------------------------------------- JSON pointers

MAX_ECHO = 300  # characters of client input an error may quote back


def safe_text(value: object) -> str:
    """Client input quoted in an error, made safe to render and to store as jsonb:
    lone surrogates and NUL become visible escapes, and the length is bounded."""
    text = str(value)
    if len(text) > MAX_ECHO:
        text = text[:MAX_ECHO] + "..."
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\x00")


def pointer_escape(token: str) -> str:
    return safe_text(token).replace("~", "~0").replace("/", "~1")


def field_to_pointer(field: str | None, prefix: str = "") -> str:
    """`criteria[0].label` -> `/criteria/0/label` (service field names use that dotted form)."""
    if not field:
        return prefix
    parts = [p for p in re.split(r"[.\[\]]+", field) if p]
    return prefix + "".join(f"/{pointer_escape(p)}" for p in parts)


def flatten_validation(detail: Any, pointer: str = "") -> list[dict[str, str]]:
    """DRF's nested ValidationError detail as a flat list of {pointer, message, code}."""
    found: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                found += flatten_validation(value, pointer)
            else:
                found += flatten_validation(value, f"{pointer}/{pointer_escape(key)}")
    elif isinstance(detail, list):
        nested = any(isinstance(item, dict | list) for item in detail)
        for index, item in enumerate(detail):
            if nested:
                found += flatten_validation(item, f"{pointer}/{index}")
            else:
                found += flatten_validation(item, pointer)
    elif detail is not None:
        found.append(
            {
                "pointer": pointer,
                "message": safe_text(detail),
                "code": getattr(detail, "code", None) or "invalid",
            }
        )
    return found


def domain_error_item(error: DomainError, prefix: str = "") -> dict[str, str]:
    return {
        "pointer": field_to_pointer(error.field, prefix),
        "message": safe_text(error.message),
        "code": str(error.code),
    }


# ---------------------------------------------------------------- the handler


def problem_body(
    *,
    status_code: int,
    code: str,
    detail: str,
    instance: str = "",
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    if code not in PROBLEM_CODES:  # the schema promises one of these
        logger.warning("problem code %r is not in PROBLEM_CODES", code)
        code = "error"
    body: dict[str, Any] = {
        "type": f"{TYPE_BASE}{code}",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": safe_text(detail),
        "instance": safe_text(instance),
        "code": code,
        "errors": [{key: safe_text(value) for key, value in item.items()} for item in errors or []],
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(
    *,
    status_code: int,
    code: str,
    detail: str,
    request: Any = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    instance = request.path if request is not None else ""
    return Response(
        problem_body(
            status_code=status_code,
            code=code,
            detail=detail,
            instance=instance,
            errors=errors,
            **extra,
        ),
        status=status_code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def domain_status(error: DomainError, request: Any) -> int:
    if error.code == ErrorCode.STALE and request is not None and request.headers.get("If-Match"):
        return status.HTTP_412_PRECONDITION_FAILED
    return DOMAIN_STATUS.get(error.code, 400)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    if isinstance(exc, DomainError):
        set_rollback()
        return problem_response(
            status_code=domain_status(exc, request),
            code=str(exc.code),
            detail=exc.message,
            request=request,
            errors=[domain_error_item(exc)],
            existing_id=exc.existing_id,
        )
    if isinstance(exc, ApiProblem):
        set_rollback()
        return problem_response(
            status_code=exc.status_code,
            code=exc.problem_code,
            detail=str(exc.detail),
            request=request,
            errors=exc.errors,
            headers=exc.headers,
        )
    if is_database_unavailable(exc):
        # The database went away (restart, failover, lost connection), not the request
        # that was wrong. Nothing was committed; a retry is safe.
        logger.warning("database unavailable for %s: %s", request.path if request else "", exc)
        return problem_response(
            status_code=503,
            code="unavailable",
            detail="The database is briefly unavailable; retry in a few seconds.",
            request=request,
            headers={"Retry-After": DATABASE_RETRY_AFTER},
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, RequestDataTooBig):
        return problem_response(status_code=413, code="too_large", detail=str(exc), request=request)
    if isinstance(exc, SuspiciousOperation):
        return problem_response(
            status_code=400, code="bad_request", detail="The request is malformed.", request=request
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in %s", request.path if request else "the API")
        return problem_response(
            status_code=500,
            code="server_error",
            detail="Something went wrong on our side; it was logged.",
            request=request,
        )
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_validation(exc.detail)
        detail = errors[0]["message"] if len(errors) == 1 else "Some fields are invalid."
        code = "invalid"
    else:
        errors = []
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else exc.default_detail
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
    headers = {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After")}
    return problem_response(
        status_code=response.status_code,
        code=code,
        detail=detail,
        request=request,
        errors=errors,
        headers=headers,
    )


# ---------------------------------------------------------------- the schema side


class ProblemItemSerializer(serializers.Serializer):
    pointer = serializers.CharField(help_text="JSON Pointer into the request body, or ''.")
    message = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every error of this API is answered."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    code = serializers.ChoiceField(choices=PROBLEM_CODES)
    errors = ProblemItemSerializer(many=True)
    existing_id = serializers.IntegerField(
        required=False, help_text="With code `duplicate`: the lead that already exists."
    )


def problem(description: str) -> Any:
    """An extend_schema `responses` value for a problem answer."""
    from drf_spectacular.utils import OpenApiResponse

    return OpenApiResponse(ProblemSerializer, description=description)


def problem_responses(**codes: str) -> dict[Any, Any]:
    """`problem_responses(_409="duplicate")` -> {(409, problem+json): ...} for extend_schema."""
    return {
        (int(code.lstrip("_")), PROBLEM_CONTENT_TYPE): problem(description)
        for code, description in codes.items()
    }
