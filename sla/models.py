"""SLA records: calendars, policies, clocks, breaches, marketing commitments, webhooks."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce

from django.conf import settings
from django.db import connections, models
from django.db.models import Q

from crm.models import HistoryEvent, Team
from leads.lifecycle import Stage
from sla.business_time import WorkingSchedule

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_clock_time(raw: str) -> time:
    """'09:00' -> time(9, 0); '24:00' is midnight at the end of the day (time(0, 0))."""
    if raw in ("24:00", "24:00:00"):
        return time(0, 0)
    return time.fromisoformat(raw)


# The columns `BusinessCalendar.schedule` reads.
CALENDAR_SCHEDULE_FIELDS = ("timezone", "weekly_hours", "holidays", "public_holidays")


class BusinessCalendar(models.Model):
    """Working hours per weekday (several intervals a day allowed) and holidays, in one zone.

    `weekly_hours` maps "0" (Monday) .. "6" (Sunday) to a list of ["HH:MM", "HH:MM"] pairs;
    "24:00" ends an interval at midnight. Services validate it through WorkingSchedule.
    """

    name = models.CharField(max_length=120, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    weekly_hours = models.JSONField(default=dict)
    holidays = models.JSONField(default=list, blank=True)  # ISO dates, local to the zone
    # A region's public holidays, filled from the `holidays` package (sla/public_holidays.py)
    # and refreshed by beat; `holidays` above stays the hand-entered closures.
    holiday_country = models.CharField(max_length=3, blank=True, default="")
    holiday_subdivision = models.CharField(max_length=10, blank=True, default="")
    public_holidays = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def schedule(self) -> WorkingSchedule:
        return WorkingSchedule(
            timezone=self.timezone,
            weekly={
                int(day): tuple(
                    (parse_clock_time(start), parse_clock_time(end)) for start, end in spans
                )
                for day, spans in self.weekly_hours.items()
            },
            holidays=frozenset(
                date.fromisoformat(day) for day in [*self.holidays, *self.public_holidays]
            ),
        )


class SlaGoal(models.TextChoices):
    ACCEPT = "accept", "Accept or reject"
    FIRST_TOUCH = "first_touch", "First touch by the assignee"
    EXIT_STAGE = "exit_stage", "Leave the stage"


class SlaPolicy(models.Model):
    """A promise: when a lead enters `trigger_stage`, `goal` happens within `target`."""

    name = models.CharField(max_length=120, unique=True)
    goal = models.CharField(max_length=20, choices=SlaGoal.choices)
    trigger_stage = models.CharField(max_length=20, choices=Stage.choices)
    target = models.DurationField()
    at_risk_fraction = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.75"))
    # Null means the default 24/7 calendar.
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="policies"
    )
    accountable_team = models.CharField(max_length=20, choices=Team.choices)
    # Nobody chosen means every active manager.
    escalate_to = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    notify_owner = models.BooleanField(default=True)
    # exit_stage only: an edit or a logged activity also keeps the promise.
    met_by_update = models.BooleanField(default=False)
    # accept only: a lead still unaccepted at the at-risk mark moves on to the next eligible
    # rep (sla.sweep, once per clock); the clock keeps its due time.
    reassign_at_risk = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["trigger_stage", "name"]
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                name="slapolicy_goal_valid", condition=Q(goal__in=SlaGoal.values)
            ),
            models.CheckConstraint(
                name="slapolicy_trigger_stage_valid", condition=Q(trigger_stage__in=Stage.values)
            ),
            models.CheckConstraint(
                name="slapolicy_target_positive", condition=Q(target__gt=timedelta(0))
            ),
            models.CheckConstraint(
                name="slapolicy_at_risk_fraction_range",
                condition=Q(at_risk_fraction__gt=0, at_risk_fraction__lt=1),
            ),
            models.CheckConstraint(
                name="slapolicy_team_valid", condition=Q(accountable_team__in=Team.values)
            ),
            models.CheckConstraint(
                name="slapolicy_reassign_accept_only",
                condition=Q(reassign_at_risk=False) | Q(goal=SlaGoal.ACCEPT),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def schedule(self) -> WorkingSchedule:
        if self.calendar is None:
            return WorkingSchedule.always_open(settings.TIME_ZONE)
        return self.calendar.schedule()


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    AT_RISK = "at_risk", "At risk"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    CANCELLED = "cancelled", "Cancelled"


OPEN_CLOCK_STATES = (ClockState.RUNNING, ClockState.AT_RISK)


# Clock conditions, each written once: the QuerySet methods below filter by them, and
# aggregates (`Count(..., filter=...)`) use them directly. "Shown" means as a page shows a
# clock at `now` (`SlaClock.display_state`): past due is breached even before the sweep.


def awaiting_goal_q() -> Q:
    """Open or breached, goal not reached, not cancelled: a breached clock keeps waiting for
    its goal so that reports know how late it came (`sla.clocks.settle_clocks`)."""
    return Q(
        state__in=[*OPEN_CLOCK_STATES, ClockState.BREACHED],
        met_at__isnull=True,
        cancelled_at__isnull=True,
    )


def past_due_q(now: datetime) -> Q:
    """Open and due: the sweep flags these breached; pages already show them breached."""
    return Q(state__in=OPEN_CLOCK_STATES, due_at__lte=now)


def turning_at_risk_q(now: datetime) -> Q:
    """Running past the at-risk mark and not yet due: the sweep flags these at risk."""
    return Q(state=ClockState.RUNNING, at_risk_at__lte=now, due_at__gt=now)


def shown_state_q(state: str, now: datetime) -> Q:
    """Clocks that `SlaClock.display_state(at=now)` shows as `state`."""
    if state == ClockState.BREACHED:
        return Q(state=ClockState.BREACHED) | past_due_q(now)
    if state == ClockState.AT_RISK:
        return Q(state=ClockState.AT_RISK, due_at__gt=now) | turning_at_risk_q(now)
    if state == ClockState.RUNNING:
        return Q(state=ClockState.RUNNING, at_risk_at__gt=now, due_at__gt=now)
    return Q(state=state)


def needs_attention_arms(now: datetime) -> tuple[Q, Q]:
    """The two arms of `needs_attention_q`: open past the at-risk mark, and breached still
    awaiting the goal. Each matches a partial index (`slaclock_open_risk_idx`,
    `slaclock_breached_waiting_idx`; `slaclock_open_due_idx` reads the first in due order)."""
    return Q(state__in=OPEN_CLOCK_STATES, at_risk_at__lte=now), (
        Q(state=ClockState.BREACHED) & awaiting_goal_q()
    )


def needs_attention_q(now: datetime) -> Q:
    """Awaiting the goal and late or nearly so: open past the at-risk mark, or breached.
    The database ORs the two arms' small index scans."""
    nearly_late, late = needs_attention_arms(now)
    return nearly_late | late


