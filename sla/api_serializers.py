"""Small input and output serializers for the SLA API. They check shapes and types;
the rules (manager rights, valid hours, known zones, unique names) live in sla.services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.serializers import OwnerSerializer, StrictSerializer
from crm.models import Team
from leads.lifecycle import Stage
from sla.models import (
    Breach,
    BusinessCalendar,
    ClockState,
    Commitment,
    ReviewDecision,
    ReviewDecisionEvent,
    SlaClock,
    SlaGoal,
    SlaPolicy,
    WebhookEndpoint,
    WebhookFormat,
)
from sla.review.periods import PERIOD_HELP, PERIOD_PATTERN
from sla.services import MAX_TARGET, WEBHOOK_EVENT_TYPES

MAX_TARGET_SECONDS = int(MAX_TARGET.total_seconds())
HOURS_PATTERN = r"^([01]?[0-9]|2[0-4]):[0-5][0-9]$"


# ---------------------------------------------------------------- calendars


class CalendarSerializer(serializers.ModelSerializer):
    public_holidays = serializers.ListField(
        child=serializers.DateField(),
        read_only=True,
        help_text="The country's public holidays through the year after next, from the "
        "holidays package; they close the calendar like the hand-entered holidays.",
    )
    weekly_hours = serializers.DictField(
        child=serializers.ListField(
            child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2)
        ),
        read_only=True,
        help_text='Weekday "0" (Monday) .. "6" (Sunday) to [["09:00", "17:00"], ...].',
    )
    holidays = serializers.ListField(child=serializers.DateField(), read_only=True)
    public_holidays = serializers.ListField(
        child=serializers.DateField(),
        read_only=True,
        help_text="The region's public holidays (holiday_country), filled by the app.",
    )

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "timezone",
            "weekly_hours",
            "holidays",
            "holiday_country",
            "holiday_subdivision",
            "public_holidays",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CalendarWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    timezone = serializers.CharField(max_length=64, help_text="An IANA zone, e.g. Europe/London.")
    weekly_hours = serializers.DictField(
        child=serializers.ListField(
            child=serializers.ListField(
                child=serializers.RegexField(HOURS_PATTERN, max_length=5),
                min_length=2,
                max_length=2,
            ),
            max_length=12,
        ),
        help_text='Weekday "0" (Monday) .. "6" (Sunday) to [["09:00", "17:00"], ...].',
    )
    holidays = serializers.ListField(child=serializers.DateField(), required=False, max_length=400)
    holiday_country = serializers.CharField(
        max_length=3,
        required=False,
        allow_blank=True,
        help_text="ISO 3166 country whose public holidays close the calendar, e.g. GB.",
    )
    holiday_subdivision = serializers.CharField(
        max_length=10,
        required=False,
        allow_blank=True,
        help_text="A subdivision of that country, e.g. ENG for England.",
    )


class CalendarPatchSerializer(CalendarWriteSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


# ---------------------------------------------------------------- policies


class PolicySerializer(serializers.ModelSerializer):
    target_seconds = serializers.SerializerMethodField()
    escalate_to = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = SlaPolicy
        fields = [
            "id",
            "name",
            "goal",
            "trigger_stage",
            "target_seconds",
            "at_risk_fraction",
            "calendar",
            "accountable_team",
            "escalate_to",
            "notify_owner",
            "met_by_update",
            "reassign_at_risk",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_target_seconds(self, policy: SlaPolicy) -> int:
        return int(policy.target.total_seconds())


class PolicyWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    goal = serializers.ChoiceField(choices=SlaGoal.choices)
    trigger_stage = serializers.ChoiceField(choices=Stage.choices)
    target_seconds = serializers.IntegerField(min_value=60, max_value=MAX_TARGET_SECONDS)
    at_risk_fraction = serializers.DecimalField(
        max_digits=4,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=Decimal("0.999"),
        required=False,
    )
    calendar = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, allow_null=True
    )
    accountable_team = serializers.ChoiceField(choices=Team.choices)
    escalate_to = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        required=False,
        max_length=50,
    )
    notify_owner = serializers.BooleanField(required=False)
    met_by_update = serializers.BooleanField(required=False)
    reassign_at_risk = serializers.BooleanField(required=False)
    active = serializers.BooleanField(required=False)

    def service_fields(self) -> dict[str, Any]:
        """The validated body as sla.services.policy_create/update name the fields."""
        fields = dict(self.validated_data)
        if "target_seconds" in fields:
            fields["target"] = timedelta(seconds=fields.pop("target_seconds"))
        return fields


class PolicyPatchSerializer(PolicyWriteSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


# ---------------------------------------------------------------- clocks and breaches


class ClockSerializer(serializers.ModelSerializer):
    owner = OwnerSerializer(read_only=True, allow_null=True)
    policy_name = serializers.CharField(source="policy.name", read_only=True)
    target_seconds = serializers.SerializerMethodField()
    shown_state = serializers.ChoiceField(
        choices=ClockState.choices,
        read_only=True,
        help_text="The state as of now: a clock past due is breached before the sweep runs.",
    )

    class Meta:
        model = SlaClock
        fields = [
            "id",
            "lead",
            "policy",
            "policy_name",
            "cycle",
            "goal",
            "stage",
            "team",
            "owner",
            "target_seconds",
            "state",
            "shown_state",
            "started_at",
            "at_risk_at",
            "due_at",
            "met_at",
            "breached_at",
            "cancelled_at",
        ]
        read_only_fields = fields

    def get_target_seconds(self, clock: SlaClock) -> int:
        return int(clock.target.total_seconds())


class BreachSerializer(serializers.ModelSerializer):
    owner = OwnerSerializer(read_only=True, allow_null=True)
    acknowledged_by = OwnerSerializer(read_only=True, allow_null=True)
    source_name = serializers.SerializerMethodField(help_text="The policy or commitment broken.")

    class Meta:
        model = Breach
        fields = [
            "id",
            "kind",
            "policy",
            "commitment",
            "source_name",
            "lead",
            "clock",
            "team",
            "owner",
            "breached_at",
            "summary",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledgement_note",
            "exempted_at",
        ]
        read_only_fields = fields

    def get_source_name(self, breach: Breach) -> str:
        if breach.policy is not None:
            return breach.policy.name
        return breach.commitment.name if breach.commitment is not None else ""


class AcknowledgeSerializer(StrictSerializer):
    note = serializers.CharField(max_length=1000, help_text="What happens next.")


# ---------------------------------------------------------------- commitments


class CommitmentProgressSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    qualified = serializers.IntegerField()
    accepted = serializers.IntegerField()
    acceptance_rate = serializers.DecimalField(max_digits=4, decimal_places=3, allow_null=True)
    percent_of_target = serializers.IntegerField()
    volume_met = serializers.BooleanField()
    acceptance_met = serializers.BooleanField()
    met = serializers.BooleanField()


class CommitmentSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Commitment
        fields = [
            "id",
            "name",
            "team",
            "period",
            "target_qualified",
            "min_acceptance_rate",
            "timezone",
            "starts_on",
            "active",
            "progress",
        ]
        read_only_fields = fields

    @extend_schema_field(CommitmentProgressSerializer(allow_null=True))
    def get_progress(self, commitment: Commitment) -> dict[str, Any] | None:
        """The running period's numbers, computed by the view for the whole page at once."""
        progress = self.context.get("progress", {}).get(commitment.pk)
        return None if progress is None else CommitmentProgressSerializer(progress).data


