"""Run the SLA sweep by hand: the same function the beat task calls."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sla.sweep import sla_sweep


class Command(BaseCommand):
    help = "Flag at-risk and breached SLA clocks and notify new breaches (as beat does)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would change; change nothing."
        )
        parser.add_argument(
            "--batch-size", type=int, default=None, help="Rows per batch (default: per database)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = sla_sweep(
            dry_run=options["dry_run"],
            batch_size=options["batch_size"] and max(1, options["batch_size"]),
        )
        prefix = "Would flag: " if options["dry_run"] else "Flagged: "
        self.stdout.write(prefix + str(result))