def first_of_each(
    rows: models.QuerySet, arms: Sequence[Q], order: Sequence[str], limit: int
) -> models.QuerySet:
    """The primary keys of the first `limit` of `rows` matching any of `arms`, in `order`
    (for `pk__in`; the caller orders and cuts the rows again). Where the database allows it,
    each arm is read in order and cut at `limit` on its own, then merged, so each follows its
    own partial index; under one OR the database reads and sorts every match. Elsewhere
    (SQLite, the embedded default), the OR."""
    if connections[rows.db].features.supports_slicing_ordering_in_compound:
        first, *rest = (rows.filter(arm).order_by(*order).values("pk")[:limit] for arm in arms)
        return first.union(*rest, all=True)
    return rows.filter(reduce(operator.or_, arms)).order_by(*order).values("pk")[:limit]


class SlaClockQuerySet(models.QuerySet["SlaClock"]):
    def open(self) -> SlaClockQuerySet:
        return self.filter(state__in=OPEN_CLOCK_STATES)

    def awaiting_goal(self) -> SlaClockQuerySet:
        return self.filter(awaiting_goal_q())

    def past_due(self, now: datetime) -> SlaClockQuerySet:
        return self.filter(past_due_q(now))

    def turning_at_risk(self, now: datetime) -> SlaClockQuerySet:
        return self.filter(turning_at_risk_q(now))

    def shown_as(self, state: str, now: datetime) -> SlaClockQuerySet:
        return self.filter(shown_state_q(state, now))

    def needs_attention(self, now: datetime) -> SlaClockQuerySet:
        return self.filter(needs_attention_q(now))

    def awaiting_reassignment(self, now: datetime) -> SlaClockQuerySet:
        """At risk, not yet due, under a policy that moves the lead on, not moved yet."""
        return self.filter(
            state=ClockState.AT_RISK,
            reassign_at_risk=True,
            reassigned_at__isnull=True,
            due_at__gt=now,
        )


