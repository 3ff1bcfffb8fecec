"""`manage.py person_data export jo@acme.example --user mike` (or `erase`): a data subject's
request, answered by a manager's account so the lead history names who did it.

`export` prints the JSON of everything held about the person; `erase` removes their personal
data from every lead and every copy (history, outbox, notifications, uploads) and prints the
ids of the leads it touched. `--dry-run` with `erase` lists those leads and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.errors import DomainError
from crm.models import User
from leads.services.privacy import person_erase, person_export, person_leads


class Command(BaseCommand):
    help = "Export or erase one person's personal data (a data subject request)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("email", help="The person's e-mail address.")
        parser.add_argument("--user", required=True, help="The manager answering the request.")
        parser.add_argument(
            "--dry-run", action="store_true", help="With erase: list the leads, change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["user"]).first()
        if actor is None:
            raise CommandError(f"No user named {options['user']!r}.")
        email = options["email"]
        try:
            if options["action"] == "export":
                self.stdout.write(json.dumps(person_export(actor=actor, email=email), indent=2))
            elif options["dry_run"]:
                ids = [lead.pk for lead in person_leads(email)]
                self.stdout.write(f"would erase leads: {', '.join(map(str, ids))}")
            else:
                ids = person_erase(actor=actor, email=email)
                self.stdout.write(f"erased leads: {', '.join(map(str, ids)) or 'none'}")
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
