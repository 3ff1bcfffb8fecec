"""A person's own settings: the shape of the input; crm.services decides what is allowed."""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import available_timezones

from django import forms

from crm.errors import DomainError
from crm.models import EmailDigest, User
from crm.notifications import EMAIL_KINDS


class DatePicker(forms.DateInput):
    """The browser's date input. Its value must be ISO (YYYY-MM-DD): the site's own format
    (01/03/2026) would show an empty picker, and saving the form would clear the date."""

    def __init__(self) -> None:
        super().__init__(attrs={"type": "date"}, format="%Y-%m-%d")


def show_refusal(
    form: forms.Form,
    error: DomainError,
    *,
    renamed: Mapping[str, str] | None = None,
    message: str | None = None,
) -> None:
    """Show a service's refusal on the field it names (`renamed` maps a service's field name
    to the form's), or above the form when the form has no such field."""
    name = (renamed or {}).get(error.field or "", error.field)
    form.add_error(name if name in form.fields else None, message or error.message)


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        required=False,
        label="Time zone",
        help_text="Pages and e-mails show your times in this zone.",
    )
    emailed_kinds = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=list(EMAIL_KINDS.items()),
        label="E-mail me when",
        help_text="Unticked kinds reach you in the app only.",
    )

    email_digest = forms.ChoiceField(
        required=False,
        widget=forms.RadioSelect,
        choices=EmailDigest.choices,
        label="E-mails come",
    )
    email_digest_hour = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        label="Daily e-mail at",
        help_text="In your time zone.",
    )

    def __init__(self, *args: object, default_zone: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        zones = sorted(available_timezones())
        self.fields["time_zone"].choices = [
            ("", f"The team's zone ({default_zone})"),
            *((zone, zone.replace("_", " ")) for zone in zones),
        ]

    @staticmethod
    def initial_for(user: User) -> dict[str, object]:
        return {
            "time_zone": user.time_zone,
            "emailed_kinds": [k for k in EMAIL_KINDS if k not in user.email_muted_kinds],
            "email_digest": user.email_digest,
            "email_digest_hour": user.email_digest_hour,
        }
