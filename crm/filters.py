"""Filter building blocks shared by every app's FilterSets (the pages' and the API's)."""

from __future__ import annotations

# Booleans are strict: anything but true/false is an error, not silently "no filter".
BOOLEAN_CHOICES = [("true", "Yes"), ("false", "No")]


def as_bool(value: str) -> bool:
    """The `coerce` of a TypedChoiceFilter over BOOLEAN_CHOICES."""
    return value == "true"
