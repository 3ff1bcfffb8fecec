"""JSON bodies with a size limit: DRF reads the stream itself, past Django's own check."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser


class BodyTooLarge(APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request else 0
        except ValueError:
            length = 0
        if limit and length > limit:
            raise BodyTooLarge(f"The body is {length} bytes; at most {limit} are accepted.")
        return super().parse(stream, media_type, parser_context)
