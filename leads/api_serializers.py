"""Small input and output serializers for the leads API. They check shapes and types;
the rules live in the services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import (
    MaxLengthValidator,
    MinLengthValidator,
    ProhibitNullCharactersValidator,
)
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from crm.api.errors import ProblemItemSerializer
from crm.api.serializers import OwnerSerializer, ReadOnlyFieldsBuiltOnce, StrictSerializer
from crm.errors import DomainError
from leads.lifecycle import Transition, available_moves
from leads.models import (
    Activity,
    Campaign,
    Lead,
    LeadEvent,
    Persona,
    QualificationCriterion,
    Reason,
    StageDefinition,
    field_max_length,
)
from leads.services.batch import MAX_BATCH
from leads.services.cleaning import clean_email

# Fields a PATCH may not set, and where to go instead: named in the 400 answer.
PROTECTED_FIELDS: dict[str, str] = {
    "stage": "use POST /leads/{id}/transitions/",
    "owner": "hand the lead off through /transitions/",
    "owner_team": "it follows the stage",
    "version": "send it as If-Match or in the body only as a precondition",
    "created_at": "read-only",
    "updated_at": "read-only",
    "stage_changed_at": "read-only",
    "accepted_at": "accept through /transitions/",
    "id": "read-only",
}


# Strict input for the leads API: a protected lead field is refused with where to go instead.
class LeadsStrictSerializer(StrictSerializer):
    protected_fields = PROTECTED_FIELDS


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


def _lead_text(name: str, **kwargs: Any) -> serializers.CharField:
    """An optional text input as long as the Lead field it fills."""
    return _text(field_max_length(Lead, name), **kwargs)


CRITERION_KEY = field_max_length(QualificationCriterion, "key")


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        coerce_to_string=True,
    )


class AddressField(serializers.EmailField):
    """An e-mail address refused for the lead services' own reasons (clean_email), so that
    `søren@...` is told why it is refused rather than only that it is not valid."""

    def to_internal_value(self, data: Any) -> str:
        text = serializers.CharField.to_internal_value(self, data)
        try:
            return clean_email(text)
        except DomainError as exc:
            raise serializers.ValidationError(exc.message) from exc


class LeadCreateSerializer(LeadsStrictSerializer):
    email = AddressField(max_length=field_max_length(Lead, "email"))
    first_name = _lead_text("first_name")
    last_name = _lead_text("last_name")
    phone = _lead_text("phone")
    company = _lead_text("company")
    job_title = _lead_text("job_title")
    campaign = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**53
    )
    persona = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**53
    )
    source = serializers.CharField(
        max_length=field_max_length(Lead, "source"),
        required=False,
        help_text="Where the lead came from (default `manual`). With `external_id` it "
        "identifies the lead in the sending system.",
    )
    external_id = serializers.CharField(
        max_length=field_max_length(Lead, "external_id"),
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Upsert key: a lead with the same source and external_id is updated "
        "(its non-empty contact fields) instead of created; the answer is then 200.",
    )
    estimated_value = _money()


class LeadUpdateSerializer(LeadsStrictSerializer):
    email = AddressField(max_length=field_max_length(Lead, "email"), required=False)
    first_name = _lead_text("first_name")
    last_name = _lead_text("last_name")
    phone = _lead_text("phone")
    company = _lead_text("company")
    job_title = _lead_text("job_title")
    next_step = _lead_text("next_step")
    next_step_due = serializers.DateField(
        required=False, allow_null=True, help_text="The day the next step is due."
    )
    campaign = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**53
    )
    persona = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**53
    )
    estimated_value = _money()
    criteria_met = serializers.ListField(
        child=serializers.CharField(max_length=CRITERION_KEY), max_length=50, required=False
    )
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="The version you read; alternative to If-Match (which wins when both agree).",
    )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": 2**53},
            {"type": "string", "maxLength": field_max_length(LeadEvent, "note")},
        ]
    }
)
class ReasonField(serializers.Field):
    """A reason id (reject, lose, disqualify) or a reason in words (reassign); which one a
    move needs is its service's business."""

    default_error_messages = {
        "invalid": "Give a reason id or a text.",
        "range": "A reason id is between 1 and 2^53.",
        "long": "At most {max} characters.",
    }

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, int):
            if not 1 <= data <= 2**53:
                self.fail("range")
            return data
        limit = field_max_length(LeadEvent, "note")
        if len(data) > limit:
            self.fail("long", max=limit)
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class TransitionSerializer(LeadsStrictSerializer):
    transition = serializers.ChoiceField(choices=Transition.values)
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text="Optional precondition."
    )
    assignee = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**53,
        help_text="hand_off (empty: the next rep in the rotation); reassign: the new rep.",
    )
    criteria = serializers.ListField(
        child=serializers.CharField(max_length=CRITERION_KEY),
        max_length=50,
        required=False,
        help_text="hand_off: criterion keys to tick.",
    )
    reason = ReasonField(
        required=False,
        help_text="reject, lose, disqualify: the id of a reason from /reasons/. "
        "reassign: why the lead changes hands, as text.",
    )
    note = _lead_text("reason_note", help_text="reject, lose, disqualify")
    estimated_value = _money()
    next_step = _lead_text("next_step", help_text="to_opportunity")
    next_step_due = serializers.DateField(
        required=False, allow_null=True, help_text="to_opportunity: the day the next step is due."
    )


