"""`manage.py create_api_key "Web form" --scope leads:write --scope leads:read`.

Prints the key once; only its digest is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.errors import DomainError
from crm.keys import api_key_create
from crm.models import ApiScope, User


class Command(BaseCommand):
    help = "Create an API key for an integration and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="What the key is for, e.g. 'Web form'.")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=ApiScope.values,
            help="Repeat for several scopes (default: leads:read and leads:write).",
        )
        parser.add_argument(
            "--user", help="Act as this existing user instead of a new integration account."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}.")
        scopes = options["scopes"] or [ApiScope.LEADS_READ, ApiScope.LEADS_WRITE]
        try:
            issued = api_key_create(actor=None, name=options["name"], scopes=scopes, user=user)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        key = issued.api_key
        self.stderr.write(
            f"Key {key.prefix} for {key.user.username} with scopes {', '.join(key.scopes)}. "
            "Store it now; it cannot be shown again."
        )
        self.stdout.write(issued.raw_key)
