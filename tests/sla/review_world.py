"""A built week of joint-review data: week 48 of 2026 (Monday 23 to Sunday 29 November,
London, GMT) and a little of the week before, every row written through the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from crm.models import User
from leads.models import Campaign, Persona, Reason, ReasonKind
from leads.services.transitions import (
    lead_accept,
    lead_hand_off,
    lead_lose,
    lead_reject,
    lead_to_opportunity,
    lead_win,
)
from sla.commitments import commitments_evaluate
from sla.review.decisions import decision_close, decision_record
from sla.services import commitment_create
from sla.sweep import sla_sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import CampaignFactory, PersonaFactory, SlaPolicyFactory

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # week 48, 10:00 in London
AFTER = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the Tuesday after: the week is closed
WEEK = "2026-W48"


@dataclass
class ReviewWorld:
    webinar: Campaign
    ads: Campaign
    persona: Persona
    too_small: Reason
    no_budget: Reason
    lost_price: Reason


def build_review_world(*, manager: User, marketer: User, sales_rep: User, make_lead) -> ReviewWorld:
    webinar = CampaignFactory(name="Autumn webinar", spend=3000)
    ads = CampaignFactory(name="Search ads", spend=1200)
    persona = PersonaFactory(name="Ops lead")
    too_small, no_budget = (
        Reason.objects.get_or_create(kind=ReasonKind.REJECT, label=label)[0]
        for label in ("Too small", "No budget")
    )
    lost_price = Reason.objects.get_or_create(kind=ReasonKind.LOST, label="Price")[0]
    SlaPolicyFactory(
        actor=manager, name="Accept within 4 hours", target=timedelta(hours=4), now=MONDAY
    )
    commitment_create(
        actor=manager,
        name="Five hand-offs a week",
        period="week",
        target_qualified=5,
        timezone_name="Europe/London",
        starts_on=date(2026, 11, 16),
        now=MONDAY - timedelta(days=7),
    )

    def handed(n: int, at: datetime, campaign: Campaign, *, timeline: bool = False):
        lead = make_lead(
            email=f"week{n}@example.com",
            company=f"Company {n}",
            campaign=campaign,
            persona=persona,
            now=at - timedelta(hours=1),
        )
        criteria = [*ALL_REQUIRED_CRITERIA, *(["timeline-known"] if timeline else [])]
        return lead_hand_off(
            lead=lead, actor=marketer, assignee=sales_rep, criteria=criteria, now=at
        )

    # The week before: one hand-off, accepted in time.
    earlier = handed(0, MONDAY - timedelta(days=7), webinar)
    lead_accept(lead=earlier, actor=sales_rep, now=MONDAY - timedelta(days=7, hours=-1))

    # Week 48: six hand-offs.
    accepted = handed(1, MONDAY, webinar, timeline=True)
    lead_accept(lead=accepted, actor=sales_rep, now=MONDAY + timedelta(hours=1))
    won = handed(2, MONDAY, webinar)
    lead_accept(lead=won, actor=sales_rep, now=MONDAY + timedelta(hours=2))
    lead_to_opportunity(
        lead=won, actor=sales_rep, estimated_value="9000", next_step="Demo",
        now=MONDAY + timedelta(days=1),
    )  # fmt: skip
    lead_win(lead=won, actor=sales_rep, now=MONDAY + timedelta(days=2))
    lost = handed(3, MONDAY, ads)
    lead_accept(lead=lost, actor=sales_rep, now=MONDAY + timedelta(hours=6))  # late: a breach
    lead_to_opportunity(
        lead=lost, actor=sales_rep, estimated_value="4000", next_step="Call",
        now=MONDAY + timedelta(days=1),
    )  # fmt: skip
    lead_lose(lead=lost, actor=sales_rep, reason=lost_price, now=MONDAY + timedelta(days=3))
    for n, campaign, reason in (
        (4, webinar, too_small),
        (5, webinar, too_small),
        (6, ads, no_budget),
    ):
        lead = handed(n, MONDAY + timedelta(days=1), campaign, timeline=n == 6)
        lead_reject(
            lead=lead, actor=sales_rep, reason=reason, now=MONDAY + timedelta(days=1, hours=2)
        )
    sla_sweep(now=AFTER)
    commitments_evaluate(now=AFTER)

    # Decisions: one from the week before still open, one closed in week 48, one recorded now.
    decision_record(
        actor=manager, text="Webinar leads: ask company size on the form", owner=marketer,
        due_on=date(2026, 11, 27), period="2026-W47", now=MONDAY - timedelta(days=6),
    )  # fmt: skip
    done = decision_record(
        actor=manager, text="Sam covers the queue on Fridays", owner=sales_rep,
        due_on=date(2026, 11, 25), period="2026-W47", now=MONDAY - timedelta(days=6),
    )  # fmt: skip
    decision_close(actor=sales_rep, decision=done, outcome="Done", now=MONDAY + timedelta(days=2))
    return ReviewWorld(webinar, ads, persona, too_small, no_budget, lost_price)