# ---------------------------------------------------------------- metrics


class ComplianceRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Team, user id, policy id or the week's Monday.")
    label = serializers.CharField()
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    total = serializers.IntegerField()
    compliance_percent = serializers.FloatField(allow_null=True)
    median_time_to_goal_seconds = serializers.SerializerMethodField()

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_median_time_to_goal_seconds(self, row: Any) -> int | None:
        median = row.median_time_to_goal
        return None if median is None else int(median.total_seconds())


class ComplianceQuerySerializer(StrictSerializer):
    group_by = serializers.ChoiceField(choices=["team", "rep", "policy", "week"], default="team")
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


# The days a summary may name: beyond them a local midnight is no longer a datetime.
SUMMARY_DAYS = (date(1900, 1, 1), date(2999, 12, 31))


class MetricSummaryQuerySerializer(StrictSerializer):
    """Which rows the figures count: whole days `from`..`to` (both included) in the site's
    time zone, and the same filters as the dashboard."""

    from_ = serializers.DateField(
        required=False, help_text="First day (default: 89 days before `to`)."
    )
    to = serializers.DateField(required=False, help_text="Last day, included (default: today).")
    team = serializers.ChoiceField(choices=Team.choices, required=False)
    rep = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    campaign = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    persona = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    policy = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # a Python keyword, so renamed here
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs.get("from"), attrs.get("to")
        for name, day in (("from", first), ("to", last)):
            if day is not None and not SUMMARY_DAYS[0] <= day <= SUMMARY_DAYS[1]:
                raise serializers.ValidationError(
                    {name: [f"{name} must be between {SUMMARY_DAYS[0]} and {SUMMARY_DAYS[1]}."]}
                )
        if first is not None and last is not None and first > last:
            raise serializers.ValidationError({"from": ["from must not be after to."]})
        return attrs


class MetricDefinitionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    definition = serializers.CharField()
    formula = serializers.CharField(help_text="Numerator ÷ denominator, time, period rule.")
    unit = serializers.CharField()
    period_rule = serializers.CharField()


@extend_schema_field({"type": "number", "nullable": True})
class MetricNumberField(serializers.Field):
    """A metric's value as it is: an integer count stays an integer."""

    def to_representation(self, value: int | float) -> int | float:
        return value


class MetricValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = MetricNumberField(
        allow_null=True,
        help_text="Counts and percentages as numbers; durations in seconds; amounts in "
        "`currency`; null when there is nothing to count yet.",
    )
    unit = serializers.CharField()
    shown = serializers.CharField(help_text="The value as pages show it.")
    currency = serializers.CharField(allow_null=True)
    reason = serializers.CharField(
        allow_null=True, help_text="For rejected_by_reason: the reason counted."
    )


class MetricSummarySerializer(serializers.Serializer):
    period_from = serializers.DateField(allow_null=True, source="period.first")
    period_to = serializers.DateField(source="period.last")
    time_zone = serializers.CharField(source="period.zone")
    metrics = MetricValueSerializer(many=True)


# ---------------------------------------------------------------- webhooks


class WebhookEndpointSerializer(serializers.ModelSerializer):
    has_secret = serializers.SerializerMethodField()
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENT_TYPES), read_only=True
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "name",
            "url",
            "event_types",
            "format",
            "active",
            "has_secret",
            "created_at",
        ]
        read_only_fields = fields

    def get_has_secret(self, endpoint: WebhookEndpoint) -> bool:
        return bool(endpoint.secret)


class WebhookEndpointWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    url = serializers.URLField(max_length=500)
    secret = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Signs generic payloads (HMAC-SHA256). Write-only: never returned.",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENT_TYPES),
        required=False,
        min_length=1,
        max_length=len(WEBHOOK_EVENT_TYPES),
    )
    format = serializers.ChoiceField(choices=WebhookFormat.choices, required=False)
    active = serializers.BooleanField(required=False)


# ---------------------------------------------------------------- notifications


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class MarkReadSerializer(StrictSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=500,
        help_text="The notifications to mark read; all of yours when left out.",
    )


class MarkReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


# ---------------------------------------------------------------- the joint review


class ReviewQuerySerializer(StrictSerializer):
    """Which period the review covers (default: the last full ISO week)."""

    period = serializers.RegexField(
        PERIOD_PATTERN, required=False, max_length=32, help_text=PERIOD_HELP
    )


class ReviewPeriodSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The period's name, as `period` takes it.")
    label = serializers.CharField()
    first = serializers.DateField()
    last = serializers.DateField(help_text="Included.")
    time_zone = serializers.CharField(source="zone")


