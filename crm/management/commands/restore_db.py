"""Restore the embedded SQLite database from a backup file (stop the app first)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from crm.management.commands.backup_db import sqlite_path


class Command(BaseCommand):
    help = "Replace the SQLite database with the contents of a backup made by backup_db."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", help="a file written by `manage.py backup_db`")

    def handle(self, *args: Any, **options: Any) -> None:
        target = sqlite_path()
        source = Path(options["backup"])
        if not source.is_file():
            raise CommandError(f"No backup file at {source}.")
        with sqlite3.connect(source) as src:
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise CommandError(f"{source} is not an intact SQLite database.")
        connection.close()
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        self.stdout.write(f"Restored {target} from {source}.")
