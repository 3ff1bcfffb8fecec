"""The published schema as a contract for generated clients: headers, typed bodies, shared
enums, no untyped answers, problem answers on every operation, strict request bodies."""

from __future__ import annotations

from typing import Any

import pytest

from crm.api.errors import PROBLEM_CODES
from tests.api.schema_operations import published_schema, schema_operations
from tests.conftest import ALL_REQUIRED_CRITERIA

SCHEMAS = published_schema()["components"]["schemas"]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def headers(op, code: str) -> set[str]:
    return set(op.spec["responses"].get(code, {}).get("headers", {}))


def test_every_operation_has_a_summary_and_a_503_problem_with_retry_after() -> None:
    for op in schema_operations():
        assert op.spec.get("summary"), f"{op.method} {op.path}"
        answer = op.spec["responses"]["503"]
        assert "application/problem+json" in answer["content"], f"{op.method} {op.path}"
        assert "Retry-After" in headers(op, "503")
        assert "Retry-After" in headers(op, "429")


def test_headers_are_declared_where_they_are_sent() -> None:
    ops = {f"{op.method} {op.path}": op for op in schema_operations()}
    for name in ("GET /api/v1/leads/{id}/", "PATCH /api/v1/leads/{id}/"):
        assert "ETag" in headers(ops[name], "200")
    assert "ETag" in headers(ops["POST /api/v1/leads/{id}/transitions/"], "200")
    assert {"ETag", "Location", "Idempotent-Replayed"} <= headers(ops["POST /api/v1/leads/"], "201")
    for op in ops.values():
        if "201" in op.spec["responses"]:
            assert "Location" in headers(op, "201"), op.path
        idempotent = any(p["name"] == "Idempotency-Key" for p in op.spec.get("parameters", []))
        if idempotent:
            assert "Retry-After" in headers(op, "409"), op.path
            success = next(code for code in op.spec["responses"] if code.startswith("2"))
            assert "Idempotent-Replayed" in headers(op, success), op.path


def test_the_batch_is_typed() -> None:
    items = SCHEMAS["BatchRequest"]["properties"]["items"]
    result = SCHEMAS["BatchItemResult"]["properties"]
    counts = resolve(SCHEMAS["BatchResult"]["properties"]["counts"])

    assert items["items"] == {"$ref": "#/components/schemas/LeadCreateRequest"}
    assert result["errors"]["items"] == {"$ref": "#/components/schemas/ProblemItem"}
    assert set(counts["required"]) == {"created", "updated", "duplicate", "error"}
    assert all(prop == {"type": "integer"} for prop in counts["properties"].values())


def test_pages_carry_an_opaque_next_cursor_and_real_example_links() -> None:
    page = SCHEMAS["PaginatedLeadList"]
    assert page["properties"]["next_cursor"]["type"] == "string"
    example = page["properties"]["next"]["example"]
    assert example.startswith("http://127.0.0.1:8000/api/v1/leads/?cursor=")
    assert '"' not in example


def test_filters_reference_the_shared_enums_and_booleans_are_booleans() -> None:
    params = {
        (op.path, p["name"]): p["schema"]
        for op in schema_operations()
        for p in op.spec.get("parameters", [])
        if p["in"] == "query"
    }
    assert params[("/api/v1/leads/", "team")] == {"$ref": "#/components/schemas/TeamEnum"}
    assert params[("/api/v1/leads/", "stage")]["items"] == {
        "$ref": "#/components/schemas/StageEnum"
    }
    assert params[("/api/v1/clocks/", "state")] == {"$ref": "#/components/schemas/ClockStateEnum"}
    for path, name in [
        ("/api/v1/leads/", "accepted"),
        ("/api/v1/leads/", "is_open"),
        ("/api/v1/breaches/", "acknowledged"),
        ("/api/v1/notifications/", "unread"),
    ]:
        assert params[(path, name)] == {"type": "boolean"}, (path, name)
    ordering = params[("/api/v1/leads/", "ordering")]
    varnames = dict(zip(ordering["enum"], ordering["x-enum-varnames"], strict=True))
    assert varnames["-created_at"] == "CREATED_AT_DESC"


def test_the_breach_export_declares_the_list_filters() -> None:
    names = {
        op.path: {p["name"] for p in op.spec.get("parameters", [])}
        for op in schema_operations()
        if op.method == "GET"
    }
    filters = names["/api/v1/breaches/"] - {"cursor", "page_size", "ordering"}
    assert filters and filters <= names["/api/v1/breaches/export/"]


def test_no_answer_is_untyped() -> None:
    lead, event = SCHEMAS["Lead"]["properties"], SCHEMAS["LeadEvent"]["properties"]
    calendar, write = SCHEMAS["Calendar"]["properties"], SCHEMAS["CalendarWriteRequest"]
    assert lead["criteria_met"]["items"] == {"type": "string"}
    assert lead["allowed_transitions"]["items"] == {"$ref": "#/components/schemas/TransitionEnum"}
    assert event["changes"]["type"] == "object"
    assert SCHEMAS["WebhookEndpoint"]["properties"]["event_types"]["items"] == {
        "$ref": "#/components/schemas/EventTypesEnum"
    }
    assert calendar["holidays"]["items"] == write["properties"]["holidays"]["items"]
    assert calendar["weekly_hours"]["type"] == "object"
    for name, schema in SCHEMAS.items():
        for prop, spec in schema.get("properties", {}).items():
            assert spec.keys() & {"type", "$ref", "allOf", "oneOf"}, f"{name}.{prop} is untyped"


def test_problems_name_their_codes_and_request_bodies_are_closed() -> None:
    assert set(resolve(SCHEMAS["Problem"]["properties"]["code"])["enum"]) == set(PROBLEM_CODES)
    for name, schema in SCHEMAS.items():
        if name.endswith("Request"):
            assert schema.get("additionalProperties") is False, name


@pytest.mark.django_db
def test_a_missing_hand_off_criterion_points_at_criteria(as_user, marketer, engaged_lead):
    response = as_user(marketer).post(
        f"/api/v1/leads/{engaged_lead.pk}/transitions/",
        {"transition": "hand_off", "criteria": ALL_REQUIRED_CRITERIA[:1]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "/criteria"
