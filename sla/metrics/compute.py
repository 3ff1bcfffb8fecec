"""One computation per metric family, each a fixed number of queries whatever the data.

Every function takes one `MetricFilter` (period, team, rep, campaign, persona, policy), so the
same filters select the same rows on every page, export and API call. Values are plain
Python: counts `int`, rates `float` percent (one decimal), durations `timedelta`, amounts
`Decimal` (cents). What each metric means is in `sla.metrics.catalogue`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import (
    Case,
    Count,
    DateField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth

from leads.lifecycle import Stage
from leads.models import (
    HANDOFF_AND_ANSWERS,
    Campaign,
    Lead,
    LeadEvent,
    LeadTally,
    Reason,
    ReasonKind,
)
from leads.periods import Period
from sla.metrics.catalogue import BY_KEY, METRICS, Metric
from sla.metrics.clock_groups import ClockGroup, clock_groups
from sla.models import (
    Breach,
    ClockState,
    SlaClock,
    SlaClockQuerySet,
    SlaGoal,
    needs_attention_arms,
    past_due_q,
    shown_state_q,
)

Values = dict[str, Any]


@dataclass(frozen=True)
class MetricFilter:
    """Which rows a figure counts. Lead figures follow the lead (its current owning team,
    owner, campaign, persona); SLA figures follow the clock (its team, owner, policy) and
    its lead's campaign and persona. A policy narrows SLA figures only."""

    period: Period
    team: str = ""
    rep_id: int | None = None
    campaign_id: int | None = None
    persona_id: int | None = None
    policy_id: int | None = None

    def lead_q(self, prefix: str = "") -> Q:
        """The filter's lead conditions, on `prefix` (e.g. "lead__" from a lead's rows)."""
        wanted = {
            "owner_team": self.team,
            "owner_id": self.rep_id,
            "campaign_id": self.campaign_id,
            "persona_id": self.persona_id,
        }
        return Q(**{prefix + field: value for field, value in wanted.items() if value})

    def leads(self) -> QuerySet[Lead]:
        return Lead.objects.order_by().filter(self.lead_q())

    def tallies(self) -> QuerySet[LeadTally]:
        """The leads' kept counts (leads.models.LeadTally), keyed by the same columns."""
        return LeadTally.objects.order_by().filter(self.lead_q())

    def promise_q(self) -> Q:
        """The filters on a clock or a breach: both carry team, owner, policy and lead."""
        chosen = {
            "team": self.team,
            "owner_id": self.rep_id,
            "policy_id": self.policy_id,
            "lead__campaign_id": self.campaign_id,
            "lead__persona_id": self.persona_id,
        }
        return Q(**{lookup: value for lookup, value in chosen.items() if value})

    def clocks(self) -> SlaClockQuerySet:
        return SlaClock.objects.order_by().filter(self.promise_q())

    def during(self, field: str) -> Q:
        """`field` falls in the period: [local midnight of the first day, after the last)."""
        q = Q(**{f"{field}__lt": self.period.end})
        if self.period.start is not None:
            q &= Q(**{f"{field}__gte": self.period.start})
        return q