class HeadlineSerializer(MetricValueSerializer):
    previous_value = MetricNumberField(allow_null=True, help_text="The previous period's value.")
    previous_shown = serializers.CharField()
    change = serializers.CharField(help_text="As pages show it: +3, -4.2 pts, no change.")


class ReviewCommitmentSerializer(serializers.Serializer):
    commitment_id = serializers.IntegerField()
    name = serializers.CharField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    handed_off = serializers.IntegerField(source="qualified")
    target = serializers.IntegerField(source="target_qualified")
    accepted = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(source="acceptance_percent", allow_null=True)
    status = serializers.ChoiceField(choices=["met", "on track", "at risk", "missed"])


class ReviewPolicySerializer(serializers.Serializer):
    policy_id = serializers.IntegerField()
    name = serializers.CharField()
    met = serializers.IntegerField()
    missed = serializers.IntegerField()
    sla_compliance = serializers.FloatField(source="compliance.value", allow_null=True)


class ReviewBreachSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    team = serializers.CharField()
    breached_at = serializers.DateTimeField()
    summary = serializers.CharField()
    lead_id = serializers.IntegerField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledgement_note = serializers.CharField()


class ExampleLeadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    company = serializers.CharField()
    email = serializers.CharField()


class FeedbackGroupSerializer(serializers.Serializer):
    reason = serializers.CharField()
    campaign_id = serializers.IntegerField(allow_null=True)
    campaign = serializers.CharField()
    persona_id = serializers.IntegerField(allow_null=True)
    persona = serializers.CharField()
    count = serializers.IntegerField()
    examples = ExampleLeadSerializer(many=True)


class CriterionRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    handed_off = serializers.IntegerField()
    rejected = serializers.IntegerField()
    rejected_share = serializers.FloatField(allow_null=True, help_text="Percent.")


class ReviewCampaignSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    name = serializers.CharField()
    metrics = MetricValueSerializer(many=True, help_text="All time, as the catalogue counts.")
    sla_compliance = serializers.FloatField(
        allow_null=True, help_text="Of its leads' clocks started in the period, percent."
    )


class DecisionSerializer(serializers.ModelSerializer):
    owner = OwnerSerializer(read_only=True)
    recorded_by = OwnerSerializer(read_only=True, allow_null=True)
    closed_by = OwnerSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ReviewDecision
        fields = [
            "id",
            "text",
            "owner",
            "due_on",
            "period",
            "status",
            "version",
            "recorded_by",
            "recorded_at",
            "closed_by",
            "closed_at",
            "outcome",
        ]
        read_only_fields = fields


class JointReviewSerializer(serializers.Serializer):
    period = ReviewPeriodSerializer()
    previous = ReviewPeriodSerializer()
    headline = HeadlineSerializer(many=True)
    commitments = ReviewCommitmentSerializer(many=True)
    sales_goals = MetricValueSerializer(many=True)
    policies = ReviewPolicySerializer(many=True)
    breach_figures = MetricValueSerializer(many=True)
    breaches = ReviewBreachSerializer(many=True)
    rejected = FeedbackGroupSerializer(many=True)
    lost = FeedbackGroupSerializer(many=True)
    criteria = CriterionRowSerializer(many=True)
    campaigns = ReviewCampaignSerializer(many=True)
    decisions = DecisionSerializer(many=True)


class DecisionCreateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=1000)
    owner = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="A user id.")
    due_on = serializers.DateField()
    period = serializers.RegexField(
        PERIOD_PATTERN, required=False, max_length=32, help_text=PERIOD_HELP
    )


class DecisionCloseSerializer(StrictSerializer):
    outcome = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, help_text="Or send If-Match."
    )


class DecisionEventSerializer(serializers.ModelSerializer):
    actor = OwnerSerializer(read_only=True, allow_null=True)
    changes = serializers.DictField(read_only=True, help_text="Field names to [before, after].")

    class Meta:
        model = ReviewDecisionEvent
        fields = ["id", "kind", "actor", "changes", "created_at"]
        read_only_fields = fields
