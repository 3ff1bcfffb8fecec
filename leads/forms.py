"""Browser forms: they check the shape of the input; the services decide what is allowed."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from crm.forms import DatePicker
from leads.models import (
    Activity,
    Campaign,
    Lead,
    LeadEvent,
    Persona,
    QualificationCriterion,
    StageDefinition,
    field_digits,
    field_max_length,
)
from leads.services.cleaning import amount_from_text
from leads.services.imports import IMPORT_FIELDS


class VersionForm(forms.Form):
    """Every change carries the version the user saw, so a stale edit is refused."""

    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)


def _lead_text(name: str, *, required: bool = False, **kwargs: object) -> forms.CharField:
    """A text input as long as the Lead field it fills."""
    return forms.CharField(max_length=field_max_length(Lead, name), required=required, **kwargs)


class AmountField(forms.DecimalField):
    """An amount typed as people write it ("48,000", "48 000", "48 000,50"), read by the
    one parser, amount_from_text; a text input, since a number input refuses those."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(min_value=0, **kwargs)

    def to_python(self, value: object) -> Decimal | None:
        if isinstance(value, str) and value.strip():
            try:
                value = amount_from_text(value)
            except ValueError as error:
                raise forms.ValidationError(str(error), code="invalid") from error
        return super().to_python(value)


def _amount(**kwargs: object) -> AmountField:
    """An estimated value, with the digits the Lead field holds."""
    return AmountField(**field_digits(Lead, "estimated_value"), **kwargs)


