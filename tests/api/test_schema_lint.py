"""The published schema passes openapi-spec-validator and Redocly's lint (the CLI pinned in
the Makefile's `api-tools`, which CI installs) with no error and no warning under
`.redocly.yaml`, which turns off only the trailing-slash rule (Django's URL style)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from openapi_spec_validator import validate

from tests.api.schema_operations import published_schema
from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
REDOCLY = ROOT / "var/tools/redocly/node_modules/.bin/redocly"


def test_the_schema_is_valid_openapi() -> None:
    validate(json.loads(json.dumps(published_schema())))


def test_drf_spectacular_generates_it_without_a_warning(tmp_path) -> None:
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_redocly_lints_the_schema_clean(tmp_path) -> None:
    if not REDOCLY.exists():
        message = "Redocly's CLI is missing: run `make api-tools`"
        if REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(published_schema()))

    done = subprocess.run(
        [REDOCLY, "lint", schema, "--config", ROOT / ".redocly.yaml", "--format", "summary"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Your API description is valid" in output, output
    assert "warning" not in output.replace("Deprecation warning", ""), output


def test_the_lint_config_turns_off_only_trailing_slashes() -> None:
    config = (ROOT / ".redocly.yaml").read_text()

    assert [line for line in config.splitlines() if line.strip().endswith("off")] == [
        "  no-path-trailing-slash: off"
    ]
