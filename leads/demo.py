"""Demo data: a working team's last quarter, built through the real services.

Deterministic (a fixed random seed) and idempotent: people, campaigns and personas are
matched by name, and leads are created only when the demo leads are not there yet.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from crm.models import Role, User
from crm.services import user_create
from leads.lifecycle import Stage
from leads.models import Campaign, Lead, Persona, Reason
from leads.services.activities import activity_log
from leads.services.campaigns import campaign_create, campaign_spend_record
from leads.services.leads import LeadInput, lead_create
from leads.services.transitions import (
    lead_accept,
    lead_disqualify,
    lead_hand_off,
    lead_lose,
    lead_recycle,
    lead_reject,
    lead_to_opportunity,
    lead_win,
)

DEMO_SOURCE = "demo"
DEMO_PASSWORD = "handoff-demo"  # documented in README; stored only as an Argon2 hash

DEMO_USERS: list[tuple[str, str, str, str]] = [
    ("maria", Role.MARKETER, "Maria", "Marketing"),
    ("tom", Role.MARKETER, "Tom", "Campaigns"),
    ("sara", Role.SALES_REP, "Sara", "Sales"),
    ("raj", Role.SALES_REP, "Raj", "Patel"),
    ("lena", Role.SALES_REP, "Lena", "Novak"),
    ("mike", Role.MANAGER, "Mike", "Manager"),
]

CAMPAIGNS: list[tuple[str, str, int, int, int]] = [
    # name, channel, days ago it started, budget, spend
    ("Webinar: Pipeline Hygiene 2026", Campaign.Channel.WEBINAR, 80, 12000, 9400),
    ("LinkedIn Ads Q4", Campaign.Channel.PAID_SOCIAL, 60, 30000, 18750),
    ("Trade show: SaaS Connect", Campaign.Channel.EVENT, 45, 25000, 25000),
    ("Email nurture: Onboarding", Campaign.Channel.EMAIL, 90, 3000, 1200),
    ("Organic search", Campaign.Channel.ORGANIC, 120, 0, 0),
]

PERSONAS: list[tuple[str, str]] = [
    ("RevOps leader", "Owns the CRM and the funnel numbers at a 50-500 person B2B company."),
    ("Head of Sales", "Runs a team of 5-30 reps; cares about speed to lead and win rate."),
    ("Marketing ops", "Runs campaigns and lead scoring; measured on qualified pipeline."),
]

FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lucia",
    "Mats",
    "Nia",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Uma",
    "Vik",
]
LAST = [
    "Adeyemi",
    "Berg",
    "Costa",
    "Dubois",
    "Eze",
    "Fischer",
    "García",
    "Hughes",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
    "Rossi",
    "Shah",
]
COMPANIES = [
    "Acme Logistics",
    "Orchid Hospitality",
    "Granite Insurance",
    "Lumen Media",
    "Northwind Traders",
    "Kestrel Energy",
    "Fjord Analytics",
    "Bluebird Health",
    "Copperline Retail",
    "Helix Robotics",
    "Summit Legal",
    "Tidewater Foods",
]
TITLES = ["VP Marketing", "Head of Sales", "Operations Lead", "CFO", "IT Manager", "CEO"]

# How many demo leads end in each stage (about 500 in all).
STAGE_MIX: dict[str, int] = {
    Stage.ENGAGED: 150,
    Stage.QUALIFIED: 80,
    Stage.OPPORTUNITY: 70,
    Stage.WON: 50,
    Stage.LOST: 40,
    Stage.NURTURE: 60,
    Stage.DISQUALIFIED: 50,
}


@dataclass
class DemoCounts:
    users: int
    campaigns: int
    personas: int
    leads_created: int


def seed_people() -> dict[str, User]:
    people: dict[str, User] = {}
    for username, role, first, last in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                role=role,
                password=DEMO_PASSWORD,
                email=f"{username}@handoff.example",
                first_name=first,
                last_name=last,
            )
        people[username] = user
    return people


def seed_catalog(*, now: datetime, actor: User) -> tuple[list[Campaign], list[Persona]]:
    today = timezone.localdate(now)
    campaigns = []
    for name, channel, days_ago, budget, spend in CAMPAIGNS:
        campaign = Campaign.objects.filter(name=name).first()
        if campaign is None:
            starts_on = today - timedelta(days=days_ago)
            campaign = campaign_create(
                actor=actor,
                name=name,
                channel=channel,
                starts_on=starts_on,
                ends_on=today + timedelta(days=30),
                budget=budget,
                now=now,
            )
            for month, amount in _spread_by_month(Decimal(spend), starts_on, today):
                campaign_spend_record(
                    actor=actor, campaign=campaign, month=month, amount=amount, now=now
                )
        campaigns.append(campaign)
    personas = [
        Persona.objects.get_or_create(name=name, defaults={"description": text})[0]
        for name, text in PERSONAS
    ]
    return campaigns, personas


def _spread_by_month(total: Decimal, first: date, last: date) -> list[tuple[date, Decimal]]:
    """`total` split evenly over the calendar months from `first` to `last`, cents to the last."""
    months = []
    month = first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    share = (total / len(months)).quantize(Decimal("0.01"))
    amounts = [share] * (len(months) - 1) + [total - share * (len(months) - 1)]
    return [(m, a) for m, a in zip(months, amounts, strict=True) if a]


def seed_demo(*, now: datetime) -> DemoCounts:
    people = seed_people()
    campaigns, personas = seed_catalog(now=now, actor=people["tom"])
    created = 0
    if not Lead.objects.filter(source=DEMO_SOURCE).exists():
        created = _seed_leads(now=now, people=people, campaigns=campaigns, personas=personas)
    return DemoCounts(
        users=len(people), campaigns=len(campaigns), personas=len(personas), leads_created=created
    )


def _seed_leads(
    *, now: datetime, people: dict[str, User], campaigns: list[Campaign], personas: list[Persona]
) -> int:
    rng = random.Random(20261124)
    reps = [people["sara"], people["raj"], people["lena"]]
    marketers = [people["maria"], people["tom"]]
    reasons = {
        kind: list(Reason.objects.filter(kind=kind, active=True)) for kind in Reason.Kind.values
    }
    criteria = ["fits-icp", "budget-confirmed", "decision-maker", "need-identified"]
    plan = [stage for stage, count in STAGE_MIX.items() for _ in range(count)]
    rng.shuffle(plan)
    for index, final_stage in enumerate(plan):
        with transaction.atomic():
            _one_lead(
                index=index,
                final_stage=final_stage,
                now=now,
                rng=rng,
                marketer=rng.choice(marketers),
                rep=rng.choice(reps),
                campaign=rng.choice(campaigns),
                persona=rng.choice(personas),
                reasons=reasons,
                criteria=criteria,
            )
    return len(plan)


def _one_lead(
    *,
    index: int,
    final_stage: str,
    now: datetime,
    rng: random.Random,
    marketer: User,
    rep: User,
    campaign: Campaign,
    persona: Persona,
    reasons: dict[str, list[Reason]],
    criteria: list[str],
) -> None:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rng.choice(COMPANIES)
    domain = company.split()[0].lower()
    # Recent leads are still early in the funnel; older ones had time to move.
    age_days = {Stage.ENGAGED: 20, Stage.QUALIFIED: 6}.get(final_stage, 80)
    t = now - timedelta(days=rng.uniform(0.2, age_days))

    def step(hours_low: float, hours_high: float) -> datetime:
        nonlocal t
        t = min(t + timedelta(hours=rng.uniform(hours_low, hours_high)), now)
        return t

    lead = lead_create(
        actor=marketer,
        now=t,
        data=LeadInput(
            email=f"{_ascii(first)}.{_ascii(last)}.{index}@{domain}.example",
            first_name=first,
            last_name=last,
            company=company,
            job_title=rng.choice(TITLES),
            phone=f"+44 20 7{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            campaign=campaign,
            persona=persona,
            source=DEMO_SOURCE,
            external_id=f"demo-{index}",
        ),
    )
    if final_stage == Stage.ENGAGED:
        return
    if final_stage == Stage.DISQUALIFIED and rng.random() < 0.6:
        lead_disqualify(
            lead=lead, actor=marketer, reason=rng.choice(reasons["disqualify"]), now=step(1, 48)
        )
        return
    lead = lead_hand_off(
        lead=lead, actor=marketer, assignee=rep, criteria=criteria, now=step(2, 120)
    )
    if final_stage == Stage.QUALIFIED:
        if rng.random() < 0.5:
            lead = lead_accept(lead=lead, actor=rep, now=step(0.2, 8))
            _touch(lead, rep, rng, step)
        return
    if final_stage == Stage.NURTURE and rng.random() < 0.7:
        lead_reject(
            lead=lead,
            actor=rep,
            reason=rng.choice(reasons["reject"]),
            note="Not ready to buy this quarter.",
            now=step(0.5, 12),
        )
        return
    lead = lead_accept(lead=lead, actor=rep, now=step(0.2, 8))
    _touch(lead, rep, rng, step)
    if final_stage == Stage.DISQUALIFIED:
        lead_disqualify(
            lead=lead, actor=rep, reason=rng.choice(reasons["disqualify"]), now=step(1, 48)
        )
        return
    if final_stage in (Stage.LOST, Stage.NURTURE) and rng.random() < 0.4:
        lead = lead_lose(
            lead=lead, actor=rep, reason=rng.choice(reasons["lost"]), now=step(24, 200)
        )
    else:
        lead = lead_to_opportunity(
            lead=lead,
            actor=rep,
            estimated_value=rng.choice([4800, 9600, 12000, 18000, 24000, 36000, 60000]),
            next_step=rng.choice(["Demo with the team", "Send proposal", "Security review"]),
            now=step(24, 160),
        )
        if final_stage == Stage.OPPORTUNITY:
            return
        if final_stage == Stage.WON:
            lead_win(lead=lead, actor=rep, now=step(48, 500))
            return
        lead = lead_lose(
            lead=lead, actor=rep, reason=rng.choice(reasons["lost"]), now=step(48, 400)
        )
    if final_stage == Stage.NURTURE:
        lead_recycle(lead=lead, actor=rep, now=step(1, 72))


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _touch(
    lead: Lead, rep: User, rng: random.Random, step: Callable[[float, float], datetime]
) -> None:
    for kind in rng.sample(["call", "email", "meeting", "note"], k=rng.randint(1, 3)):
        activity_log(
            lead=lead,
            actor=rep,
            kind=kind,
            summary={
                "call": "Intro call, confirmed pain",
                "email": "Sent case study",
                "meeting": "Discovery meeting",
                "note": "Budget owner is the CFO",
            }[kind],
            now=step(0.5, 30),
        )
