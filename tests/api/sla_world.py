"""A small SLA world for API tests, built through the real services and the real sweep.

One 24/7 policy ("accept within an hour" from qualified): `breached` leads were handed off
three hours ago and swept (so they have Breach rows), `past_due` leads were handed off
two hours ago and not swept yet (shown as breached), `running` leads were just handed off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from crm.models import Notification, User
from leads.models import Lead
from leads.services.transitions import lead_hand_off
from sla.models import Commitment, SlaPolicy
from sla.services import commitment_create
from sla.sweep import sla_sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import SlaPolicyFactory


@dataclass
class SlaWorld:
    policy: SlaPolicy
    breached: list[Lead] = field(default_factory=list)
    past_due: list[Lead] = field(default_factory=list)
    running: list[Lead] = field(default_factory=list)
    commitments: list[Commitment] = field(default_factory=list)


def build_sla_world(
    *,
    manager: User,
    marketer: User,
    sales_rep: User,
    make_lead: Callable[..., Lead],
    breached: int = 2,
    past_due: int = 1,
    running: int = 1,
    commitments: int = 1,
) -> SlaWorld:
    now = timezone.now()
    policy = SlaPolicyFactory(
        actor=manager,
        name="Accept within an hour",
        target=timedelta(hours=1),
        now=now - timedelta(days=1),
    )
    world = SlaWorld(policy=policy)

    def handed_off(ago: timedelta) -> Lead:
        at = now - ago
        lead = make_lead(now=at)
        return lead_hand_off(
            lead=lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA, now=at
        )

    world.breached = [handed_off(timedelta(hours=3)) for _ in range(breached)]
    sla_sweep(now=now - timedelta(minutes=90))
    world.past_due = [handed_off(timedelta(hours=1, minutes=30)) for _ in range(past_due)]
    world.running = [handed_off(timedelta(minutes=1)) for _ in range(running)]
    world.commitments = [
        commitment_create(
            actor=manager,
            name=f"Qualified leads {n}",
            period="week",
            target_qualified=5 + n,
            starts_on=date(2026, 1, 5),
        )
        for n in range(commitments)
    ]
    return world


def notify(user: User, count: int) -> list[Notification]:
    now = timezone.now()
    return Notification.objects.bulk_create(
        Notification(
            user=user,
            kind="breach",
            title=f"Breach {n}",
            delivery_key=f"test:{user.pk}:{n}",
            created_at=now - timedelta(minutes=n),
        )
        for n in range(count)
    )
