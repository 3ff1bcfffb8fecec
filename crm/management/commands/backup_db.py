"""Back up the embedded SQLite database with SQLite's online backup (safe while running)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


def sqlite_path() -> Path:
    if connection.vendor != "sqlite":
        raise CommandError(
            "backup_db handles the embedded SQLite database; for PostgreSQL use pg_dump "
            "(see docs/operations.md, Backups)."
        )
    return Path(settings.DATABASES["default"]["NAME"])


class Command(BaseCommand):
    help = "Copy the SQLite database to var/backups/ (or --output)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", help="file to write; default var/backups/<timestamp>")

    def handle(self, *args: Any, **options: Any) -> None:
        source = sqlite_path()
        stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
        target = Path(
            options["output"] or Path(settings.VAR_DIR) / "backups" / f"handoff-{stamp}.sqlite3"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        self.stdout.write(str(target))
