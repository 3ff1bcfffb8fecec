"""Choice filters for the leads page that cost one query each and render in Python.

Django renders every <option> of a select through a template include: with the owners,
campaigns and personas of the filter form that was most of the list page's time. PlainSelect
writes the same HTML directly. ListedModelChoiceField reads its choices with one plain
query (no server-side cursor) and checks a submitted id against that same list, so the
filter and the form's options share one query.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils.safestring import SafeString, mark_safe
from django_filters.fields import ModelChoiceField, ModelChoiceIterator


def _escape(value: Any) -> str:
    """Django's conditional_escape without its lazy-string wrapper (called for every option)."""
    return value.__html__() if hasattr(value, "__html__") else escape(str(value))


def _attrs_html(attrs: dict[str, Any]) -> str:
    """What django/forms/widgets/attrs.html writes for these attributes."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(" " + _escape(name))
        if value is not True:
            parts.append(f'="{_escape(str(value))}"')
    return "".join(parts)


class PlainSelect(forms.Select):
    """A single-choice select whose HTML is the same as Django's select.html and
    select_option.html give (flat choices), written without rendering a template per option."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = self.format_value(value)
        parts = [f'<select name="{_escape(name)}"']
        parts.append(_attrs_html(self.build_attrs(self.attrs, attrs)))
        parts.append(">")
        has_selected = False
        for option_value, label in self.choices:
            if isinstance(label, list | tuple):
                return super().render(name, value, attrs, renderer)  # grouped: Django's way
            text = "" if option_value is None else str(option_value)
            selected = not has_selected and text in chosen
            has_selected = has_selected or selected
            parts.append(
                f'\n  <option value="{_escape(text)}"'
                f"{' selected' if selected else ''}>{_escape(label)}</option>\n"
            )
        parts.append("\n</select>")
        return mark_safe("".join(parts))


class ListedModelChoiceIterator(ModelChoiceIterator):
    def __iter__(self) -> Iterator[tuple[Any, str]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.field.listed():
            yield self.choice(obj)


class ListedModelChoiceField(ModelChoiceField):
    """A model choice whose queryset is read once per form, as a list, for both the
    validation of the submitted id and the options shown."""

    iterator = ListedModelChoiceIterator

    def listed(self) -> list[Model]:
        # Iterating the queryset itself (not .iterator()) keeps the rows in its result cache.
        return list(self.queryset)

    def to_python(self, value: Any) -> Any:
        if self.null_label is not None and value == self.null_value:
            return value
        if value in self.empty_values:
            return None
        self.validate_no_null_characters(value)
        if isinstance(value, self.queryset.model):
            value = value.pk
        try:
            key = self.queryset.model._meta.pk.to_python(value)
        except ValidationError:
            key = None
        for obj in self.listed():
            if key is not None and obj.pk == key:
                return obj
        raise ValidationError(
            self.error_messages["invalid_choice"],
            code="invalid_choice",
            params={"value": value},
        )


class ListedModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ListedModelChoiceField