class SlaClock(models.Model):
    """One (lead, policy, cycle). Targets are copied at start: a policy edit rewrites nothing."""

    State = ClockState

    # No index of its own: the (lead, policy, cycle) constraint serves lookups by lead.
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="clocks", db_index=False
    )
    policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="clocks")
    cycle = models.PositiveIntegerField()
    goal = models.CharField(max_length=20, choices=SlaGoal.choices)
    stage = models.CharField(max_length=20, choices=Stage.choices)
    team = models.CharField(max_length=20, choices=Team.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.DurationField()
    state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    started_at = models.DateTimeField()
    at_risk_at = models.DateTimeField()
    due_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Copied from the policy at start, like the target. `reassigned_at` is set once, when the
    # sweep moved the lead on at the at-risk mark (or found nobody to move it to).
    reassign_at_risk = models.BooleanField(default=False)
    reassigned_at = models.DateTimeField(null=True, blank=True)

    objects = SlaClockQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "policy", "cycle"], name="slaclock_lead_policy_cycle_uniq"
            ),
            # At most one clock of a policy runs on a lead: two racing starts cannot both win.
            models.UniqueConstraint(
                fields=["lead", "policy"],
                condition=Q(state__in=OPEN_CLOCK_STATES),
                name="slaclock_one_open_per_policy",
            ),
            models.CheckConstraint(
                name="slaclock_state_valid", condition=Q(state__in=ClockState.values)
            ),
            models.CheckConstraint(
                name="slaclock_breached_at_is_due_at",
                condition=Q(breached_at__isnull=True) | Q(breached_at=models.F("due_at")),
            ),
            models.CheckConstraint(
                name="slaclock_due_after_start", condition=Q(due_at__gte=models.F("started_at"))
            ),
        ]
        indexes = [
            # sla.sweep.sla_sweep (breached_claim_sql, SlaClock.objects.past_due): open clocks
            # that have come due.
            models.Index(
                fields=["due_at"],
                condition=Q(state__in=OPEN_CLOCK_STATES),
                name="slaclock_open_due_idx",
            ),
            # sla.sweep.sla_sweep (at_risk_claim_sql, SlaClock.objects.turning_at_risk):
            # running clocks past their at-risk mark.
            models.Index(
                fields=["at_risk_at"],
                condition=Q(state=ClockState.RUNNING),
                name="slaclock_running_risk_idx",
            ),
            # sla.sweep (reassign_claim_sql, SlaClock.objects.awaiting_reassignment): at-risk
            # clocks of policies that move the lead on, not moved yet.
            models.Index(
                fields=["at_risk_at"],
                condition=Q(
                    state=ClockState.AT_RISK, reassign_at_risk=True, reassigned_at__isnull=True
                ),
                name="slaclock_reassign_due_idx",
            ),
            models.Index(fields=["lead", "state"], name="slaclock_lead_state_idx"),
            models.Index(fields=["started_at"], name="slaclock_started_idx"),
            # SlaClock.objects.needs_attention (the dashboard, the at-risk list): open clocks
            # past their at-risk mark, OR-ed with the next index (a BitmapOr)... The due time
            # rides along, so the dashboard counts those not yet due from the index alone.
            models.Index(
                fields=["at_risk_at"],
                include=["due_at"],
                condition=Q(state__in=OPEN_CLOCK_STATES),
                name="slaclock_open_risk_idx",
            ),
            # ...and breached clocks still awaiting their goal: without these two, the
            # dashboard's clock counts and lists read every clock.
            models.Index(
                fields=["due_at"],
                condition=Q(
                    state=ClockState.BREACHED, met_at__isnull=True, cancelled_at__isnull=True
                ),
                name="slaclock_breached_waiting_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} on lead {self.lead_id} (cycle {self.cycle})"

    def display_state(self, *, at: datetime) -> str:
        """What a page shows: a clock past due is breached even before the sweep says so."""
        if self.state in OPEN_CLOCK_STATES:
            if at >= self.due_at:
                return ClockState.BREACHED
            if at >= self.at_risk_at:
                return ClockState.AT_RISK
        return self.state

    def time_to_goal(self) -> timedelta | None:
        return None if self.met_at is None else self.met_at - self.started_at


class CommitmentPeriodKind(models.TextChoices):
    WEEK = "week", "Week"
    MONTH = "month", "Month"


class Commitment(models.Model):
    """Marketing's side of the SLA: qualified leads per period, and the share sales accepts."""

    Period = CommitmentPeriodKind

    name = models.CharField(max_length=120, unique=True)
    team = models.CharField(max_length=20, choices=Team.choices, default=Team.MARKETING)
    period = models.CharField(max_length=10, choices=CommitmentPeriodKind.choices)
    target_qualified = models.PositiveIntegerField()
    min_acceptance_rate = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    starts_on = models.DateField()
    escalate_to = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    # Optimistic locking for edits: a stale edit is refused (sla.services.commitment_update).
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="commitment_target_positive", condition=Q(target_qualified__gt=0)
            ),
            models.CheckConstraint(
                name="commitment_rate_range",
                condition=Q(min_acceptance_rate__isnull=True)
                | Q(min_acceptance_rate__gte=0, min_acceptance_rate__lte=1),
            ),
            models.CheckConstraint(
                name="commitment_period_valid", condition=Q(period__in=CommitmentPeriodKind.values)
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CommitmentEvent(HistoryEvent):
    """Append-only history of a commitment: written, then each edit with what it changed."""

    class Kind(models.TextChoices):
        CREATED = "created", "Written"
        UPDATED = "updated", "Edited"

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)

    class Meta(HistoryEvent.Meta):
        indexes = [
            models.Index(fields=["commitment", "-created_at"], name="commitmentevent_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.commitment_id}"


class CommitmentResult(models.Model):
    """A closed period's outcome, written once by the evaluation."""

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="results")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    qualified = models.PositiveIntegerField()
    accepted = models.PositiveIntegerField()
    met = models.BooleanField()
    evaluated_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["commitment", "period_start"], name="commitmentresult_period_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.commitment_id} {self.period_start:%Y-%m-%d}"


class BreachKind(models.TextChoices):
    CLOCK = "clock", "Response time"
    COMMITMENT = "commitment", "Commitment"


class BreachQuerySet(models.QuerySet["Breach"]):
    def unprocessed(self) -> BreachQuerySet:
        """Not notified yet: the notify step claims these (`sla.sweep.breaches_notify`)."""
        return self.filter(processed_at__isnull=True)


class Breach(models.Model):
    """A promise broken. Written with the change that breaks it; notified in a claimed step."""

    Kind = BreachKind

    kind = models.CharField(max_length=12, choices=BreachKind.choices)
    clock = models.OneToOneField(
        SlaClock, null=True, blank=True, on_delete=models.CASCADE, related_name="breach"
    )
    commitment_result = models.OneToOneField(
        CommitmentResult, null=True, blank=True, on_delete=models.CASCADE, related_name="breach"
    )
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="breaches"
    )
    commitment = models.ForeignKey(
        Commitment,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="breaches",
        db_index=False,  # breach_commitment_idx, where set
    )
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="breaches"
    )
    team = models.CharField(max_length=20, choices=Team.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    breached_at = models.DateTimeField()
    summary = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    # Set when notifications were written to the outbox: the second, claimed step.
    processed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # breach_acknowledged_by_idx, where set
    )
    acknowledgement_note = models.CharField(max_length=1000, blank=True)
    # Set when a manager approved an exemption (BreachExemption): adjusted compliance leaves
    # the clock out. The breach itself stays, and so does every request and decision.
    exempted_at = models.DateTimeField(null=True, blank=True)

    objects = BreachQuerySet.as_manager()

    class Meta:
        ordering = ["-breached_at", "-id"]
        verbose_name_plural = "breaches"
        constraints = [
            models.CheckConstraint(
                name="breach_kind_valid", condition=Q(kind__in=BreachKind.values)
            ),
            models.CheckConstraint(
                name="breach_has_one_source",
                condition=Q(kind=BreachKind.CLOCK, clock__isnull=False, commitment_result=None)
                | Q(kind=BreachKind.COMMITMENT, clock=None, commitment_result__isnull=False),
            ),
        ]
        indexes = [
            # sla.sweep.breaches_notify: breaches not yet notified.
            models.Index(
                fields=["id"], condition=Q(processed_at__isnull=True), name="breach_unprocessed_idx"
            ),
            models.Index(fields=["-breached_at"], name="breach_time_idx"),
            # The sweep writes breaches by the thousand with neither set: indexed where set,
            # they cost those writes nothing (deleting a commitment or a person still finds
            # their breaches by index).
            models.Index(
                fields=["commitment"],
                condition=Q(commitment__isnull=False),
                name="breach_commitment_idx",
            ),
            models.Index(
                fields=["acknowledged_by"],
                condition=Q(acknowledged_by__isnull=False),
                name="breach_acknowledged_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.summary


class WebhookFormat(models.TextChoices):
    GENERIC = "generic", "Generic JSON, signed"
    SLACK = "slack", "Slack-compatible"
    STANDARD = "standard", "Standard Webhooks (webhook-id, -timestamp, -signature)"


class WebhookEndpoint(models.Model):
    """An outbound receiver of breach events. Generic payloads carry an HMAC-SHA256 header."""

    Format = WebhookFormat

    name = models.CharField(max_length=120, unique=True)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)  # e.g. ["breach.created"]
    format = models.CharField(max_length=10, choices=WebhookFormat.choices, default="generic")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="webhook_format_valid", condition=Q(format__in=WebhookFormat.values)
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One attempt to POST one outbox message: the delivery log, status code included."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    delivery_key = models.CharField(max_length=200)
    event_type = models.CharField(max_length=60)
    attempt = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhookdelivery_time_idx")
        ]

    def __str__(self) -> str:
        return f"{self.delivery_key} #{self.attempt}"