def rate(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent, one decimal; None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


def per(amount: Decimal, count: int) -> Decimal | None:
    """An amount per item, in cents; None when there is no item."""
    return (amount / count).quantize(Decimal("0.01")) if count else None


# ---------------------------------------------------------------- leads


def _in_stage(since: datetime | None, until: datetime | None) -> Q:
    """In the current stage since after `since` and at most until `until`."""
    q = Q()
    if since is not None:
        q &= Q(stage_changed_at__gt=since)
    if until is not None:
        q &= Q(stage_changed_at__lte=until)
    return q


def lead_flow_figures(f: MetricFilter, now: datetime) -> tuple[Values, dict[str, Values]]:
    """New leads, opportunities, won, win rate and open pipeline value, and per stage the
    leads created in the period (count, value, time in stage) for the pipeline and aging
    tables: one GROUP BY stage of the period's leads, and the open pipeline (what is in
    opportunity now, whatever the period) from the leads' kept counts."""
    created, reached = f.during("created_at"), f.during("first_opportunity_at")
    closed = f.during("closed_at")
    won, lost = Q(stage=Stage.WON) & closed, Q(stage=Stage.LOST) & closed
    day, week, month = now - timedelta(days=1), now - timedelta(days=7), now - timedelta(days=30)
    by_stage = {
        row["stage"]: row
        for row in f.leads()
        .filter(created | reached | won | lost)
        .values("stage")
        .annotate(
            count=Count("id", filter=created),
            value=Sum("estimated_value", filter=created),
            opportunities=Count("id", filter=reached),
            closed=Count("id", filter=closed),
            under_1d=Count("id", filter=created & _in_stage(day, None)),
            d1_7=Count("id", filter=created & _in_stage(week, day)),
            d7_30=Count("id", filter=created & _in_stage(month, week)),
            over_30d=Count("id", filter=created & _in_stage(None, month)),
            oldest_since=Min("stage_changed_at", filter=created),
        )
    }
    total = {key: sum(row[key] for row in by_stage.values()) for key in ("count", "opportunities")}
    won_count = by_stage.get(Stage.WON, {}).get("closed", 0)
    lost_count = by_stage.get(Stage.LOST, {}).get("closed", 0)
    pipeline = f.tallies().filter(stage=Stage.OPPORTUNITY).aggregate(v=Sum("value"))["v"]
    values = {
        "new_leads": total["count"],
        "opportunities": total["opportunities"],
        "won": won_count,
        "lost": lost_count,
        "win_rate": rate(won_count, won_count + lost_count),
        "pipeline_value": (pipeline or Decimal("0")).quantize(Decimal("0.01")),
    }
    return values, by_stage


# ---------------------------------------------------------------- hand-offs


def _one_if(condition: Q) -> Max:
    return Max(Case(When(condition, then=Value(1)), default=Value(0)))


_HANDOFF = Q(kind=LeadEvent.Kind.TRANSITION, to_stage=Stage.QUALIFIED)
_REJECTION = Q(kind=LeadEvent.Kind.TRANSITION, from_stage=Stage.QUALIFIED, to_stage=Stage.NURTURE)


def _handoff_cohort(f: MetricFilter) -> QuerySet[LeadEvent]:
    """One row per lead handed off in the period (each once), with whether it was accepted
    and rejected since the period began; read from the hand-off and answer events alone
    (their partial index), joining the leads only to apply the filter's lead conditions."""
    events = LeadEvent.objects.order_by().filter(HANDOFF_AND_ANSWERS, f.lead_q("lead__"))
    if f.period.start is not None:
        events = events.filter(created_at__gte=f.period.start)
    return (
        events.values("lead_id")
        .annotate(
            handed=_one_if(_HANDOFF & f.during("created_at")),
            accepted=_one_if(Q(kind=LeadEvent.Kind.ACCEPTED)),
            rejected=_one_if(_REJECTION),
        )
        .filter(handed=1)
    )


def rejected_leads(f: MetricFilter) -> QuerySet[Lead]:
    """The leads counted in `rejected`: handed off in the period, rejected and not accepted."""
    cohort = _handoff_cohort(f).filter(rejected=1, accepted=0).values("lead_id")
    return Lead.objects.order_by().filter(pk__in=cohort)


def handed_off_leads(f: MetricFilter) -> QuerySet[Lead]:
    """The leads counted in `handed_off`."""
    return Lead.objects.order_by().filter(pk__in=_handoff_cohort(f).values("lead_id"))


def lost_leads(f: MetricFilter) -> QuerySet[Lead]:
    """The leads counted in `lost`: closed lost in the period."""
    return f.leads().filter(f.during("closed_at"), stage=Stage.LOST)


NO_REASON = "(no reason recorded)"


def handoff_figures(f: MetricFilter) -> tuple[Values, list[tuple[str, int]]]:
    """Handed off, accepted, rejected and both acceptance rates, and the rejected ones by
    the reason sales gave (most frequent first): one query, grouped by the reason of the
    rejected leads (the only rows for which it reads the lead).

    A lead rejected and later accepted in the same cohort counts as accepted only, so
    accepted + rejected never exceeds handed off."""
    cohort, params = _handoff_cohort(f).query.sql_with_params()
    connection = connections[LeadEvent.objects.db]
    name = connection.ops.quote_name
    lead, reason = name(Lead._meta.db_table), name(Reason._meta.db_table)
    rejected_only = "p.rejected = 1 AND p.accepted = 0"
    # The lead's reason is looked up for the rejected rows only (a CASE evaluates its
    # subquery only when its condition holds); a join would read every cohort lead.
    sql = (
        "SELECT r.label, r.kind, COUNT(*), SUM(q.accepted), SUM(q.rejected_only) FROM ("
        f"SELECT p.accepted, CASE WHEN {rejected_only} THEN 1 ELSE 0 END AS rejected_only, "
        f"CASE WHEN {rejected_only} THEN "
        f"(SELECT l.reason_id FROM {lead} l WHERE l.id = p.lead_id) END AS reason_id "
        f"FROM ({cohort}) p) q "
        f"LEFT JOIN {reason} r ON r.id = q.reason_id "
        "GROUP BY r.label, r.kind"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    handed = accepted = rejected = 0
    reasons: dict[str, int] = {}
    for label, kind, row_handed, row_accepted, row_rejected in rows:
        handed, accepted = handed + row_handed, accepted + int(row_accepted or 0)
        rejected += int(row_rejected or 0)
        if row_rejected:
            shown = label if kind == ReasonKind.REJECT else NO_REASON
            reasons[shown] = reasons.get(shown, 0) + int(row_rejected)
    values = {
        "handed_off": handed,
        "accepted": accepted,
        "rejected": rejected,
        "acceptance_rate": rate(accepted, accepted + rejected),
        "acceptance_rate_all": rate(accepted, handed),
    }
    return values, sorted(reasons.items(), key=lambda item: (-item[1], item[0]))


# ---------------------------------------------------------------- SLA clocks

GOALS = (SlaGoal.ACCEPT, SlaGoal.FIRST_TOUCH, SlaGoal.EXIT_STAGE)
TIMED_GOALS = (SlaGoal.ACCEPT, SlaGoal.FIRST_TOUCH)


def decided_q(now: datetime) -> Q:
    """A clock's outcome is known: met, or missed (breached, or open and past due).
    Cancelled clocks (the goal stopped applying) count for neither side."""
    return Q(state=ClockState.MET) | shown_state_q(ClockState.BREACHED, now)


def decided_clocks(f: MetricFilter, now: datetime) -> QuerySet[SlaClock]:
    """Clocks of the filter started in the period whose outcome is known."""
    return f.clocks().filter(f.during("started_at")).filter(decided_q(now))


def clock_figures(f: MetricFilter, now: datetime) -> Values:
    """Compliance per goal and overall, decided and missed promises, and the median and
    90th percentile time to accept and to first touch: one query on PostgreSQL
    (sla.metrics.clock_groups). The breach report reads the same figures from its own
    groupings of the same clocks (sla.selectors.compliance_figures) through `clock_values`."""
    return clock_values(clock_groups(decided_clocks(f, now), ("goal",))["goal"])


def clock_values(by_goal: Mapping[Any, ClockGroup]) -> Values:
    """The clock metrics from each goal's decided clocks: the one place these figures are
    put together."""
    values: Values = {}
    met = total = exempted = 0
    for goal in GOALS:
        group = by_goal.get(goal) or ClockGroup()
        values[f"sla_compliance_{goal}"] = rate(group.met, group.total)
        values[f"sla_compliance_{goal}_adjusted"] = rate(group.met, group.total - group.exempted)
        met, total, exempted = met + group.met, total + group.total, exempted + group.exempted
    values.update(
        sla_compliance=rate(met, total),
        sla_compliance_adjusted=rate(met, total - exempted),
        sla_decided=total,
        sla_met=met,
        sla_missed=total - met,
        sla_exempted=exempted,
    )
    for goal in TIMED_GOALS:
        group = by_goal.get(goal) or ClockGroup()
        values[f"time_to_{goal}_median"] = group.median
        values[f"time_to_{goal}_p90"] = group.p90
    return values


def attention_figures(f: MetricFilter, now: datetime) -> Values:
    """Open clocks of the filter at risk now and past due now, whatever the period.

    Three counts in one statement, each over one partial index: breached and still waiting,
    open and past due (not flagged yet), open past the at-risk mark and not yet due. Together
    they are `needs_attention` split by what the clock shows; under one OR of them the
    database read every such clock's row, apart each count reads only its index."""
    clocks = f.clocks()
    nearly_late, late = needs_attention_arms(now)
    waiting_late, past_due, at_risk = _counts(
        [
            clocks.filter(late),
            clocks.filter(past_due_q(now)),
            clocks.filter(nearly_late, due_at__gt=now),
        ]
    )
    return {"clocks_past_due": waiting_late + past_due, "clocks_at_risk": at_risk}


def _counts(querysets: list[QuerySet]) -> list[int]:
    """How many rows each of `querysets` has, in one statement."""
    db = querysets[0].db
    parts = [qs.values("pk").query.get_compiler(using=db).as_sql() for qs in querysets]
    sql = "SELECT " + ", ".join(
        f"(SELECT COUNT(*) FROM ({part}) q{n})" for n, (part, _) in enumerate(parts)
    )
    with connections[db].cursor() as cursor:
        cursor.execute(sql, [param for _, params in parts for param in params])
        return list(cursor.fetchone())


def breach_figures(f: MetricFilter) -> Values:
    """Breach records in the period (missed promises recorded, missed commitments)."""
    breaches = Breach.objects.order_by().filter(f.during("breached_at"), f.promise_q())
    return breaches.aggregate(
        breaches=Count("id"),
        breaches_unacknowledged=Count("id", filter=Q(acknowledged_at__isnull=True)),
    )


# ---------------------------------------------------------------- campaigns


@dataclass(frozen=True)
class CampaignFigures:
    campaign: Campaign
    figures: Figures

    @property
    def group(self) -> str:
        """How a page marks this row's figures (`data-group`): one campaign's, not all."""
        return f"campaign:{self.campaign.pk}"


def _campaign_values(spend: Decimal, leads: int, opportunities: int, won: int) -> Values:
    return {
        "campaign_spend": spend,
        "campaign_leads": leads,
        "campaign_opportunities": opportunities,
        "campaign_won": won,
        "cost_per_lead": per(spend, leads),
        "cost_per_opportunity": per(spend, opportunities),
        "cost_per_won": per(spend, won),
        "lead_to_won_rate": rate(won, leads),
    }


def campaign_figures(
    f: MetricFilter, campaigns: list[Campaign]
) -> tuple[list[CampaignFigures], Values]:
    """Spend against results per campaign and for all of them, all time: one GROUP BY of
    the leads' kept counts (leads.models.LeadTally).

    `campaigns` (the caller's list, e.g. all in name order) says which rows to show; the
    filter's campaign narrows it. A lead counts as an opportunity once it ever reached
    that stage."""
    if f.campaign_id:
        campaigns = [c for c in campaigns if c.pk == f.campaign_id]
    per_campaign = {
        campaign_id: {"leads": leads, "opportunities": opportunities, "won": won}
        for campaign_id, leads, opportunities, won in f.tallies()
        .exclude(campaign_id=0)
        .values("campaign_id")
        .annotate(
            n=Sum("leads"),
            o=Sum("opportunities"),
            w=Coalesce(Sum("leads", filter=Q(stage=Stage.WON)), 0),
        )
        .values_list("campaign_id", "n", "o", "w")
    }
    none = {"leads": 0, "opportunities": 0, "won": 0}
    rows, sums = [], {"spend": Decimal("0"), **none}
    for campaign in campaigns:
        stats = per_campaign.get(campaign.pk, none)
        rows.append(
            CampaignFigures(
                campaign=campaign,
                figures=Figures(
                    _campaign_values(
                        campaign.spend, stats["leads"], stats["opportunities"], stats["won"]
                    )
                ),
            )
        )
        sums["spend"] += campaign.spend
        for key in none:
            sums[key] += stats[key]
    total = _campaign_values(sums["spend"], sums["leads"], sums["opportunities"], sums["won"])
    return rows, total


@dataclass(frozen=True)
class CampaignMonth:
    month: date
    spend: Decimal
    leads: int

    @property
    def cost_per_lead(self) -> Decimal | None:
        return per(self.spend, self.leads)


def campaign_months(campaign: Campaign) -> list[CampaignMonth]:
    """Cost per lead as it follows spend: each calendar month's recorded spend over the leads
    created that month (in the server's zone), newest first. Two reads whatever the months."""
    spend = dict(campaign.spends.order_by().values_list("month", "amount"))
    leads = dict(
        Lead.objects.filter(campaign=campaign)
        .order_by()
        .annotate(month=TruncMonth("created_at", output_field=DateField()))
        .values("month")
        .annotate(n=Count("id"))
        .values_list("month", "n")
    )
    return [
        CampaignMonth(month=m, spend=spend.get(m, Decimal("0")), leads=leads.get(m, 0))
        for m in sorted({*spend, *leads}, reverse=True)
    ]


# ---------------------------------------------------------------- all together


def metrics_summary(f: MetricFilter, now: datetime) -> tuple[Values, list[tuple[str, int]]]:
    """Every metric of the catalogue in its order (but commitments, which have periods of
    their own), and the rejected leads by reason."""
    values: Values = {}
    values.update(lead_flow_figures(f, now)[0])
    handoffs, reasons = handoff_figures(f)
    values.update(handoffs)
    values.update(clock_figures(f, now))
    values.update(attention_figures(f, now))
    values.update(breach_figures(f))
    values.update(campaign_figures(f, list(Campaign.objects.order_by("name")))[1])
    return {metric.key: values[metric.key] for metric in METRICS if metric.key in values}, reasons


@dataclass(frozen=True)
class Figure:
    """A value with what it is: what a page shows, with its key and definition."""

    metric: Metric
    value: Any

    @property
    def key(self) -> str:
        return self.metric.key

    @property
    def label(self) -> str:
        return self.metric.label

    @property
    def definition(self) -> str:
        return self.metric.definition

    @property
    def shown(self) -> str:
        return self.metric.shown(self.value)


class Figures(Mapping[str, Figure]):
    """Values by metric key, each with its catalogue entry (templates: `m.acceptance_rate`)."""

    def __init__(self, values: Values) -> None:
        self._figures = {key: Figure(BY_KEY[key], value) for key, value in values.items()}

    def __getitem__(self, key: str) -> Figure:
        return self._figures[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._figures)

    def __len__(self) -> int:
        return len(self._figures)
