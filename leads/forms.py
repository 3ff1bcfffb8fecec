"""Browser forms: they check the shape of the input; the services decide what is allowed."""

from __future__ import annotations

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
from leads.services.imports import IMPORT_FIELDS


class VersionForm(forms.Form):
    """Every change carries the version the user saw, so a stale edit is refused."""

    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)


def _lead_text(name: str, *, required: bool = False, **kwargs: object) -> forms.CharField:
    """A text input as long as the Lead field it fills."""
    return forms.CharField(max_length=field_max_length(Lead, name), required=required, **kwargs)


def _amount(**kwargs: object) -> forms.DecimalField:
    """An estimated value, with the digits the Lead field holds."""
    return forms.DecimalField(min_value=0, **field_digits(Lead, "estimated_value"), **kwargs)


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
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Next rep in rotation"), *reps]
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


def _campaign_amount(name: str, **kwargs: object) -> forms.DecimalField:
    return forms.DecimalField(min_value=0, **field_digits(Campaign, name), **kwargs)


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