# ---------------------------------------------------------------- the joint review


class DecisionStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class ReviewDecision(models.Model):
    """A decision or action item recorded during the joint review: what, who, by when.

    Open decisions head every later review until someone closes them
    (`sla.review.decisions`); `version` refuses a stale close."""

    Status = DecisionStatus

    text = models.CharField(max_length=1000)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    # The review period it was recorded in, as the review names it ("2026-W48").
    period = models.CharField(max_length=32)
    status = models.CharField(
        max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.OPEN
    )
    version = models.PositiveIntegerField(default=1)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                name="reviewdecision_status_valid", condition=Q(status__in=DecisionStatus.values)
            ),
            models.CheckConstraint(
                name="reviewdecision_closed_has_time",
                condition=Q(status=DecisionStatus.OPEN, closed_at__isnull=True)
                | Q(status=DecisionStatus.CLOSED, closed_at__isnull=False),
            ),
        ]
        indexes = [
            # sla.review.sections.review_decisions: the open ones head every review.
            models.Index(
                fields=["due_on", "id"],
                condition=Q(status=DecisionStatus.OPEN),
                name="reviewdecision_open_idx",
            ),
            models.Index(fields=["closed_at"], name="reviewdecision_closed_idx"),
        ]

    def __str__(self) -> str:
        return self.text[:60]

    def is_overdue(self, today: date) -> bool:
        return self.status == DecisionStatus.OPEN and self.due_on < today


