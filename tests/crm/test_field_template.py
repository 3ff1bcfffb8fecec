"""The shared field template gives help and errors the ids the widget points at."""

from __future__ import annotations

import re

from django import forms
from django.template.loader import render_to_string


class PhoneForm(forms.Form):
    phone = forms.CharField(max_length=5, help_text="Digits only, with the country code.")


def _described_by(html: str) -> list[str]:
    match = re.search(r'aria-describedby="([^"]+)"', html)
    assert match, html
    return match.group(1).split()


def test_it_ties_help_and_errors_to_the_input_for_screen_readers():
    form = PhoneForm(data={"phone": "+44 20 7946 0000"})
    assert not form.is_valid()
    html = render_to_string("_field.html", {"field": form["phone"]})
    ids = _described_by(html)
    assert ids == ["id_phone_helptext", "id_phone_error"]
    for element_id in ids:
        assert f'id="{element_id}"' in html
    assert 'aria-invalid="true"' in html


def test_it_keeps_what_was_typed_beside_the_error():
    form = PhoneForm(data={"phone": "+44 20 7946 0000"})
    html = render_to_string("_field.html", {"field": form["phone"]})
    assert 'value="+44 20 7946 0000"' in html
    assert "at most 5 characters" in html
