"""Serializer building blocks shared by the apps' APIs: strict input, validation in one call,
a user reference, and output fields built once per class.

A serializer's docstring becomes its schema component's description (and that of every
subclass without its own): it speaks to API clients, so notes for readers are comments.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from rest_framework import serializers, status
from rest_framework.response import Response


# Refuses fields it does not know, by name, instead of silently ignoring them. (A comment, not
# a docstring: every request schema would inherit it as its description.)
class StrictSerializer(serializers.Serializer):
    # A field a client may not set here, and where to go instead: the 400 answer says so
    # rather than calling the field unknown.
    protected_fields: ClassVar[dict[str, str]] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in set(data) - set(self.fields))[:20]
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [
                            f"{name} cannot be set here; {self.protected_fields[name]}."
                            if name in self.protected_fields
                            else f"Unknown field {name}."
                        ]
                        for name in unknown
                    },
                    code="unknown_field",
                )
        return super().to_internal_value(data)


def created(data: Any, *, location: str) -> Response:
    """A 201 answer with the `Location` the schema promises on every 201."""
    return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The input checked by `serializer_class`; a ValidationError (400) names each bad field."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# A user as other records show them (a lead's owner, a breach's acknowledger).
class OwnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()


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
