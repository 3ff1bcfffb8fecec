"""Every error is problem+json with the field at fault; no input produces a 500."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code", "errors"}


def _assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert "Traceback" not in response.content.decode()
    return body


def test_it_names_each_invalid_field_with_a_pointer(integration) -> None:
    response = integration.post(
        "/api/v1/leads/", {"email": "nope", "estimated_value": "-5", "first_name": 7}, format="json"
    )

    body = _assert_problem(response, 400)
    pointers = {e["pointer"] for e in body["errors"]}
    assert pointers == {"/email", "/estimated_value"}
    assert all(e["message"] for e in body["errors"])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"email": ', "application/json"),
        (b'{"email": "\xff\xfe"}', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"just a string"', "application/json"),
        (b'{"email": "\\ud800@x.io", "\\ud800": 1}', "application/json"),
        (b'{"email": "a\\u0000b@x.io"}', "application/json"),
        (b"email=x", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
    ],
)
def test_it_answers_malformed_bodies_with_4xx(integration, body: bytes, content_type) -> None:
    response = integration.generic("POST", "/api/v1/leads/", body, content_type=content_type)

    assert 400 <= response.status_code < 500
    _assert_problem(response, response.status_code)


def test_it_refuses_huge_strings_by_field(integration) -> None:
    response = integration.post(
        "/api/v1/leads/", {"email": "a@b.io", "company": "x" * 100_000}, format="json"
    )

    body = _assert_problem(response, 400)
    assert body["errors"][0]["pointer"] == "/company"
    assert len(response.content) < 2000


@pytest.mark.parametrize(
    "query",
    [
        "page_size=100000",
        "page_size=-1",
        "page_size=abc",
        "cursor=garbage",
        "cursor=cD0yMDIwLTEzLTQ1",  # decodes to a position that is no timestamp
        "stage=nope",
        "owner=abc",
        "created_after=yesterday",
        "ordering=password",
        "q=" + "x" * 5000,
        "q=a%00b",
        "is_open=maybe",
        "created_before=",
    ],
)
def test_it_refuses_bad_query_parameters_by_name(integration, query: str) -> None:
    response = integration.get(f"/api/v1/leads/?{query}")

    body = _assert_problem(response, 400)
    assert body["errors"][0]["pointer"] == "/" + query.split("=")[0]


@pytest.mark.parametrize("path", ["/api/v1/leads/abc/", "/api/v1/leads/99999999999999999999/"])
def test_it_answers_unknown_records_with_404(integration, path: str) -> None:
    _assert_problem(integration.get(path), 404)


def test_it_answers_unknown_api_paths_as_problems(integration) -> None:
    _assert_problem(integration.get("/api/v1/nothing-here/"), 404)
    _assert_problem(integration.post("/api/v1/leads/1.5/transitions/"), 404)


def test_it_answers_wrong_methods_with_405(integration) -> None:
    response = integration.delete("/api/v1/leads/")

    _assert_problem(response, 405)


def test_it_serves_the_schema_and_offline_docs(integration, client, manager) -> None:
    schema = APIClient().get("/api/schema/?format=json")
    client.force_login(manager)
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert "/api/v1/leads/batch/" in schema.json()["paths"]
    script = client.get("/api/docs/?script=")

    assert docs.status_code == 200
    assert b"drf_spectacular_sidecar/swagger-ui-dist" in docs.content
    assert b"<script>" not in docs.content  # no inline script: the CSP stays strict
    assert script.status_code == 200
    assert b"/api/schema/" in script.content


def test_it_hides_unexpected_errors_behind_a_plain_500(rf) -> None:
    from rest_framework.request import Request

    from crm.api.errors import api_exception_handler

    request = Request(rf.get("/api/v1/leads/"))
    response = api_exception_handler(
        RuntimeError("password=hunter2 at /srv/app.py line 3"), {"request": request}
    )

    assert response.status_code == 500
    assert response.data["status"] == 500
    assert response.content_type == "application/problem+json"
    assert "hunter2" not in str(response.data)


def test_it_refuses_a_body_over_the_upload_limit_with_413(integration, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = b'{"email": "a@b.io", "company": "' + b"x" * 2000 + b'"}'

    response = integration.generic("POST", "/api/v1/leads/", body, content_type="application/json")

    _assert_problem(response, 413)
