"""Browser forms: they check the shape of the input; the services decide what is allowed."""

from __future__ import annotations

from django import forms

from leads.import_services import IMPORT_FIELDS
from leads.models import MAX_COMPANY, MAX_EMAIL, MAX_NAME, Activity


class VersionForm(forms.Form):
    """Every change carries the version the user saw, so a stale edit is refused."""

    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)


class ContactFields(forms.Form):
    first_name = forms.CharField(max_length=MAX_NAME, required=False)
    last_name = forms.CharField(max_length=MAX_NAME, required=False)
    email = forms.CharField(max_length=MAX_EMAIL, widget=forms.EmailInput)
    company = forms.CharField(max_length=MAX_COMPANY, required=False)
    job_title = forms.CharField(max_length=MAX_NAME, required=False)
    phone = forms.CharField(max_length=40, required=False)
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


class LeadEditForm(ContactFields, VersionForm):
    estimated_value = forms.DecimalField(
        required=False, min_value=0, max_digits=12, decimal_places=2
    )
    next_step = forms.CharField(max_length=300, required=False)


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


class ReasonForm(VersionForm):
    reason = forms.TypedChoiceField(coerce=int, empty_value=None)
    note = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(
        self, *args: object, reasons: list[tuple[int, str]] = (), **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", "Choose a reason"), *reasons]


class OpportunityForm(VersionForm):
    estimated_value = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2)
    next_step = forms.CharField(max_length=300)


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=Activity.Kind.choices)
    summary = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8 CSV, header row first, up to 5 MB.")


class ImportMappingForm(forms.Form):
    """One select per lead field, listing the file's columns."""

    def __init__(self, *args: object, headers: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "— not in this file —"), *((h, h) for h in headers)]
        for field in IMPORT_FIELDS:
            self.fields[field.name] = forms.ChoiceField(
                choices=choices, required=field.required, label=field.label
            )
