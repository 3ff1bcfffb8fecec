"""`manage.py import_leads leads.csv --user tom [--dry-run]`: a CSV import for operators.

The same import as the upload page (leads.services.imports), run here and now with the column
mapping guessed from the header. Prints one line, `imported N, refused M`, and the path of the
error report (by default beside the file: leads.errors.csv) when a row was refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.errors import DomainError
from crm.models import User
from leads.services.imports import import_error_report, import_file


class Command(BaseCommand):
    help = "Import leads from a CSV file as USER; rows refused go to an error report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The CSV file.")
        parser.add_argument("--user", required=True, help="Whose import it is (a marketer).")
        parser.add_argument("--dry-run", action="store_true", help="Check every row, save nothing.")
        parser.add_argument(
            "--errors", type=Path, help="Where to write the error report (default: beside PATH)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        actor = User.objects.filter(username=options["user"]).first()
        if actor is None:
            raise CommandError(f"No user named {options['user']!r}.")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            job = import_file(actor=actor, filename=path.name, raw=raw, dry_run=options["dry_run"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        dry = " (dry run: nothing saved)" if options["dry_run"] else ""
        self.stdout.write(f"imported {job.imported_count}, refused {job.error_count}{dry}")
        if job.error_count:
            report = options["errors"] or path.with_name(f"{path.stem}.errors.csv")
            report.write_text(import_error_report(job), encoding="utf-8")
            self.stdout.write(f"error report: {report}")