class ReviewDecisionEvent(HistoryEvent):
    """Append-only history of a decision: recorded, closed."""

    class Kind(models.TextChoices):
        RECORDED = "recorded", "Recorded"
        CLOSED = "closed", "Closed"

    decision = models.ForeignKey(ReviewDecision, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)

    class Meta(HistoryEvent.Meta):
        indexes = [
            models.Index(fields=["decision", "-created_at"], name="decisionevent_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.decision_id}"


class JointReviewDigest(models.Model):
    """The claim on one period's digest: its unique period makes the digest go out once,
    whichever scheduler, replayed task or operator gets there first."""

    period = models.CharField(max_length=32, unique=True)
    sent_at = models.DateTimeField()
    deliveries = models.PositiveIntegerField(default=0)
    # "schedule" or the username of whoever sent it by hand.
    sent_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return self.period


# ---------------------------------------------------------------- exemptions


class ExemptionState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class BreachExemption(models.Model):
    """A request that a breach not count against the accountable person, and its decision.

    Never deleted: a declined request stays beside the breach, and a new one may follow; at
    most one is open (requested) or approved at a time."""

    State = ExemptionState

    breach = models.ForeignKey(Breach, on_delete=models.CASCADE, related_name="exemptions")
    reason = models.ForeignKey("leads.Reason", on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=1000)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    state = models.CharField(
        max_length=10, choices=ExemptionState.choices, default=ExemptionState.REQUESTED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="exemption_state_valid", condition=Q(state__in=ExemptionState.values)
            ),
            models.CheckConstraint(
                name="exemption_decided_when_not_requested",
                condition=Q(state=ExemptionState.REQUESTED, decided_at__isnull=True)
                | (~Q(state=ExemptionState.REQUESTED) & Q(decided_at__isnull=False)),
            ),
            models.UniqueConstraint(
                fields=["breach"],
                condition=Q(state__in=[ExemptionState.REQUESTED, ExemptionState.APPROVED]),
                name="exemption_one_live_per_breach",
            ),
        ]

    def __str__(self) -> str:
        return f"exemption of breach {self.breach_id} ({self.state})"


# ---------------------------------------------------------------- availability


class RepAvailability(models.Model):
    """A sales rep's own working calendar and capacity (sla.routing reads both).

    No row, or no calendar, means the team's hours: the calendar of the accept policy."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability"
    )
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Most leads waiting for this rep's acceptance at once; null: no limit.
    capacity = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "rep availabilities"
        constraints = [
            models.CheckConstraint(
                name="availability_capacity_positive",
                condition=Q(capacity__isnull=True) | Q(capacity__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"availability of {self.user_id}"


class AbsenceQuerySet(models.QuerySet["Absence"]):
    def live(self) -> AbsenceQuerySet:
        return self.filter(cancelled_at__isnull=True)

    def overlapping(self, start: datetime, end: datetime) -> AbsenceQuerySet:
        return self.live().filter(starts_at__lt=end, ends_at__gt=start)


class Absence(models.Model):
    """Out of office: [starts_at, ends_at). Cancelled rather than deleted, so history stays."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="absences"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AbsenceQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="absence_ends_after_start", condition=Q(ends_at__gt=models.F("starts_at"))
            ),
        ]
        indexes = [
            # sla.routing (Absence.objects.overlapping): absences not over yet, every hand-off.
            models.Index(
                fields=["ends_at"], condition=Q(cancelled_at__isnull=True), name="absence_live_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} away {self.starts_at:%Y-%m-%d}"
