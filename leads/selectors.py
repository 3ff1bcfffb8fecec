"""Reads that span models: used by pages, the API and reports alike.

The dashboard's filters, and how its pipeline and aging tables are laid out; the figures
themselves come from the metric computations (sla.metrics.compute), like every figure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any, TypedDict

from django.db import connections
from django.db.models import Case, Count, F, QuerySet, Sum, Value, When

from leads.lifecycle import OPEN_STAGES, STAGE_ORDER, STAGE_OWNER, Stage
from leads.models import ImportJob, Lead, LeadEvent
from leads.periods import Period
from leads.search import clean_term, closeness, exact_identity

# How many of the newest matches the jump box ranks. Ranking every match of a common word
# reads all of them (3 s for 200,000 matches among a million leads, docs/search.md); the newest
# few hundred are read from one index slice, and an exact e-mail is fetched by its own index.
SUGGESTION_CANDIDATES = 200


class StageRow(TypedDict):
    stage: str
    label: str
    owner_team: str
    count: int
    value: Decimal


def pipeline_by_stage(leads: QuerySet[Lead] | None = None) -> list[StageRow]:
    """Leads and estimated value per stage, in funnel order, from one GROUP BY."""
    leads = Lead.objects.all() if leads is None else leads
    totals = {
        row["stage"]: row
        for row in leads.order_by()
        .values("stage")
        .annotate(count=Count("id"), value=Sum("estimated_value"))
    }
    return stage_rows(totals)


def stage_rows(totals: Mapping[str, Mapping[str, Any]]) -> list[StageRow]:
    """Every stage in funnel order from per-stage `count` and `value` (missing ones are 0)."""
    return [
        StageRow(
            stage=stage,
            label=Stage(stage).label,
            owner_team=STAGE_OWNER[stage],
            count=totals.get(stage, {}).get("count", 0),
            value=totals.get(stage, {}).get("value") or Decimal("0"),
        )
        for stage in STAGE_ORDER
    ]


class ConversionRow(TypedDict):
    from_stage: str
    to_stage: str
    entered: int
    converted: int
    rate: float | None


# Each step can only be reached from the one before it (see TRANSITIONS), so the leads that
# ever entered the later stage are exactly the ones that converted.
FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    (Stage.ENGAGED, Stage.QUALIFIED),
    (Stage.QUALIFIED, Stage.OPPORTUNITY),
    (Stage.OPPORTUNITY, Stage.WON),
)


def conversion_between_stages(
    *, created_from: datetime | None = None, created_to: datetime | None = None
) -> list[ConversionRow]:
    """Leads that ever entered each funnel stage and the share that reached the next one,
    from the history, in one GROUP BY; optionally for leads created in a date range."""
    events = LeadEvent.objects.filter(to_stage__in={s for step in FUNNEL_STEPS for s in step})
    if created_from is not None:
        events = events.filter(lead__created_at__gte=created_from)
    if created_to is not None:
        events = events.filter(lead__created_at__lt=created_to)
    entered = dict(
        events.order_by()
        .values("to_stage")
        .annotate(n=Count("lead", distinct=True))
        .values_list("to_stage", "n")
    )
    rows: list[ConversionRow] = []
    for before, after in FUNNEL_STEPS:
        base, reached = entered.get(before, 0), entered.get(after, 0)
        rows.append(
            ConversionRow(
                from_stage=before,
                to_stage=after,
                entered=base,
                converted=reached,
                rate=round(reached / base, 4) if base else None,
            )
        )
    return rows


PERIODS: dict[str, tuple[str, int | None]] = {
    "7d": ("Last 7 days", 7),
    "30d": ("Last 30 days", 30),
    "90d": ("Last 90 days", 90),
    "365d": ("Last 12 months", 365),
    "all": ("All time", None),
}
DEFAULT_PERIOD = "90d"


@dataclass(frozen=True)
class DashboardFilters:
    period: str = DEFAULT_PERIOD
    team: str = ""
    campaign_id: int | None = None

    def period_at(self, now: datetime) -> Period:
        """The chosen whole days ending today, in the site's zone (leads.periods)."""
        return Period.last_days(PERIODS.get(self.period, PERIODS[DEFAULT_PERIOD])[1], now)


class AgingRow(TypedDict):
    stage: str
    label: str
    count: int
    under_1d: int
    d1_7: int
    d7_30: int
    over_30d: int
    oldest_since: datetime | None


AGING_BUCKETS = ("count", "under_1d", "d1_7", "d7_30", "over_30d")


def aging_rows(rows: Mapping[str, Mapping[str, Any]]) -> list[AgingRow]:
    """Open leads by time spent in their current stage, from per-stage bucket counts."""
    aging: list[AgingRow] = []
    for stage in OPEN_STAGES:
        row = rows.get(stage, {})
        buckets = {key: row.get(key, 0) for key in AGING_BUCKETS}
        aging.append(
            AgingRow(
                stage=stage,
                label=Stage(stage).label,
                oldest_since=row.get("oldest_since"),
                **buckets,  # type: ignore[typeddict-item]
            )
        )
    return aging


