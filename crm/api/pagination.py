"""Cursor pagination that refuses bad input instead of guessing.

An unknown `ordering`, a `page_size` outside 1..max or a cursor that does not decode is a
400 naming the parameter; DRF's default would silently fall back or answer 404. Each page
carries `next_cursor` beside the `next` link: the opaque value to send back as `cursor`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

MAX_PAGE_SIZE = 200


def ordering_varname(value: str) -> str:
    """`-created_at` -> `CREATED_AT_DESC`: the name a generated client gives the choice."""
    name = value.lstrip("-").upper()
    return f"{name}_DESC" if value.startswith("-") else f"{name}_ASC"


class StrictCursorPagination(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering: Any = ("-id",)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {"page_size": [f"Must be an integer from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        """`view.orderings` maps each allowed `ordering` value to the ORDER BY it means."""
        choices: dict[str, tuple[str, ...]] = getattr(view, "orderings", {})
        default: tuple[str, ...] = getattr(view, "default_ordering", self.ordering)
        raw = request.query_params.get("ordering")
        if raw is None:
            return default
        if raw not in choices:
            allowed = ", ".join(choices) or "none"
            raise exceptions.ValidationError({"ordering": [f"Must be one of: {allowed}."]})
        return choices[raw]

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, DjangoValidationError) as exc:
            # A cursor that decodes but carries a position of the wrong type.
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from exc

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from exc

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        next_link = response.data["next"]
        cursor = (
            parse_qs(urlsplit(next_link).query).get(self.cursor_query_param) if next_link else None
        )
        response.data["next_cursor"] = cursor[0] if cursor else None
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "next_cursor", "results"],
            "properties": {
                "next": {**link, "description": "The next page, or null on the last one."},
                "previous": {**link, "description": "The previous page, or null."},
                "next_cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "Opaque: send it as `cursor` for the next page; null on "
                    "the last one.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        choices = list(getattr(view, "orderings", {}))
        if choices:
            params.append(
                {
                    "name": "ordering",
                    "required": False,
                    "in": "query",
                    "description": "Sort order.",
                    "schema": {
                        "type": "string",
                        "enum": choices,
                        "x-enum-varnames": [ordering_varname(choice) for choice in choices],
                    },
                }
            )
        return params
