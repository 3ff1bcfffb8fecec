"""Print or send a joint review digest by hand: the same function the weekly beat task calls,
so a period already sent (by beat or by hand) is not sent again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from crm.errors import DomainError
from sla.review.digest import joint_review_send
from sla.review.periods import PERIOD_HELP, review_period


class Command(BaseCommand):
    help = "Send the joint review digest of a period (default: the last full week)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--period", default="", help=PERIOD_HELP)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the digest; send nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        try:
            period = review_period(options["period"], now=now)
        except DomainError as refused:
            raise CommandError(refused.message) from refused
        result = joint_review_send(
            period=period, now=now, sent_by="manage.py", dry_run=options["dry_run"]
        )
        self.stdout.write(result.text)
        if options["dry_run"]:
            self.stdout.write(f"\nDry run: would send {result.deliveries} deliveries.")
        elif result.sent:
            self.stdout.write(f"\nSent: {result.deliveries} deliveries through the outbox.")
        else:
            self.stdout.write(f"\nNot sent: the digest of {result.period} went out already.")
