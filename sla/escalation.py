"""Who hears about a breach or a clock at risk, on which channels, and what they read.

The one place this rule lives, on every database. A breach is queued as one outbox fan-out
row (`breach_fan_outs`; by the sweep's flagging statement on PostgreSQL, else by its notify
step, `sla.sweep.breaches_notify`); the outbox drain expands those rows into every
recipient's delivery (`breach_fan_outs_expand`, named in `settings.OUTBOX_HANDLERS`), and the
sweep's at-risk flagging writes its heads-ups from here. Changing who is told is a change
here and nowhere else. Each delivery carries a key unique to (breach or clock, channel,
recipient), so writing it twice leaves one row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from crm.models import OutboxChannel, OutboxMessage, Role, User
from crm.outbox import Delivery
from leads.models import Lead
from sla.models import Breach, Commitment, SlaClock, SlaGoal, SlaPolicy, WebhookEndpoint


def recipients(breach: Breach, escalated: list[User], managers: list[User]) -> list[User]:
    """A clock breach's owner when its policy says so and they are still active, then the
    active people its policy (or commitment) escalates to (`escalated`), or every active
    manager when it names nobody."""
    chosen: dict[int, User] = {}
    policy, owner = breach.policy, breach.owner
    owner_told = breach.kind == Breach.Kind.CLOCK and policy is not None and policy.notify_owner
    if owner_told and owner is not None and owner.is_active:
        chosen[owner.pk] = owner
    for user in escalated or managers:
        chosen.setdefault(user.pk, user)
    return list(chosen.values())


# What a late goal means, said of the people involved ("Sara has not accepted Priya Raman
# (Northwind)"); the due time is added by whoever shows it, in the reader's zone.
MISSED = {
    SlaGoal.ACCEPT: "{owner} has not accepted {lead}",
    SlaGoal.FIRST_TOUCH: "{owner} has not contacted {lead}",
    SlaGoal.EXIT_STAGE: "{owner} has not moved {lead} on",
}
AT_RISK = {
    SlaGoal.ACCEPT: "{owner} has yet to accept {lead}",
    SlaGoal.FIRST_TOUCH: "{owner} has yet to contact {lead}",
    SlaGoal.EXIT_STAGE: "{owner} has yet to move {lead} on",
}


def lead_in_words(lead: Lead | None) -> str:
    """ "Priya Raman (Northwind)": the lead's name and company, or its e-mail."""
    if lead is None:
        return "a lead"
    name = lead.full_name or lead.email or f"lead {lead.pk}"
    return f"{name} ({lead.company})" if lead.company else name


def goal_in_words(wording: dict[str, str], goal: str, owner: User | None, lead: Lead | None) -> str:
    text = wording.get(goal, "{owner} has not met the goal on {lead}")
    return text.format(owner=owner.display_name if owner else "Nobody", lead=lead_in_words(lead))


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
    title = f"SLA breach: {breach.summary}"
    if breach.kind == Breach.Kind.CLOCK and breach.policy is not None:
        lead = breach.lead if breach.lead_id else None
        title = goal_in_words(MISSED, breach.policy.goal, breach.owner, lead)
        data["lead"] = lead_in_words(lead)
        data["due_at"] = breach.breached_at.isoformat()
    return {
        "title": title,
        "body": f"{breach.policy.name if breach.policy_id else breach.summary}: due "
        f"{breach.breached_at:%Y-%m-%d %H:%M} UTC ({breach.team}).",
        "url": f"/leads/{breach.lead_id}/" if breach.lead_id else "/sla/breaches/",
        "data": data,
    }


def breach_deliveries(
    breach: Breach, people: list[User], endpoints: list[WebhookEndpoint]
) -> list[Delivery]:
    """In-app to each of `people`, email to those with an address, and one message to each
    endpoint subscribed to the event (every endpoint hears of a missed commitment)."""
    payload = breach_payload(breach)
    event = "commitment.missed" if breach.kind == Breach.Kind.COMMITMENT else "breach.created"
    deliveries = []
    for user in people:
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


def _active(users: Iterable[User]) -> list[User]:
    return [user for user in users if user.is_active]


