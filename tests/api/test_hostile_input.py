"""Hostile bodies on every write operation of the schema: never a 500, always problem+json.

NUL bytes, integers past 64 bits, 10,000-character strings (in every body property and in
the schema's example, nested lists included), bytes that are not UTF-8, and JSON nested
10,000 levels deep. The caller is a manager, so the rights checks let the input through to
the parsing and validation it is meant to probe.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.api.schema_operations import Operation, published_schema, schema_operations
from tests.api.sla_world import build_sla_world
from tests.factories import CampaignFactory, PersonaFactory

pytestmark = pytest.mark.django_db

NUL = "nul\x00byte"
HUGE_INT = 2**63
LONG = "x" * 10_000
DEPTH = 10_000


def replace_leaves(value: Any, leaf: Any) -> Any:
    """The same shape with every string and number swapped for `leaf`."""
    if isinstance(value, dict):
        return {key: replace_leaves(item, leaf) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_leaves(item, leaf) for item in value]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return leaf
    return value


def hostile_bodies(op: Operation) -> list[tuple[str, bytes]]:
    properties = op.body_properties(published_schema()["components"])
    example = op.example_body()
    bodies: list[tuple[str, bytes]] = []
    for label, leaf in (
        ("NUL", NUL),
        ("2**63", HUGE_INT),
        ("-2**63-1", -HUGE_INT - 1),
        ("10k", LONG),
    ):
        bodies.append(
            (f"{label} in every property", json.dumps(dict.fromkeys(properties, leaf)).encode())
        )
        bodies.append(
            (f"{label} in the example", json.dumps(replace_leaves(example, leaf)).encode())
        )
    first = next(iter(properties), "name")
    bodies += [
        ("invalid UTF-8", b'{"' + first.encode() + b'": "\xff\xfe\xfd", "x": "\xc3\x28"}'),
        ("invalid UTF-8, bare", b"\xff\xfe\x00\x00"),
        ("nested arrays", b"[" * DEPTH + b"]" * DEPTH),
        ("nested objects", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH),
        (
            "nested in a property",
            b'{"' + first.encode() + b'": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
        ),
        ("not JSON", b"{'single': quotes}"),
        ("a bare 2**63", str(HUGE_INT).encode()),
    ]
    return bodies


def object_id(op: Operation, client: APIClient) -> int:
    listed = client.get(f"/api/v1/{op.resource}/")
    results = listed.json().get("results", []) if listed.status_code == 200 else []
    return results[0]["id"] if results else 1


def test_no_write_operation_answers_500_to_hostile_input(
    manager, marketer, sales_rep, make_lead
) -> None:
    CampaignFactory.create_batch(1)
    PersonaFactory.create_batch(1)
    build_sla_world(manager=manager, marketer=marketer, sales_rep=sales_rep, make_lead=make_lead)
    client = APIClient()
    client.force_login(manager)

    failures: list[str] = []
    writes = [op for op in schema_operations() if op.is_write]
    for op in writes:
        url = op.url(object_id(op, client) if op.is_detail else None)
        for label, body in hostile_bodies(op):
            response = client.generic(op.method, url, data=body, content_type="application/json")
            where = f"{op.method} {op.path} with {label}"
            if response.status_code >= 500:
                failures.append(f"{where}: {response.status_code}")
            elif response.status_code >= 400:
                if not response["Content-Type"].startswith("application/problem+json"):
                    failures.append(f"{where}: {response['Content-Type']}")
                elif response.json()["status"] != response.status_code:
                    failures.append(f"{where}: body status {response.json()['status']}")

    assert len(writes) >= 15
    assert failures == [], "\n".join(failures)
