"""The API side of the shared FilterSets: stricter than a browser form.

A form sends every field, blank ones included, so the FilterSets treat blank as "no
filter". An API client that sends `created_before=` has made a mistake; say so (400).

Datetimes are turned to UTC before they reach the database: PostgreSQL refuses offsets
beyond 15:59 (`+22:35` is valid ISO 8601 to Python), which would otherwise be a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions
from rest_framework.request import Request


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset_kwargs(self, request: Request, queryset: Any, view: Any) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        filterset_class = self.get_filterset_class(view, queryset)
        names = set(filterset_class.base_filters) if filterset_class else set()
        blank = sorted(
            name
            for name in names
            if name in request.query_params
            and any(v.strip() == "" for v in request.query_params.getlist(name))
        )
        if blank:
            raise exceptions.ValidationError({name: ["Must not be empty."] for name in blank})
        return kwargs

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise utils.translate_validation(filterset.errors)
        cleaned = filterset.form.cleaned_data
        for name, value in cleaned.items():
            if isinstance(value, datetime) and value.tzinfo is not None:
                try:
                    cleaned[name] = value.astimezone(UTC)
                except OverflowError as exc:
                    raise exceptions.ValidationError({name: ["Datetime out of range."]}) from exc
        return filterset.qs
