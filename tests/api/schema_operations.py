"""The operations of the published OpenAPI schema, for tests that must cover every one.

Tests iterate over `schema_operations()` rather than a hand-written list, so an endpoint
added later is covered (and, where a test needs to know its rules, fails until they are
stated).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator

from crm.api.auth import required_scope

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # as in the schema, e.g. /api/v1/leads/{id}/
    spec: Any

    @property
    def resource(self) -> str:
        return self.path.split("/")[3]

    @property
    def is_detail(self) -> bool:
        return "{id}" in self.path

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")

    def url(self, object_id: int | None) -> str:
        return self.path.replace("{id}", str(object_id if object_id is not None else 0))

    def example_body(self) -> Any:
        """The first request example of the schema, or an empty object."""
        content = (self.spec.get("requestBody") or {}).get("content", {})
        for media in content.values():
            for example in (media.get("examples") or {}).values():
                if "value" in example:
                    return example["value"]
        return {}

    def body_properties(self, components: dict[str, Any]) -> dict[str, Any]:
        """The request body's top-level properties (resolving one $ref)."""
        content = (self.spec.get("requestBody") or {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        ref = schema.get("$ref")
        if ref:
            schema = components["schemas"][ref.rsplit("/", 1)[-1]]
        return schema.get("properties", {})

    def declared_scope(self) -> str | None:
        """The API-key scope the view declares for this operation (crm.api.auth.HasScope)."""
        match = resolve(self.url(1))
        view_class = match.func.cls
        view = view_class(**match.func.initkwargs)
        view.action = match.func.actions.get(self.method.lower())

        class FakeRequest:
            method = self.method

        return required_scope(FakeRequest(), view)


@cache
def published_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def schema_operations() -> list[Operation]:
    schema = published_schema()
    return [
        Operation(method=method.upper(), path=path, spec=spec)
        for path, item in schema["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]


def schema_operation_count() -> int:
    return sum(
        1 for item in published_schema()["paths"].values() for method in item if method in METHODS
    )
