"""Production settings: SECRET_KEY required, deploy checks clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "production-grade-secret-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "handoff.example.com",
    "DATABASE_URL": "sqlite:////tmp/handoff-deploy-check.sqlite3",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_it_refuses_an_unknown_time_zone():
    result = manage("check", env={**PRODUCTION, "TIME_ZONE": "Mars/Olympus_Mons"})
    assert result.returncode != 0
    assert "not a known IANA time zone" in result.stderr


def test_argon2_is_the_first_password_hasher():
    from crm import settings as production_settings

    assert production_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_it_refuses_to_start_with_the_env_example_placeholder_secret():
    placeholder = next(
        line.split("=", 1)[1].strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.startswith("SECRET_KEY=")
    )
    result = manage("check", env={**PRODUCTION, "SECRET_KEY": placeholder})
    assert result.returncode != 0
    assert "placeholder" in result.stderr


def test_the_production_web_command_preloads_the_app():
    compose = (ROOT / "docker-compose.yml").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    web = compose[compose.index("\n  web:") :]
    assert '"--preload"' in web[: web.index("\n  worker:")]
    assert '"--preload"' in dockerfile.splitlines()[-1]


def _request_log_level(log_level: str | None) -> str:
    """The level of the per-request JSON logger under production settings."""
    env = {**PRODUCTION, "LOG_FORMAT": "json"}
    if log_level is not None:
        env["LOG_LEVEL"] = log_level
    shown = manage(
        "shell",
        "-c",
        "import logging; print(logging.getLevelName("
        "logging.getLogger('handoff.request').getEffectiveLevel()))",
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip().splitlines()[-1]


def test_log_level_warning_silences_the_per_request_lines_too():
    assert _request_log_level(None) == "INFO"
    assert _request_log_level("WARNING") == "WARNING"
    assert _request_log_level("warning") == "WARNING"