class ActivityCreateSerializer(LeadsStrictSerializer):
    kind = serializers.ChoiceField(choices=Activity.Kind.choices)
    summary = _text(field_max_length(Activity, "summary"))
    occurred_at = serializers.DateTimeField(required=False)
    next_step = _lead_text("next_step", help_text="Sets the lead's next step with the activity.")
    next_step_due = serializers.DateField(
        required=False, allow_null=True, help_text="The day that next step is due."
    )


# Each item is checked by BatchItemChecker (one bad item never sinks the rest), so at run time
# the list takes any JSON; the schema shows what a good item is.
@extend_schema_field(
    {
        "type": "array",
        "items": {"$ref": "#/components/schemas/LeadCreateRequest"},
        "minItems": 1,
        "maxItems": MAX_BATCH,
    }
)
class BatchItemsField(serializers.ListField):
    pass


class ParsedJson(serializers.JSONField):
    # The API parses only JSON bodies, so a value here is JSON already: taken as it is,
    # rather than encoded once more to prove it (a thousand times per batch).
    def to_internal_value(self, data: Any) -> Any:
        return data


class BatchSerializer(LeadsStrictSerializer):
    items = BatchItemsField(
        child=ParsedJson(),
        min_length=1,
        max_length=MAX_BATCH,
        help_text="Up to 1,000 lead objects shaped like the single create.",
    )


def _surrogate_free(value: str) -> bool:
    try:
        ProhibitSurrogateCharactersValidator()(value)
    except serializers.ValidationError:
        return False
    return True


def _applied_plainly(field: serializers.CharField, validator: Any) -> bool:
    """One of the validators every CharField makes itself, which BatchItemChecker._text_ok
    applies as plain expressions."""
    if isinstance(validator, MaxLengthValidator):
        return validator.limit_value == field.max_length
    if isinstance(validator, MinLengthValidator):
        return validator.limit_value == field.min_length
    return isinstance(
        validator, ProhibitNullCharactersValidator | ProhibitSurrogateCharactersValidator
    )


