from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import connections, models
from django.db.models import Q
from django.utils import timezone

from crm.models import HistoryEvent, Team
from leads.lifecycle import CLOSED_STAGES, OPEN_STAGES, STAGE_OWNER, Stage
from leads.search import clean_term, indexed_search, search_condition, search_document

# The qualified stage's criterion a persona answers: "Company fits an ideal customer profile".
PERSONA_CRITERION = "fits-icp"


class StageDefinition(models.Model):
    """One version of what a stage means. Editing writes a new version; old ones stay."""

    stage = models.CharField(max_length=20, choices=Stage.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=120)
    # TextField does not enforce max_length; the services and the API read it as the limit.
    description = models.TextField(max_length=5000, blank=True)
    owner_team = models.CharField(max_length=20, choices=Team.choices, blank=True)
    is_current = models.BooleanField(default=True)
    # Set by definition_publish from its `now`: when this version was published.
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["stage", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "version"], name="stagedef_stage_version_uniq"
            ),
            models.UniqueConstraint(
                fields=["stage"],
                condition=Q(is_current=True),
                name="stagedef_one_current_per_stage",
            ),
            models.CheckConstraint(
                name="stagedef_stage_valid", condition=Q(stage__in=Stage.values)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class QualificationCriterion(models.Model):
    """A box to tick before hand-off. `key` is stable across definition versions."""

    definition = models.ForeignKey(
        StageDefinition, on_delete=models.CASCADE, related_name="criteria"
    )
    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=200)
    required = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["definition", "key"], name="criterion_key_per_def_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Campaign(models.Model):
    class Channel(models.TextChoices):
        WEBINAR = "webinar", "Webinar"
        PAID_SOCIAL = "paid_social", "Paid social"
        PAID_SEARCH = "paid_search", "Paid search"
        ORGANIC = "organic", "Organic search"
        EMAIL = "email", "Email"
        EVENT = "event", "Event"
        REFERRAL = "referral", "Referral"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    budget = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    # The total of the campaign's monthly spend (CampaignSpend), kept by the services that
    # record it, so lists and exports read one column.
    spend = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)
    # An archived campaign stays on its leads and in reports; new leads cannot pick it.
    archived_at = models.DateTimeField(null=True, blank=True)
    # Optimistic locking for the edit page, as on leads: a stale edit is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(name="campaign_budget_non_negative", condition=Q(budget__gte=0)),
            models.CheckConstraint(name="campaign_spend_non_negative", condition=Q(spend__gte=0)),
            models.CheckConstraint(
                name="campaign_dates_ordered",
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignSpend(models.Model):
    """What a campaign spent in one calendar month; the months add up to `Campaign.spend`."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="spends")
    # The first day of the month, set by the services (a CHECK on the day would need a
    # function SQLite only has inside Django, which breaks restoring a backup with sqlite3).
    month = models.DateField(help_text="The first day of the month.")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["campaign", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "month"], name="campaignspend_month_uniq"),
            models.CheckConstraint(
                name="campaignspend_amount_non_negative", condition=Q(amount__gte=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.month:%Y-%m}: {self.amount}"


class CampaignEvent(HistoryEvent):
    """Append-only history of a campaign: created, edited, spend recorded, archived."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Edited"
        SPEND = "spend", "Spend recorded"
        ARCHIVED = "archived", "Archived"
        RESTORED = "restored", "Restored"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)

    class Meta(HistoryEvent.Meta):
        indexes = [
            models.Index(fields=["campaign", "-created_at"], name="campaignevent_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.campaign_id}"


class Persona(models.Model):
    """An ideal customer profile a lead can be tagged with."""

    name = models.CharField(max_length=120, unique=True)
    # TextField does not enforce max_length; the services and the API read it as the limit.
    description = models.TextField(max_length=5000, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReasonKind(models.TextChoices):
    REJECT = "reject", "Reject reason"
    LOST = "lost", "Lost reason"
    DISQUALIFY = "disqualify", "Disqualify reason"
    EXEMPTION = "exemption", "SLA exemption reason"


class Reason(models.Model):
    """Managed lists: why sales rejected, why a deal was lost, why a lead was disqualified,
    why a breach should not count against the rep (an exemption)."""

    Kind = ReasonKind

    kind = models.CharField(max_length=20, choices=ReasonKind.choices)
    label = models.CharField(max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "label"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "label"], name="reason_kind_label_uniq"),
            models.CheckConstraint(
                name="reason_kind_valid", condition=Q(kind__in=ReasonKind.values)
            ),
        ]

    def __str__(self) -> str:
        return self.label


class LeadQuerySet(models.QuerySet["Lead"]):
    def open(self) -> LeadQuerySet:
        return self.filter(stage__in=OPEN_STAGES)

    def waiting_for_acceptance(self) -> LeadQuerySet:
        return self.filter(stage=Stage.QUALIFIED, accepted_at__isnull=True)

    def waiting_by_owner(self, owner_ids: list[int]) -> dict[int, int]:
        """How many leads wait for each rep's acceptance: one grouped count."""
        return dict(
            self.waiting_for_acceptance()
            .filter(owner_id__in=owner_ids)
            .order_by()
            .values_list("owner_id")
            .annotate(n=models.Count("id"))
        )

    def search(self, term: str) -> LeadQuerySet:
        """Leads whose name, company, e-mail or external id contain `term` (leads/search.py);
        a blank term filters nothing. On PostgreSQL this reads the leads holding the term's
        rarest word first (one query per word tried, at most three; `indexed_search`)."""
        term = clean_term(term)
        if not term:
            return self
        vendor = connections[self.db].vendor
        if vendor != "postgresql":
            return self.filter(search_condition(term, vendor=vendor))
        return self.filter(indexed_search(term, self.model._default_manager.using(self.db)))


# A lead's `next_due_at` when none of its SLA goals is awaited: after every real due time, so
# "most urgent first" puts such leads last.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)


class Lead(models.Model):
    # Each field's limit is declared here only: forms, serializers and services read it with
    # field_max_length() below.
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254)
    # Lower-cased, trimmed, plus-tag removed: the key for de-duplication among open leads.
    email_normalized = models.CharField(max_length=254, db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=100, blank=True)
    # Found by lead_campaign_stage_idx (campaign first).
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,
    )
    persona = models.ForeignKey(
        Persona,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_index=False,  # lead_persona_idx, where set
    )
    source = models.CharField(max_length=50, default="manual")
    external_id = models.CharField(max_length=100, null=True, blank=True)

    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.ENGAGED)
    owner_team = models.CharField(max_length=20, choices=Team.choices, blank=True)
    # Found by lead_owner_stage_new_idx (owner first).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        db_index=False,
    )
    estimated_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    next_step = models.CharField(max_length=300, blank=True)
    # The day the next step is due (in the site's time zone): a follow-up in My work.
    next_step_due = models.DateField(null=True, blank=True)
    criteria_met = models.JSONField(default=list, blank=True)
    qualified_definition = models.ForeignKey(
        StageDefinition,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # lead_qualified_definition_idx, where set
    )
    handed_off_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # lead_accepted_by_idx, where set
    )
    first_touch_at = models.DateTimeField(null=True, blank=True)
    # The due time of the lead's earliest SLA goal still awaited (an open or breached clock,
    # goal not reached, not cancelled), or NO_DUE: what "most urgent first" sorts by. Kept by
    # the SLA engine in the transaction that changes the lead's clocks (sla.clocks).
    next_due_at = models.DateTimeField(default=NO_DUE, db_default=NO_DUE, editable=False)
    # Milestones: when the lead first reached each funnel step. Never cleared (a rejected or
    # re-handed lead keeps them), written in the same UPDATE as the move that reaches them,
    # so the dashboard funnel counts columns instead of searching every lead's history.
    first_handed_off_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_opportunity_at = models.DateTimeField(null=True, blank=True, editable=False)
    stage_changed_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    reason = models.ForeignKey(
        Reason,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # lead_reason_idx, where set
    )
    reason_note = models.CharField(max_length=500, blank=True)

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Name, company, e-mail and external id folded for search (leads/search.py); kept by the
    # database on every write. GIN trigram index `lead_search_trgm` (PostgreSQL, migration).
    search_text = models.GeneratedField(
        expression=search_document(), output_field=models.TextField(), db_persist=True
    )

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="lead_stage_valid", condition=Q(stage__in=Stage.values)),
            models.CheckConstraint(
                name="lead_owner_team_follows_stage",
                condition=Q(
                    *[Q(stage=stage, owner_team=team) for stage, team in STAGE_OWNER.items()],
                    _connector=Q.OR,
                ),
            ),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False),
                name="lead_source_external_id_uniq",
            ),
            # One open lead per person: the database settles races between two creates.
            models.UniqueConstraint(
                fields=["email_normalized"],
                condition=Q(stage__in=list(OPEN_STAGES)) & ~Q(email_normalized=""),
                name="lead_open_email_uniq",
            ),
            models.CheckConstraint(
                name="lead_estimated_value_non_negative",
                condition=Q(estimated_value__isnull=True) | Q(estimated_value__gte=0),
            ),
        ]
        indexes = [
            models.Index(fields=["stage", "-created_at"], name="lead_stage_created_idx"),
            # A rep's leads in a stage, newest first: the leads page filtered by owner and
            # stage reads one page of this index instead of sorting all of them.
            models.Index(
                fields=["owner", "stage", "-created_at", "-id"], name="lead_owner_stage_new_idx"
            ),
            models.Index(fields=["campaign", "stage"], name="lead_campaign_stage_idx"),
            # crm.my_work (leads.selectors.followups_due) and the follow-up notices
            # (leads.services.followups): a person's leads with a next step coming due.
            models.Index(
                fields=["owner", "next_step_due"],
                condition=Q(next_step_due__isnull=False),
                name="lead_owner_followup_idx",
            ),
            # The lead list's default order and keyset pagination (created_at, id), any filter.
            models.Index(fields=["-created_at", "-id"], name="lead_created_id_idx"),
            # Most urgent first (sla.selectors.with_due_order) and its keyset pages: one page of
            # this index, not a sort of every lead.
            models.Index(fields=["next_due_at", "id"], name="lead_next_due_idx"),
            # sla.metrics.compute.lead_flow_figures: the period's opportunities and closed deals
            # beside its new leads, each arm of the OR read from an index.
            models.Index(
                fields=["first_opportunity_at"],
                condition=Q(first_opportunity_at__isnull=False),
                name="lead_first_opportunity_idx",
            ),
            models.Index(
                fields=["closed_at"], condition=Q(closed_at__isnull=False), name="lead_closed_idx"
            ),
            # References a new lead rarely has (a person's or a record's deletion finds its
            # leads by them): indexed where set, so an insert writes no entry for them.
            *(
                models.Index(
                    fields=[field],
                    condition=Q(**{f"{field}__isnull": False}),
                    name=f"lead_{field}_idx",
                )
                for field in ("persona", "qualified_definition", "accepted_by", "reason")
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_open(self) -> bool:
        return self.stage not in CLOSED_STAGES

    def criteria_to_tick(self) -> list[str]:
        """The criteria a hand-off starts from: those already met, and the persona
        criterion once a persona is set (the persona is the ideal customer profile)."""
        ticked = set(self.criteria_met or [])
        if self.persona_id:
            ticked.add(PERSONA_CRITERION)
        return sorted(ticked)


class ActivityKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    NOTE = "note", "Note"


class Activity(models.Model):
    Kind = ActivityKind

    TOUCH_KINDS = frozenset({ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING})

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=10, choices=ActivityKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField()
    summary = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        constraints = [
            models.CheckConstraint(
                name="activity_kind_valid", condition=Q(kind__in=ActivityKind.values)
            ),
        ]
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="activity_lead_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.lead_id}"


# Hand-offs and sales' answers to them (accepted; rejected back to nurture): the events the
# hand-off metrics count per period (sla.metrics.compute.handoff_figures).
HANDOFF_AND_ANSWERS = Q(kind="accepted") | Q(
    kind="transition", to_stage__in=["qualified", "nurture"]
)


class LeadEvent(models.Model):
    """Append-only history: who changed what on a lead, and when."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        TRANSITION = "transition", "Stage changed"
        ACCEPTED = "accepted", "Accepted"
        ASSIGNED = "assigned", "Assigned"
        ACTIVITY = "activity", "Activity logged"
        CLOCK = "clock", "SLA clock"
        ERASED = "erased", "Personal data erased"
        EXPORTED = "exported", "Personal data exported"

    # No index of its own: leadevent_lead_time_idx (lead, -created_at) serves lookups by lead.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Indexed where set (leadevent_actor_idx): clock, sweep and import events have no actor.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    from_stage = models.CharField(max_length=20, blank=True)
    to_stage = models.CharField(max_length=20, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="leadevent_lead_time_idx"),
            # sla.metrics.compute.handoff_figures: a period's hand-offs and answers, without
            # reading the period's clock and activity events; what the cohort reads is in the
            # index (history is append-only, so its pages stay all-visible: no heap visits).
            models.Index(
                fields=["created_at"],
                include=["lead", "kind", "from_stage", "to_stage"],
                condition=HANDOFF_AND_ANSWERS,
                name="leadevent_handoff_answers_idx",
            ),
            # A person's deletion finds their events; the events without one (most of the
            # history) are no entry to write.
            models.Index(
                fields=["actor"], condition=Q(actor__isnull=False), name="leadevent_actor_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.lead_id}"


class AssignmentCursor(models.Model):
    """Round-robin position among active sales reps; the row is locked while picking."""

    name = models.CharField(max_length=50, unique=True)
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------- CSV import


class ImportJob(models.Model):
    """One CSV upload: its text, the column mapping, and the progress of the import task.

    The file's text lives in the row so any worker can read it (no shared disk needed);
    `processed_rows` advances in the same transaction as each chunk's leads, so a worker
    that dies mid-chunk is resumed from the last committed row, never twice.
    """

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    filename = models.CharField(max_length=255)
    content = models.TextField()
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # [{"row": 12, "field": "email", ...}], in file order; "row" is the line the record starts on
    errors = models.JSONField(default=list, blank=True)
    failure = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the job was queued or last committed a chunk (or was last sent to a worker): a
    # queued or running job that has not moved for a while is resumed by beat.
    progressed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="importjob_status_valid",
                condition=Q(status__in=["mapping", "queued", "running", "done", "failed"]),
            ),
        ]
        indexes = [
            # imports_resume_stalled: only unfinished jobs, by how long they have not moved.
            models.Index(
                fields=["progressed_at"],
                name="importjob_unfinished_idx",
                condition=Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.filename})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.is_finished else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


# ---------------------------------------------------------------- saved views


class SavedView(models.Model):
    """A person's named lead list: its filters and order as the list's query string."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="savedview_user_name_uniq")
        ]

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------- kept figures


class LeadTally(models.Model):
    """Kept counts of the leads as they are now, by owning team, owner, campaign, persona and
    stage: how many, how many ever reached opportunity, and their estimated value.

    The database keeps it, like an index: triggers on the lead table append a change row
    (minus the old values, plus the new) for every insert, update and delete, whatever path
    wrote it (services, set-based sweeps, COPY imports). `leads.services.tallies` folds the
    change rows into one row per key, and `reconcile_tallies` recomputes them from the leads.
    No row says who a lead is: erasure keeps its counts. 0 stands for "none" in the keys, so
    the same columns group on every database; there are no foreign keys to check or cascade.
    """

    owner_team = models.CharField(max_length=20, blank=True)
    owner_id = models.BigIntegerField(default=0)
    campaign_id = models.BigIntegerField(default=0)
    persona_id = models.BigIntegerField(default=0)
    stage = models.CharField(max_length=20)
    leads = models.BigIntegerField(default=0)
    opportunities = models.BigIntegerField(default=0)
    value = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    KEY = ("owner_team", "owner_id", "campaign_id", "persona_id", "stage")

    def __str__(self) -> str:
        return f"{self.stage} of campaign {self.campaign_id}: {self.leads} leads"


# ---------------------------------------------------------------- field limits


def field_max_length(model: type[models.Model], name: str) -> int:
    """The longest text `model.name` holds, as the field declares it."""
    return model._meta.get_field(name).max_length


def field_digits(model: type[models.Model], name: str) -> dict[str, int]:
    """A DecimalField's `max_digits` and `decimal_places`, ready to pass to a form field."""
    field = model._meta.get_field(name)
    return {"max_digits": field.max_digits, "decimal_places": field.decimal_places}


def field_max_amount(model: type[models.Model], name: str) -> Decimal:
    """The largest amount a DecimalField holds (12 digits, 2 of them cents: 9999999999.99)."""
    digits = field_digits(model, name)
    whole = digits["max_digits"] - digits["decimal_places"]
    return Decimal(10) ** whole - Decimal(10) ** -digits["decimal_places"]