class ContactFields(forms.Form):
    first_name = _lead_text("first_name")
    last_name = _lead_text("last_name")
    email = _lead_text("email", required=True, widget=forms.EmailInput)
    company = _lead_text("company")
    job_title = _lead_text("job_title")
    phone = _lead_text("phone")
    campaign = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    persona = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(
        self,
        *args: object,
        campaigns: list[tuple[int, str]] = (),
        personas: list[tuple[int, str]] = (),
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"].choices = [("", "No campaign"), *campaigns]
        self.fields["persona"].choices = [("", "No persona"), *personas]


class LeadCreateForm(ContactFields):
    pass


def _day(label: str) -> forms.DateField:
    """An optional calendar day, picked with the browser's date input."""
    return forms.DateField(required=False, label=label, widget=DatePicker())


class LeadEditForm(ContactFields, VersionForm):
    estimated_value = _amount(required=False)
    next_step = _lead_text("next_step")
    next_step_due = _day("Next step due")


class HandOffForm(VersionForm):
    assignee = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Assign to"
    )
    criteria = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Qualification criteria"
    )

    def __init__(
        self,
        *args: object,
        reps: list[tuple[int, str]] = (),
        criteria: list[tuple[str, str]] = (),
        suggestion: str = "",
        suggestion_why: str = "",
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        rotation = f"Next rep in rotation: {suggestion}" if suggestion else "Next rep in rotation"
        self.fields["assignee"].choices = [("", rotation), *reps]
        # The round robin skips reps who are away, at capacity or not at work long enough
        # before the accept is due; the form says whom it would pick now, and why.
        self.fields["assignee"].help_text = suggestion_why
        self.fields["criteria"].choices = list(criteria)


class ReassignForm(VersionForm):
    assignee = forms.TypedChoiceField(coerce=int, empty_value=None, label="New sales rep")
    reason = forms.CharField(
        max_length=field_max_length(LeadEvent, "note"),
        label="Why",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Sara is on leave this week"}),
    )

    def __init__(self, *args: object, reps: list[tuple[int, str]] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Choose a sales rep"), *reps]


class ReasonForm(VersionForm):
    reason = forms.TypedChoiceField(coerce=int, empty_value=None)
    note = _lead_text("reason_note", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(
        self, *args: object, reasons: list[tuple[int, str]] = (), **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", "Choose a reason"), *reasons]


class OpportunityForm(VersionForm):
    estimated_value = _amount()
    next_step = _lead_text("next_step", required=True)
    next_step_due = _day("Next step due")


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=Activity.Kind.choices)
    summary = forms.CharField(
        max_length=field_max_length(Activity, "summary"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    next_step = _lead_text("next_step", label="Next step (optional)")
    next_step_due = _day("Next step due")


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 CSV separated by commas, semicolons, tabs or pipes; header row first; "
        "up to 5 MB.",
    )


class ImportMappingForm(forms.Form):
    """One select per lead field, listing the file's columns."""

    def __init__(self, *args: object, headers: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "— not in this file —"), *((h, h) for h in headers)]
        for field in IMPORT_FIELDS:
            self.fields[field.name] = forms.ChoiceField(
                choices=choices, required=field.required, label=field.label
            )


class DefinitionForm(forms.Form):
    """A new version of a stage definition; `based_on` is the version the editor started from."""

    based_on = forms.IntegerField(min_value=0, max_value=2**31 - 1, widget=forms.HiddenInput)
    title = forms.CharField(max_length=field_max_length(StageDefinition, "title"))
    description = forms.CharField(
        max_length=field_max_length(StageDefinition, "description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Written description",
    )


class CriterionForm(forms.Form):
    """One criterion row. The key stays with the criterion across versions; a new row's key
    is made from its label when left blank."""

    key = forms.CharField(
        max_length=field_max_length(QualificationCriterion, "key"),
        required=False,
        help_text="Stable across versions; leave blank for a new criterion.",
    )
    label = forms.CharField(
        max_length=field_max_length(QualificationCriterion, "label"), required=False
    )
    required = forms.BooleanField(required=False, initial=True)
    remove = forms.BooleanField(required=False, label="Remove")


CriterionFormSet = forms.formset_factory(CriterionForm, extra=2, max_num=50, absolute_max=60)


def _campaign_amount(name: str, **kwargs: object) -> AmountField:
    return AmountField(**field_digits(Campaign, name), **kwargs)


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=field_max_length(Campaign, "name"))
    channel = forms.ChoiceField(choices=Campaign.Channel.choices)
    starts_on = forms.DateField(required=False, label="Starts on", widget=DatePicker())
    ends_on = forms.DateField(required=False, label="Ends on", widget=DatePicker())
    budget = _campaign_amount("budget", required=False, initial=0)


class CampaignEditForm(CampaignForm, VersionForm):
    pass


class SpendForm(forms.Form):
    """One month's spend; a browser's month input sends YYYY-MM."""

    month = forms.DateField(
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        help_text="The calendar month the money was spent in.",
    )
    amount = _campaign_amount(
        "spend",
        label="Spend in that month",
        help_text="Replaces what that month held; 0 clears it.",
    )


class PersonaForm(forms.Form):
    name = forms.CharField(max_length=field_max_length(Persona, "name"))
    description = forms.CharField(
        max_length=field_max_length(Persona, "description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Who they are and why they buy, in a few lines both teams recognise.",
    )


class BulkForm(forms.Form):
    """The lead list's bulk bar: which leads (each with the version the person saw), what to
    do with them, and that action's inputs. Who may do it is the services' call, per lead."""

    ACTIONS = (
        ("reassign", "Reassign"),
        ("hand_off", "Hand off to sales"),
        ("export", "Export as CSV"),
    )
    action = forms.ChoiceField(choices=ACTIONS)
    lead = forms.TypedMultipleChoiceField(
        coerce=int,
        label="Leads",
        error_messages={
            "required": "Tick at least one lead.",
        },
    )
    reassign_to = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Reassign to"
    )
    hand_off_to = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Hand off to"
    )
    reason = forms.CharField(
        max_length=field_max_length(LeadEvent, "note"), required=False, label="Why"
    )

    def __init__(self, data: object, **kwargs: object) -> None:
        super().__init__(data, **kwargs)
        # The ids are checked as numbers the database holds; whether each lead exists and may
        # be changed is the service's answer, lead by lead.
        posted = [raw for raw in self.data.getlist("lead") if raw.isdigit() and len(raw) < 12]
        self.fields["lead"].choices = [(raw, raw) for raw in posted]
        for name in ("reassign_to", "hand_off_to"):
            raw = self.data.get(name, "")
            self.fields[name].choices = [("", "")] + (
                [(raw, raw)] if raw.isdigit() and len(raw) < 12 else []
            )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        if cleaned.get("action") == "reassign":
            if not cleaned.get("reassign_to"):
                self.add_error("reassign_to", "Choose the sales rep who takes the leads over.")
            if not (cleaned.get("reason") or "").strip():
                self.add_error("reason", "Say why the leads are reassigned.")
        return cleaned

    def version_of(self, pk: int) -> int | None:
        """The version of lead `pk` the person saw on the list (None when not sent)."""
        raw = self.data.get(f"version-{pk}", "")
        return int(raw) if raw.isdigit() and len(raw) < 11 else None
