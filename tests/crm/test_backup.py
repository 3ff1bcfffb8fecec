"""`make backup` / `make restore` on the embedded SQLite database, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def shell(code: str, env: dict[str, str]) -> str:
    return run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], env)


def test_backup_then_restore_brings_back_the_data(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}",
        "HANDOFF_VAR_DIR": str(tmp_path / "var"),
        "DEBUG": "true",
    }
    run([sys.executable, "manage.py", "migrate", "-v0"], env)
    shell("from leads.models import Campaign; Campaign.objects.create(name='Kept')", env)
    backup = tmp_path / "copy.sqlite3"
    run(
        ["make", "-s", "backup", f"FILE={backup}", f"VENV={Path(sys.executable).parent.parent}"],
        env,
    )
    shell("from leads.models import Campaign; Campaign.objects.all().delete()", env)
    assert shell("from leads.models import Campaign; print(Campaign.objects.count())", env) == "0"
    run(
        ["make", "-s", "restore", f"FILE={backup}", f"VENV={Path(sys.executable).parent.parent}"],
        env,
    )
    names = "from leads.models import Campaign; print(*Campaign.objects.values_list('name'))"
    assert shell(names, env) == "('Kept',)"
