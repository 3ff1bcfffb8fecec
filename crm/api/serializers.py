"""Serializer building blocks shared by the apps' APIs."""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers


class ReadOnlyFieldsBuiltOnce(serializers.ModelSerializer):
    """An output ModelSerializer that maps its model's fields to serializer fields once per
    class instead of once per instance.

    DRF redoes that mapping (model introspection, field kwargs) for every serializer it
    creates; for a wide model that cost more than the rest of the serialization. The mapping
    depends only on the class here, so each instance gets its own shallow copies of the
    fields built the first time (binding sets the copy's parent and name, never the
    original's). Read-only fields keep no other state, which this checks: a serializer
    with a writable field, or whose get_fields() depends on the instance or its context,
    must not use this class.
    """

    _fields_built: dict[str, serializers.Field] | None = None

    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            writable = sorted(name for name, field in built.items() if not field.read_only)
            if writable:
                raise TypeError(f"{cls.__name__} has writable fields: {', '.join(writable)}.")
            cls._fields_built = built
        return {name: copy.copy(field) for name, field in built.items()}
