"""`manage.py reconcile_tallies [--fix]`: check the leads' kept counts against the leads.

Recomputes the counts by owning team, owner, campaign, persona and stage from the leads and
prints every key where the kept figures differ, as `key: kept -> recomputed`, then a summary
line; exits 1 when one differs. `--fix` then rebuilds the kept counts from the leads.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.services.tallies import tallies_differences, tallies_rebuild


class Command(BaseCommand):
    help = "Compare the leads' kept counts with a recomputation from the leads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="Rebuild the kept counts from the leads."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        differences = tallies_differences()
        for found in differences:
            self.stdout.write(f"{found.key}: {found.kept} -> {found.recomputed}")
        if not differences:
            self.stdout.write("The kept counts equal the leads: no difference.")
            return
        if options["fix"]:
            tallies_rebuild()
            self.stdout.write(f"{len(differences)} keys differed; rebuilt from the leads.")
            return
        raise CommandError(f"{len(differences)} keys differ; run with --fix to rebuild them.")