class BatchItemChecker:
    """Validates batch items as LeadCreateSerializer does, a thousand at a time.

    One serializer instance checks every item (as DRF's list serializer does with its child):
    building one per item, with a deep copy of its fields, was most of a batch's cost. An
    item that is plainly valid (known keys; text fields given as strings, ids as integers,
    no amount) is read on a short path that applies the same fields' own validators and
    returns what the serializer would; anything else goes through the serializer, and an
    invalid item's errors are worded as for a single create.
    """

    def __init__(self) -> None:
        self.serializer = LeadCreateSerializer()
        fields = self.serializer.fields
        self.required = {name for name, f in fields.items() if f.required}
        self.text = {
            name: f
            for name, f in fields.items()
            if isinstance(f, serializers.CharField) and f.trim_whitespace
        }
        self.integers = {
            name: f for name, f in fields.items() if type(f) is serializers.IntegerField
        }
        self.nullable = {name for name, f in fields.items() if f.allow_null}
        # Each text field's validators, but the three every CharField has, which _text_ok
        # applies as plain expressions (the same rules, without building error messages).
        self.text_validators = {
            name: [v for v in f.validators if not _applied_plainly(f, v)]
            for name, f in self.text.items()
        }
        custom = any(
            hasattr(self.serializer, f"validate_{name}")
            or f.default is not serializers.empty
            or any(getattr(v, "requires_context", False) for v in f.validators)
            for name, f in fields.items()
        )
        self.short_path = not custom and type(self.serializer).validate is (
            serializers.Serializer.validate
        )

    def __call__(self, item: Any) -> dict[str, Any]:
        """The validated data of one item; raises ValidationError as the serializer does."""
        plain = self._plain(item) if self.short_path else None
        if plain is not None:
            return plain
        try:
            return dict(self.serializer.run_validation(item))
        except serializers.ValidationError:
            # Worded by a serializer of its own, exactly as the single create words them
            # (`errors` rephrases a null body, which `run_validation` alone does not).
            serializer = LeadCreateSerializer(data=item)
            serializer.is_valid()
            raise serializers.ValidationError(serializer.errors) from None

    def _text_ok(self, name: str, value: str) -> bool:
        """Whether `value` passes the text field's validators (it raises for its others)."""
        field = self.text[name]
        if field.max_length is not None and len(value) > field.max_length:
            return False
        if field.min_length is not None and len(value) < field.min_length:
            return False
        if "\x00" in value or not (value.isascii() or _surrogate_free(value)):
            return False
        for validator in self.text_validators[name]:
            validator(value)
        return True

    def _plain(self, item: Any) -> dict[str, Any] | None:
        if type(item) is not dict or not self.required.issubset(item):
            return None
        data: dict[str, Any] = {}
        try:
            for name, value in item.items():
                if value is None and name in self.nullable:
                    data[name] = None
                elif name in self.text and type(value) is str:
                    field = self.text[name]
                    value = value.strip()
                    if not value:
                        if not field.allow_blank:
                            return None
                    elif not self._text_ok(name, value):
                        return None
                    data[name] = value
                elif name in self.integers and type(value) is int:
                    for validator in self.integers[name].validators:
                        validator(value)
                    data[name] = value
                else:
                    return None  # unknown key, or a value only the serializer can judge
        except (DjangoValidationError, serializers.ValidationError):
            return None
        return data


# ---------------------------------------------------------------- output


class LeadSerializer(ReadOnlyFieldsBuiltOnce):
    owner = OwnerSerializer(read_only=True, allow_null=True)
    owner_team = serializers.CharField(
        read_only=True, help_text="marketing, sales, or empty for a disqualified lead."
    )
    estimated_value = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, read_only=True
    )
    criteria_met = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Keys of the criteria ticked."
    )
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "company",
            "job_title",
            "source",
            "external_id",
            "campaign",
            "persona",
            "stage",
            "owner_team",
            "owner",
            "estimated_value",
            "next_step",
            "next_step_due",
            "criteria_met",
            "qualified_definition",
            "handed_off_at",
            "accepted_at",
            "accepted_by",
            "first_touch_at",
            "stage_changed_at",
            "closed_at",
            "reason",
            "reason_note",
            "version",
            "created_at",
            "updated_at",
            "allowed_transitions",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(Transition.choices)))
    def get_allowed_transitions(self, lead: Lead) -> list[str]:
        return list(available_moves(lead))


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = ["id", "lead", "kind", "actor", "occurred_at", "summary", "created_at"]
        read_only_fields = fields


class LeadEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()
    changes = serializers.DictField(
        read_only=True, help_text="What the event changed: field names to their new values."
    )

    class Meta:
        model = LeadEvent
        fields = [
            "id",
            "kind",
            "actor",
            "actor_name",
            "from_stage",
            "to_stage",
            "changes",
            "note",
            "created_at",
        ]
        read_only_fields = fields

    def get_actor_name(self, event: LeadEvent) -> str:
        return event.actor.display_name if event.actor else ""


BATCH_ITEM_STATUSES = ("created", "updated", "duplicate", "error")


class BatchItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BATCH_ITEM_STATUSES)
    id = serializers.IntegerField(
        allow_null=True, help_text="The lead created, updated or matched."
    )
    errors = ProblemItemSerializer(many=True, help_text="With status error.")


class BatchCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    error = serializers.IntegerField()


class BatchResultSerializer(serializers.Serializer):
    results = BatchItemResultSerializer(many=True)
    counts = BatchCountsSerializer()


# ---------------------------------------------------------------- catalog


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "name", "channel", "starts_on", "ends_on", "budget", "spend", "created_at"]
        read_only_fields = fields


class CampaignWriteSerializer(LeadsStrictSerializer):
    name = serializers.CharField(max_length=field_max_length(Campaign, "name"))
    channel = serializers.ChoiceField(choices=Campaign.Channel.choices, required=False)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    budget = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    spend = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)


class CampaignPatchSerializer(CampaignWriteSerializer):
    name = serializers.CharField(max_length=field_max_length(Campaign, "name"), required=False)


class PersonaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Persona
        fields = ["id", "name", "description"]
        read_only_fields = fields


class PersonaWriteSerializer(LeadsStrictSerializer):
    name = serializers.CharField(max_length=field_max_length(Persona, "name"))
    description = _text(field_max_length(Persona, "description"))


class CriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualificationCriterion
        fields = ["key", "label", "required", "position"]
        read_only_fields = fields


class StageDefinitionSerializer(serializers.ModelSerializer):
    criteria = CriterionSerializer(many=True, read_only=True)
    owner_team = serializers.CharField(read_only=True, help_text="Empty for disqualified.")

    class Meta:
        model = StageDefinition
        fields = [
            "id",
            "stage",
            "version",
            "title",
            "description",
            "owner_team",
            "is_current",
            "created_at",
            "criteria",
        ]
        read_only_fields = fields


class CriterionInputSerializer(LeadsStrictSerializer):
    key = serializers.CharField(max_length=CRITERION_KEY, required=False, allow_blank=True)
    label = serializers.CharField(max_length=field_max_length(QualificationCriterion, "label"))
    required = serializers.BooleanField(required=False, default=True)


class StageDefinitionWriteSerializer(LeadsStrictSerializer):
    stage = serializers.ChoiceField(choices=StageDefinition._meta.get_field("stage").choices)
    title = serializers.CharField(max_length=field_max_length(StageDefinition, "title"))
    description = _text(field_max_length(StageDefinition, "description"))
    criteria = CriterionInputSerializer(many=True, required=False, max_length=50)


class ReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reason
        fields = ["id", "kind", "label", "active"]
        read_only_fields = fields


# ---------------------------------------------------------------- metrics


class PipelineRowSerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()
    owner_team = serializers.CharField(allow_blank=True)
    count = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=14, decimal_places=2)


class ConversionRowSerializer(serializers.Serializer):
    from_stage = serializers.CharField()
    to_stage = serializers.CharField()
    entered = serializers.IntegerField()
    converted = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
