"""Formatting for form fields, no queries."""

from html import escape

from django import forms, template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def select_options(field: forms.BoundField) -> SafeString:
    """The `<option>`s of a choice field, the bound value selected.

    One call with the standard library's `html.escape` instead of a template loop or
    `format_html` per option: the list page's filters hold about a hundred options (owners,
    campaigns, personas) and either of those took more time than the page's 25 rows.
    """
    chosen = str(field.value() or "")
    return mark_safe(  # every value and label is escaped above
        "".join(
            f'<option value="{escape(str(value))}"{" selected" if str(value) == chosen else ""}>'
            f"{escape(str(label))}</option>"
            for value, label in field.field.choices
        )
    )