def lead_suggestions(*, term: str, limit: int = 8) -> list[Lead]:
    """The leads the header's jump box offers for `term`, best first: the lead whose e-mail or
    external id is the term, then the closest names and companies among the newest matches,
    newest first among equals. Two queries and the search's word counts (leads/search.py),
    whatever the number of leads."""
    term = clean_term(term)
    if not term:
        return []
    vendor = connections[Lead.objects.db].vendor
    columns = ("first_name", "last_name", "email", "company", "stage", "created_at")
    # By its own (email_normalized) index, however many leads contain the term.
    exact = list(Lead.objects.filter(email_normalized=term.lower()).only(*columns)[:limit])
    newest = Lead.objects.search(term).order_by("-created_at", "-id")[:SUGGESTION_CANDIDATES]
    ranked = (
        Lead.objects.filter(pk__in=newest.values("pk"))
        .exclude(pk__in=[lead.pk for lead in exact])
        .annotate(
            is_exact=Case(When(exact_identity(term), then=Value(0)), default=Value(1)),
            closeness=closeness(term, vendor=vendor),
        )
        .order_by("is_exact", "-closeness", "-created_at", "-id")
        .only(*columns)[: max(limit - len(exact), 0)]
    )
    return exact + list(ranked)


# ---------------------------------------------------------------- each person's queue ("My work")


def rep_waiting(*, owner_id: int, limit: int) -> list[Lead]:
    """Leads handed to the rep and not yet accepted, oldest hand-off first."""
    return list(
        Lead.objects.waiting_for_acceptance()
        .filter(owner_id=owner_id)
        .order_by("handed_off_at", "id")[:limit]
    )


def rep_opportunities(*, owner_id: int, limit: int) -> list[Lead]:
    """The rep's open opportunities: the next step due soonest first, then those without a
    date, the one longest in the stage first."""
    return list(
        Lead.objects.filter(owner_id=owner_id, stage=Stage.OPPORTUNITY).order_by(
            F("next_step_due").asc(nulls_last=True), "stage_changed_at", "id"
        )[:limit]
    )


def followups_due(*, owner_id: int, today: date, limit: int) -> list[Lead]:
    """The person's open leads whose next step is due today or was due before, oldest first."""
    return list(
        Lead.objects.open()
        .filter(owner_id=owner_id, next_step_due__lte=today)
        .order_by("next_step_due", "id")[:limit]
    )


def returned_by_sales(*, creator_id: int, limit: int) -> list[Lead]:
    """The marketer's leads sales sent back (rejected, or lost and recycled), with the reason:
    the feedback loop. Most recent first."""
    return list(
        Lead.objects.filter(created_by_id=creator_id, stage=Stage.NURTURE)
        .select_related("reason")
        .order_by("-stage_changed_at", "-id")[:limit]
    )


def waiting_for_sales(*, creator_id: int, limit: int) -> list[Lead]:
    """The marketer's leads handed to sales and not yet accepted, oldest hand-off first."""
    return list(
        Lead.objects.waiting_for_acceptance()
        .filter(created_by_id=creator_id)
        .select_related("owner")
        .order_by("handed_off_at", "id")[:limit]
    )


def recent_imports(*, user_id: int, limit: int) -> list[ImportJob]:
    return list(ImportJob.objects.filter(created_by_id=user_id).order_by("-created_at")[:limit])


COUNT_BOUND = 10_000


def bounded_count(leads: QuerySet[Lead], bound: int = COUNT_BOUND) -> tuple[int, bool]:
    """How many leads match, counted exactly up to `bound`: (count, more than that?). The
    COUNT reads at most bound + 1 index entries, so a list of a million costs what one of
    ten thousand does, and says "10,000+"."""
    counted = leads.order_by().values("pk")[: bound + 1].count()
    return min(counted, bound), counted > bound


# The lead list's CSV: what a row shows, and what a spreadsheet needs to follow the lead up.
EXPORT_HEADER = (
    "Name",
    "Email",
    "Company",
    "Job title",
    "Phone",
    "Stage",
    "Owner",
    "Campaign",
    "Persona",
    "Estimated value",
    "Next step",
    "Next step due",
    "Created",
)


def lead_export_rows(leads: QuerySet[Lead], *, zone: tzinfo) -> Iterator[tuple[Any, ...]]:
    """The header, then one row per lead in the queryset's order, read in chunks (a whole
    filtered list may hold a million leads); times in `zone`, the reader's."""
    yield EXPORT_HEADER
    stages = dict(Stage.choices)
    rows = leads.values_list(
        "first_name",
        "last_name",
        "email",
        "company",
        "job_title",
        "phone",
        "stage",
        "owner__first_name",
        "owner__last_name",
        "owner__username",
        "campaign__name",
        "persona__name",
        "estimated_value",
        "next_step",
        "next_step_due",
        "created_at",
    )
    for row in rows.iterator(chunk_size=2000):
        (first, last, email, company, title, phone, stage, *owner, campaign, persona) = row[:12]
        value, next_step, next_due, created = row[12:]
        owner_name = f"{owner[0]} {owner[1]}".strip() or (owner[2] or "")
        yield (
            f"{first} {last}".strip(),
            email,
            company,
            title,
            phone,
            stages.get(stage, stage),
            owner_name,
            campaign or "",
            persona or "",
            "" if value is None else value,
            next_step,
            next_due.isoformat() if next_due else "",
            created.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        )
