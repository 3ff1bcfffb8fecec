"""Who hears about a breach, and on which channel: written to the outbox, once per channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.models import OutboxChannel, Role, User
from crm.outbox import Delivery
from sla.models import Breach, SlaClock, WebhookEndpoint


def active_managers() -> list[User]:
    """Who hears about a breach nobody else was named for; read once per batch."""
    return list(User.objects.filter(role=Role.MANAGER, is_active=True))


def _recipients(breach: Breach, managers: list[User] | None) -> list[User]:
    """`escalate_to` is read through `.all()` so a prefetch serves a whole batch."""
    chosen: dict[int, User] = {}
    if breach.kind == Breach.Kind.CLOCK:
        policy = breach.policy
        escalate = [u for u in policy.escalate_to.all() if u.is_active] if policy else []
        if policy is not None and policy.notify_owner and breach.owner and breach.owner.is_active:
            chosen[breach.owner.pk] = breach.owner
    else:
        escalate = [u for u in breach.commitment.escalate_to.all() if u.is_active]
    if not escalate:
        escalate = managers if managers is not None else active_managers()
    for user in escalate:
        chosen.setdefault(user.pk, user)
    return list(chosen.values())


def breach_payload(breach: Breach) -> dict[str, Any]:
    data: dict[str, Any] = {
        "breach_id": breach.pk,
        "kind": breach.kind,
        "team": breach.team,
        "breached_at": breach.breached_at.isoformat(),
        "summary": breach.summary,
    }
    if breach.lead_id:
        data["lead_id"] = breach.lead_id
    if breach.policy_id:
        data["policy"] = breach.policy.name
    if breach.owner_id:
        data["owner"] = breach.owner.username
    return {
        "title": f"SLA breach: {breach.summary}",
        "body": f"Breached at {breach.breached_at:%Y-%m-%d %H:%M} UTC ({breach.team}).",
        "url": f"/leads/{breach.lead_id}/" if breach.lead_id else "/sla/breaches/",
        "data": data,
    }


def breach_deliveries(
    breach: Breach, endpoints: list[WebhookEndpoint], managers: list[User] | None = None
) -> list[Delivery]:
    payload = breach_payload(breach)
    event = "commitment.missed" if breach.kind == Breach.Kind.COMMITMENT else "breach.created"
    deliveries = []
    for user in _recipients(breach, managers):
        deliveries.append(
            Delivery(
                channel=OutboxChannel.IN_APP,
                delivery_key=f"breach:{breach.pk}:in_app:{user.pk}",
                event_type=event,
                payload=payload,
                recipient_id=user.pk,
            )
        )
        if user.email:
            deliveries.append(
                Delivery(
                    channel=OutboxChannel.EMAIL,
                    delivery_key=f"breach:{breach.pk}:email:{user.pk}",
                    event_type=event,
                    payload=payload,
                    recipient_id=user.pk,
                    target=user.email,
                )
            )
    for endpoint in endpoints:
        if event in endpoint.event_types or "breach.created" in endpoint.event_types:
            deliveries.append(
                Delivery(
                    channel=OutboxChannel.WEBHOOK,
                    delivery_key=f"breach:{breach.pk}:webhook:{endpoint.pk}",
                    event_type=event,
                    payload=payload,
                    target=str(endpoint.pk),
                )
            )
    return deliveries


def at_risk_deliveries(clocks: list[SlaClock], now: datetime) -> list[Delivery]:
    """A heads-up to the clock's owner only; managers hear about breaches, not risks."""
    return [
        Delivery(
            channel=OutboxChannel.IN_APP,
            delivery_key=f"clock:{clock.pk}:at_risk:{clock.owner_id}",
            event_type="clock.at_risk",
            payload={
                "title": f"At risk: {clock.policy.name} on lead {clock.lead_id}",
                "body": f"Due at {clock.due_at:%Y-%m-%d %H:%M} UTC.",
                "url": f"/leads/{clock.lead_id}/",
            },
            recipient_id=clock.owner_id,
        )
        for clock in clocks
        if clock.owner_id
    ]
