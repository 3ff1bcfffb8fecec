"""Demo SLA data for `make run`: calendars, policies, a commitment, and live clocks.

`seed_sla_demo` is idempotent: it creates what is missing and leaves the rest alone, so the
demo can be seeded again. It runs after the demo leads exist, gives the leads already in a
trigger stage their clocks (started when they entered the stage), and adds a few leads whose
clocks show each state: running, at risk, met and breached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from crm.models import Role, Team, User
from leads.lifecycle import Stage
from leads.models import Lead
from sla.clocks import clocks_start, settle_clocks
from sla.commitments import commitments_evaluate
from sla.models import BusinessCalendar, Commitment, SlaClock, SlaGoal, SlaPolicy, WebhookEndpoint
from sla.services import calendar_create, commitment_create, policy_create, webhook_endpoint_create
from sla.sweep import sla_sweep

SALES_CALENDAR = "Sales working hours (London)"
# England and Wales bank holidays: the calendar refuses to count them as working time.
BANK_HOLIDAYS = [
    "2025-12-25", "2025-12-26", "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04",
    "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28", "2027-01-01", "2027-03-26",
    "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28",
]  # fmt: skip
WEEKDAY_HOURS = [["09:00", "12:30"], ["13:30", "18:00"]]  # 8 working hours a day

DEMO_POLICIES = [
    {
        "name": "Sales accepts or rejects within 4 business hours",
        "goal": SlaGoal.ACCEPT,
        "trigger_stage": Stage.QUALIFIED,
        "target": timedelta(hours=4),
        "accountable_team": Team.SALES,
        "calendar": SALES_CALENDAR,
    },
    {
        "name": "First touch within 1 business day",
        "goal": SlaGoal.FIRST_TOUCH,
        "trigger_stage": Stage.QUALIFIED,
        "target": timedelta(hours=8),
        "accountable_team": Team.SALES,
        "calendar": SALES_CALENDAR,
    },
    {
        "name": "Opportunity moves on or is updated within 14 days",
        "goal": SlaGoal.EXIT_STAGE,
        "trigger_stage": Stage.OPPORTUNITY,
        "target": timedelta(days=14),
        "accountable_team": Team.SALES,
        "calendar": None,
        "met_by_update": True,
    },
]


@dataclass
class DemoSummary:
    created: list[str] = field(default_factory=list)
    clock_states: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def seed_sla_demo(*, now: datetime) -> DemoSummary:
    summary = DemoSummary()
    manager = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("id").first()
    if manager is None:
        raise ValueError("seed_sla_demo needs an active manager; seed the demo users first.")
    calendar = BusinessCalendar.objects.filter(name=SALES_CALENDAR).first()
    if calendar is None:
        calendar = calendar_create(
            actor=manager,
            name=SALES_CALENDAR,
            timezone_name="Europe/London",
            weekly_hours={str(day): WEEKDAY_HOURS for day in range(5)},
            holidays=BANK_HOLIDAYS,
            now=now,
        )
        summary.created.append(f"calendar {calendar.name}")
    for spec in DEMO_POLICIES:
        if SlaPolicy.objects.filter(name=spec["name"]).exists():
            continue
        fields = {**spec, "calendar": calendar if spec["calendar"] else None}
        summary.created.append(f"policy {policy_create(actor=manager, fields=fields, now=now)}")
    if not Commitment.objects.exists():
        previous_month = (now.date().replace(day=1) - timedelta(days=1)).replace(day=1)
        commitment = commitment_create(
            actor=manager,
            name="Marketing: 120 qualified leads a month, 80% accepted",
            period=Commitment.Period.MONTH,
            target_qualified=120,
            min_acceptance_rate="0.8",
            timezone_name="Europe/London",
            starts_on=previous_month,
            now=now,
        )
        summary.created.append(f"commitment {commitment}")
    if not WebhookEndpoint.objects.exists():
        webhook_endpoint_create(
            actor=manager,
            name="Sales channel (example, switched off)",
            url="https://hooks.slack.invalid/services/EXAMPLE",
            format=WebhookEndpoint.Format.SLACK,
            event_types=["breach.created", "commitment.missed"],
            active=False,
            now=now,
        )
        summary.created.append("webhook endpoint example")
    _backfill_clocks(now)
    summary.created.extend(_demo_leads(manager, now))
    sla_sweep(now=now)
    commitments_evaluate(now=now)
    summary.clock_states = {
        state: sum(1 for c in SlaClock.objects.all() if c.display_state(at=now) == state)
        for state in SlaClock.State.values
    }
    return summary


def _backfill_clocks(now: datetime) -> None:
    """Open leads already in a trigger stage get the clock they would have had."""
    stages = set(SlaPolicy.objects.filter(active=True).values_list("trigger_stage", flat=True))
    leads = Lead.objects.filter(stage__in=stages, stage_changed_at__lte=now).exclude(
        clocks__stage=F("stage")
    )
    for lead in leads:
        clocks_start(lead=lead, stage=lead.stage, now=lead.stage_changed_at)
        # What already happened settles the new clocks, at the moment it happened.
        moments = [
            (lead.accepted_at, {"accepted": True}),
            (lead.first_touch_at, {"touched": True}),
        ]
        for at, what in sorted(
            ((at, what) for at, what in moments if at and at >= lead.stage_changed_at),
            key=lambda item: item[0],
        ):
            settle_clocks(
                lead=lead,
                now=min(at, now),
                left_stage="",
                rejected=False,
                accepted=what.get("accepted", False),
                touched=what.get("touched", False),
                updated=False,
            )


def _demo_leads(manager: User, now: datetime) -> list[str]:
    from leads.services.activities import activity_log
    from leads.services.cleaning import current_definition
    from leads.services.leads import LeadInput, lead_create
    from leads.services.transitions import lead_accept, lead_hand_off, lead_to_opportunity

    marketer = User.objects.filter(role=Role.MARKETER, is_active=True).order_by("id").first()
    rep = User.objects.filter(role=Role.SALES_REP, is_active=True).order_by("id").first()
    if marketer is None or rep is None:
        return []
    criteria = [c.key for c in current_definition(Stage.QUALIFIED).criteria.all() if c.required]
    created = []

    def handed_off(email: str, name: str, at: datetime) -> Lead | None:
        if Lead.objects.filter(email=email).exists():
            return None
        first, last = name.split(" ", 1)
        lead = lead_create(
            actor=marketer,
            data=LeadInput(
                email=email, first_name=first, last_name=last, company="SLA demo Ltd", source="demo"
            ),
            now=at - timedelta(hours=2),
        )
        created.append(f"lead {email}")
        return lead_hand_off(lead=lead, actor=marketer, assignee=rep, criteria=criteria, now=at)

    # Breached: handed off ten days ago and never accepted or touched.
    handed_off("quinn.breached@sla-demo.example", "Quinn Overdue", now - timedelta(days=10))
    # Met: accepted and called a minute after the hand-off.
    lead = handed_off("maya.met@sla-demo.example", "Maya Prompt", now - timedelta(days=9))
    if lead is not None:
        lead_accept(lead=lead, actor=rep, now=now - timedelta(days=9) + timedelta(minutes=1))
        activity_log(
            lead=lead,
            actor=rep,
            kind="call",
            summary="Intro call",
            now=now - timedelta(days=9) + timedelta(minutes=5),
        )
    # At risk: an opportunity for 12 of its 14 days without an update.
    start = now - timedelta(days=12, hours=1)
    lead = handed_off("ari.atrisk@sla-demo.example", "Ari Waiting", start)
    if lead is not None:
        lead = lead_accept(lead=lead, actor=rep, now=start + timedelta(minutes=1))
        activity_log(
            lead=lead,
            actor=rep,
            kind="email",
            summary="Sent the deck",
            now=start + timedelta(minutes=2),
        )
        lead_to_opportunity(
            lead=lead,
            actor=rep,
            estimated_value="18000",
            next_step="Pricing call",
            now=start + timedelta(hours=1),
        )
    # Running: handed off just now.
    handed_off("rory.running@sla-demo.example", "Rory Fresh", now)
    return created
