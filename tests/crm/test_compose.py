"""The compose file: valid against the Compose specification, scaled out, and probing
readiness."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def test_the_compose_file_follows_the_compose_specification():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_web_and_worker_run_several_replicas_and_web_probes_readiness():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert services["web"]["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert "beat" in services and "deploy" not in services["beat"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
