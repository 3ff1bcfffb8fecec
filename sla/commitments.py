"""Marketing's commitments: live progress, and the evaluation of closed periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.outbox import outbox_drain_soon
from leads.periods import Period, local_midnight
from sla.metrics.catalogue import BY_KEY
from sla.metrics.compute import Figure, MetricFilter, handoff_figures, rate
from sla.models import Breach, Commitment, CommitmentPeriodKind, CommitmentResult


@dataclass(frozen=True)
class CommitmentProgress:
    commitment_id: int
    name: str
    period_start: datetime
    period_end: datetime
    qualified: int
    accepted: int
    target_qualified: int
    min_acceptance_rate: Decimal | None
    as_of: datetime | None = None  # when measured; None: after the period, for its result

    @property
    def acceptance_rate(self) -> Decimal | None:
        if not self.qualified:
            return None
        return (Decimal(self.accepted) / Decimal(self.qualified)).quantize(Decimal("0.001"))

    @property
    def volume_met(self) -> bool:
        return self.qualified >= self.target_qualified

    @property
    def acceptance_met(self) -> bool:
        if self.min_acceptance_rate is None:
            return True
        rate = self.acceptance_rate
        return rate is not None and rate >= self.min_acceptance_rate

    @property
    def met(self) -> bool:
        return self.volume_met and self.acceptance_met

    @property
    def percent_of_target(self) -> int:
        return min(100, round(100 * self.qualified / self.target_qualified))

    @property
    def volume_percent(self) -> float | None:
        """The metric commitment_volume: hand-offs as a share of the target (may pass 100)."""
        return rate(self.qualified, self.target_qualified)

    @property
    def acceptance_percent(self) -> float | None:
        """The metric commitment_acceptance: acceptance rate (of all hand-offs), percent."""
        return rate(self.accepted, self.qualified)

    @property
    def volume_figure(self) -> Figure:
        return Figure(BY_KEY["commitment_volume"], self.volume_percent)

    @property
    def acceptance_figure(self) -> Figure:
        return Figure(BY_KEY["commitment_acceptance"], self.acceptance_percent)

    @property
    def group(self) -> str:
        """How a page marks this commitment's figures (`data-group`)."""
        return f"commitment:{self.commitment_id}"

    @property
    def min_acceptance_percent(self) -> float | None:
        if self.min_acceptance_rate is None:
            return None
        return float(self.min_acceptance_rate * 100)

    @property
    def status(self) -> str:
        """met; missed (the period is over and it was not met); on track (volume keeps pace
        with the time gone and acceptance is at its minimum so far); else at risk."""
        if self.met:
            return CommitmentStatus.MET
        if self.as_of is None or self.as_of >= self.period_end:
            return CommitmentStatus.MISSED
        gone = (self.as_of - self.period_start) / (self.period_end - self.period_start)
        pace_kept = self.qualified >= self.target_qualified * gone
        answered_well = self.acceptance_met or not self.qualified
        return (
            CommitmentStatus.ON_TRACK if pace_kept and answered_well else CommitmentStatus.AT_RISK
        )


class CommitmentStatus(StrEnum):
    MET = "met"
    ON_TRACK = "on track"
    AT_RISK = "at risk"
    MISSED = "missed"


def commitment_period(commitment: Commitment, at: datetime) -> Period:
    """The local week (from Monday) or month holding `at`, in the commitment's zone."""
    local_day = at.astimezone(ZoneInfo(commitment.timezone)).date()
    if commitment.period == CommitmentPeriodKind.WEEK:
        first = local_day - timedelta(days=local_day.weekday())
        after = first + timedelta(days=7)
    else:
        first = local_day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    return Period(first=first, last=after - timedelta(days=1), zone=commitment.timezone)


def period_bounds(commitment: Commitment, at: datetime) -> tuple[datetime, datetime]:
    """The commitment's period holding `at`, as UTC instants [start, end)."""
    period = commitment_period(commitment, at)
    assert period.start is not None  # a commitment's period always has a first day
    return period.start, period.end


def _measure(commitment: Commitment, start: datetime) -> tuple[int, int]:
    """Leads handed to sales in the period starting at `start`, and how many of them sales
    has accepted: the metrics `handed_off` and `accepted` over the commitment's period."""
    period = commitment_period(commitment, start)
    figures, _ = handoff_figures(MetricFilter(period=period))
    return figures["handed_off"], figures["accepted"]


def commitment_progress(
    *, commitment: Commitment, now: datetime | None = None
) -> CommitmentProgress:
    """Live numbers for the period running at `now`."""
    now = now or timezone.now()
    start, end = period_bounds(commitment, now)
    qualified, accepted = _measure(commitment, start)
    return CommitmentProgress(
        commitment_id=commitment.pk,
        name=commitment.name,
        period_start=start,
        period_end=end,
        qualified=qualified,
        accepted=accepted,
        target_qualified=commitment.target_qualified,
        min_acceptance_rate=commitment.min_acceptance_rate,
        as_of=now,
    )


def commitments_progress(*, now: datetime | None = None) -> list[CommitmentProgress]:
    now = now or timezone.now()
    return [
        commitment_progress(commitment=c, now=now) for c in Commitment.objects.filter(active=True)
    ]


def commitments_evaluate(
    *, now: datetime | None = None, max_periods: int = 12
) -> list[CommitmentResult]:
    """Write the result of every closed period not yet evaluated; a miss becomes a breach.

    The unique (commitment, period_start) makes a second evaluation of a period a no-op.
    """
    now = now or timezone.now()
    written = []
    for commitment in Commitment.objects.filter(active=True):
        start, _ = period_bounds(
            commitment, local_midnight(commitment.starts_on, commitment.timezone)
        )
        current_start, _ = period_bounds(commitment, now)
        last = commitment.results.order_by("-period_start").first()
        if last is not None:
            start = last.period_end
        if current_start - start > timedelta(days=31 * max_periods):
            start, _ = period_bounds(commitment, current_start - timedelta(days=31 * max_periods))
        while start < current_start:
            _, end = period_bounds(commitment, start)
            result = _evaluate_period(commitment, start, end, now)
            if result is not None:
                written.append(result)
            start = end
    return written


def _evaluate_period(
    commitment: Commitment, start: datetime, end: datetime, now: datetime
) -> CommitmentResult | None:
    qualified, accepted = _measure(commitment, start)
    progress = CommitmentProgress(
        commitment_id=commitment.pk,
        name=commitment.name,
        period_start=start,
        period_end=end,
        qualified=qualified,
        accepted=accepted,
        target_qualified=commitment.target_qualified,
        min_acceptance_rate=commitment.min_acceptance_rate,
    )
    try:
        with transaction.atomic():
            result = CommitmentResult.objects.create(
                commitment=commitment,
                period_start=start,
                period_end=end,
                qualified=qualified,
                accepted=accepted,
                met=progress.met,
                evaluated_at=now,
            )
            if not progress.met:
                rate = progress.acceptance_rate
                Breach.objects.create(
                    kind=Breach.Kind.COMMITMENT,
                    commitment_result=result,
                    commitment=commitment,
                    team=commitment.team,
                    breached_at=end,
                    summary=(
                        f"{commitment.name}: {qualified}/{commitment.target_qualified} qualified"
                        + (f", {rate:.0%} accepted" if rate is not None else "")
                        + f" in the {commitment.get_period_display().lower()} from "
                        f"{start.astimezone(ZoneInfo(commitment.timezone)):%Y-%m-%d}"
                    )[:300],
                    created_at=now,
                )
                outbox_drain_soon()
    except IntegrityError:
        return None  # another evaluation wrote this period first
    return result