def breach_notices(breach_ids: Sequence[int]) -> list[Delivery]:
    """Every delivery of these breaches, from a fixed number of queries whatever their number:
    the breaches, then once each their policies and commitments with their escalation lists,
    their owners, the active managers and the webhook endpoints, shared by every breach."""
    breaches = list(
        Breach.objects.filter(pk__in=breach_ids).only(
            "kind", "team", "breached_at", "summary", "lead", "policy", "commitment", "owner"
        )
    )
    policies = SlaPolicy.objects.prefetch_related("escalate_to").in_bulk(
        {b.policy_id for b in breaches if b.policy_id}
    )
    commitments = Commitment.objects.prefetch_related("escalate_to").in_bulk(
        {b.commitment_id for b in breaches if b.commitment_id}
    )
    escalated = {
        **{(Breach.Kind.CLOCK, pk): _active(p.escalate_to.all()) for pk, p in policies.items()},
        **{
            (Breach.Kind.COMMITMENT, pk): _active(c.escalate_to.all())
            for pk, c in commitments.items()
        },
    }
    owners = User.objects.in_bulk({b.owner_id for b in breaches if b.owner_id})
    leads = Lead.objects.only("first_name", "last_name", "email", "company").in_bulk(
        {b.lead_id for b in breaches if b.lead_id}
    )
    managers = list(User.objects.filter(role=Role.MANAGER, is_active=True))
    endpoints = list(WebhookEndpoint.objects.filter(active=True))
    deliveries = []
    for breach in breaches:
        breach.policy = policies.get(breach.policy_id)
        breach.owner = owners.get(breach.owner_id)
        breach.lead = leads.get(breach.lead_id)
        source = breach.policy_id if breach.kind == Breach.Kind.CLOCK else breach.commitment_id
        people = recipients(breach, escalated.get((breach.kind, source), []), managers)
        deliveries += breach_deliveries(breach, people, endpoints)
    return deliveries


# A breach's fan-out row: its key is FAN_OUT_KEY[0] + id + FAN_OUT_KEY[1], its payload
# {FAN_OUT_ID: id}. The sweep's flagging statement on PostgreSQL writes the same rows in SQL
# from these names (`sla.sweep_sql.flag_breached_sql`).
FAN_OUT_KEY = ("breach:", ":fan_out")
FAN_OUT_ID = "breach_id"
FAN_OUT_EVENT = "breach.fan_out"


def breach_fan_outs(breach_ids: Sequence[int]) -> list[Delivery]:
    """One outbox row per breach, standing for all its deliveries until the drain expands it:
    queuing a breach stays one small row however many people hear."""
    return [
        Delivery(
            channel=OutboxChannel.FAN_OUT,
            delivery_key=f"{FAN_OUT_KEY[0]}{pk}{FAN_OUT_KEY[1]}",
            event_type=FAN_OUT_EVENT,
            payload={FAN_OUT_ID: pk},
        )
        for pk in breach_ids
    ]


def breach_fan_outs_expand(messages: Sequence[OutboxMessage]) -> list[Delivery]:
    """The outbox's fan-out handler: the deliveries of the breaches these rows stand for."""
    return breach_notices([message.payload[FAN_OUT_ID] for message in messages])


def at_risk_deliveries(clocks: list[SlaClock]) -> list[Delivery]:
    """A heads-up to the clock's owner only; managers hear about breaches, not risks."""
    return [
        Delivery(
            channel=OutboxChannel.IN_APP,
            delivery_key=f"clock:{clock.pk}:at_risk:{clock.owner_id}",
            event_type="clock.at_risk",
            payload={
                "title": goal_in_words(AT_RISK, clock.policy.goal, clock.owner, clock.lead),
                "body": f"{clock.policy.name}: due {clock.due_at:%Y-%m-%d %H:%M} UTC.",
                "url": f"/leads/{clock.lead_id}/",
                "data": {
                    "lead_id": clock.lead_id,
                    "lead": lead_in_words(clock.lead),
                    "due_at": clock.due_at.isoformat(),
                },
            },
            recipient_id=clock.owner_id,
        )
        for clock in clocks
        if clock.owner_id
    ]
