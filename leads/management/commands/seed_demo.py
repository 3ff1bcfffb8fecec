from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from leads.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo
from sla.demo import seed_sla_demo


class Command(BaseCommand):
    help = "Load the demo team, campaigns and about 500 leads. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        counts = seed_demo(now=now)
        seed_sla_demo(now=now)
        if counts.leads_created:
            self.stdout.write(f"Created {counts.leads_created} demo leads.")
        else:
            self.stdout.write("Demo leads already present; nothing to add.")
        logins = ", ".join(f"{name} ({role})" for name, role, *_ in DEMO_USERS)
        self.stdout.write(f"Demo logins: {logins}; password {DEMO_PASSWORD!r}.")
