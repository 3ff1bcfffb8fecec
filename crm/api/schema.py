"""The published OpenAPI schema as a contract for generated clients.

Rules that hold for every operation live here rather than in each view: the problem answers
any operation can give (with `Retry-After` where a retry is the remedy), the response
headers (`Location` on 201, `ETag` where a view sends it, `Idempotent-Replayed` on
idempotent operations), strict request bodies (`additionalProperties: false` where the
serializer refuses unknown fields), shared enums referenced by the filters, boolean filters
typed as booleans, and the cursor pages' real example links.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema

from crm.api.errors import PROBLEM_CONTENT_TYPE, problem
from crm.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from crm.api.serializers import StrictSerializer

# Stored answers are replayed, refusals included; these never are (not stored, or not run).
NOT_REPLAYED = {"401", "413", "415", "422", "429", "503"}
EXAMPLE_HOST = "http://127.0.0.1:8000"
EXAMPLE_CURSOR = "cD0yMDI2LTAzLTAyKzEwJTNBMDAlM0EwMC4wMDAwMDAlMkIwMCUzQTAw"


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"schema": schema or {"type": "string"}, "description": description}


class ContractAutoSchema(AutoSchema):
    """Adds the answers and headers every operation shares to what each view declares."""

    def _default_error_codes(self) -> dict[str, str]:
        codes = {
            "400": "Malformed request or invalid query parameter.",
            "401": "No credentials, or an unknown or revoked API key.",
            "403": "The key's scopes or the user's role do not allow this.",
            "429": "Rate limit reached; see Retry-After.",
            "503": "A service (the database) is briefly unavailable; see Retry-After.",
        }
        if "{" in self.path:
            codes["404"] = "No such record, or not visible to you."
        if self.method in ("POST", "PUT", "PATCH"):
            codes["413"] = "Request body too large."
            codes["415"] = "Unsupported media type."
        if self._is_idempotent():
            codes["409"] = "A request with this Idempotency-Key is still in progress."
            codes["422"] = "Idempotency-Key reused with a different request."
        return codes

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, description in self._default_error_codes().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    problem(description), code, (PROBLEM_CONTENT_TYPE,), direction
                )
        return responses

    def _is_idempotent(self) -> bool:
        return any(
            getattr(p, "name", None) == IDEMPOTENCY_HEADER for p in self.get_override_parameters()
        )

    def _get_response_headers_for_code(self, status_code: str, direction: str = "response"):
        headers = dict(super()._get_response_headers_for_code(status_code, direction))
        code = str(status_code)
        idempotent = self._is_idempotent()
        if code == "201":
            headers["Location"] = _header("Where the record just created is read.")
        if code.startswith("2") and getattr(self.view, "action", None) in getattr(
            self.view, "etag_actions", ()
        ):
            headers["ETag"] = _header(
                'The version as an entity tag (`"3"`): send it back as If-Match.'
            )
        if code in ("429", "503") or (code == "409" and idempotent):
            headers["Retry-After"] = _header(
                "Seconds to wait before retrying.", {"type": "integer"}
            )
        if idempotent and code not in NOT_REPLAYED:
            headers["Idempotent-Replayed"] = _header(
                "`true` when this is the stored answer to an earlier request with the same "
                "Idempotency-Key.",
                {"type": "string", "enum": ["true"]},
            )
        return {name: headers[name] for name in sorted(headers)}

    def get_filter_backends(self) -> list[Any]:
        """A view's `filtered_actions` (an export, say) take the list's filters too."""
        if getattr(self.view, "action", None) in getattr(self.view, "filtered_actions", ()):
            return list(getattr(self.view, "filter_backends", []))
        return super().get_filter_backends()

    def _map_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
        return schema


# ---------------------------------------------------------------- after generation


def _walk(node: Any) -> Any:
    """Every dict inside a JSON-like value."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _component_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _shared_enums(parameter: dict[str, Any], enums: dict[frozenset[str], str]) -> None:
    """A filter's inline enum becomes the shared component with the same values; a
    true/false choice becomes a boolean."""
    schema = parameter.get("schema", {})
    target = schema.get("items", schema) if schema.get("type") == "array" else schema
    values = target.get("enum")
    if not values or "x-enum-varnames" in target:
        return
    if set(values) == {"true", "false"}:
        target.clear()
        target["type"] = "boolean"
        return
    name = enums.get(frozenset(values))
    if name:
        target.clear()
        target["$ref"] = f"#/components/schemas/{name}"


def _nullable_refs(schemas: dict[str, Any], result: dict[str, Any]) -> None:
    """`nullable` beside `allOf: [$ref]` is lost on generated clients (and OpenAPI 3.0 wants a
    type beside `nullable`): say "the component, or null" as a oneOf of the two."""
    for node in list(_walk(result)):
        parts = node.get("allOf", [])
        if node.get("nullable") and len(parts) == 1 and "$ref" in parts[0] and "type" not in node:
            target = schemas.get(_component_name(parts[0]["$ref"]), {})
            null = {"type": target.get("type", "object"), "nullable": True, "enum": [None]}
            del node["allOf"], node["nullable"]
            node["oneOf"] = [parts[0], null]


def _page_examples(result: dict[str, Any]) -> None:
    """Each cursor page's `next` example is a real link of the list that answers it."""
    schemas = result["components"]["schemas"]
    for path, item in result["paths"].items():
        answer = item.get("get", {}).get("responses", {}).get("200", {})
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        page = schemas.get(_component_name(schema.get("$ref", "")), {})
        link = page.get("properties", {}).get("next")
        if link is not None and "{" not in path:
            link["example"] = f"{EXAMPLE_HOST}{path}?cursor={EXAMPLE_CURSOR}"
            page["properties"]["previous"]["example"] = None


def contract_postprocess(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular's POSTPROCESSING_HOOKS entry (after its enum post-processing)."""
    schemas = result["components"]["schemas"]
    enums = {
        frozenset(schema["enum"]): name
        for name, schema in schemas.items()
        if "enum" in schema and re.fullmatch(r"[A-Za-z]+Enum", name)
    }
    for item in result["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    _shared_enums(parameter, enums)
    _nullable_refs(schemas, result)
    _page_examples(result)
    return result
