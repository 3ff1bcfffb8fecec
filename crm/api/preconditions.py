"""`If-Match` as RFC 9110 defines it: `*` or a list of entity tags, compared strongly.

Tags are opaque to clients: a well-formed tag the server never issued simply does not match
(412), and a weak tag (`W/"3"`) never matches under the strong comparison that If-Match
uses. Only a header that is not an entity-tag list at all is a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from crm.api.errors import ApiProblem

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / obs-text
_ETAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
ENTITY_TAGS = re.compile(rf"\s*{_ETAG}\s*(?:,\s*{_ETAG}\s*)*")
_ONE_TAG = re.compile(r'(W/)?"([^"]*)"')
# What the schema documents: `*`, or one or more entity tags.
IF_MATCH_PATTERN = r'^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$'


@dataclass(frozen=True)
class IfMatch:
    any: bool  # `*`: any current representation matches
    strong_tags: frozenset[str]  # the opaque values of the strong tags sent

    def matches(self, current_tag: str) -> bool:
        return self.any or current_tag in self.strong_tags


def parse_if_match(raw: str) -> IfMatch:
    """The header's tags; a header that is no entity-tag list is a 400 naming it."""
    if raw.strip() == "*":
        return IfMatch(any=True, strong_tags=frozenset())
    if not ENTITY_TAGS.fullmatch(raw):
        raise ApiProblem(
            400,
            'If-Match must be "*" or the ETag you read, like "3".',
            code="invalid",
            errors=[{"pointer": "/If-Match", "message": "Not an entity tag.", "code": "invalid"}],
        )
    strong = frozenset(value for weak, value in _ONE_TAG.findall(raw) if not weak)
    return IfMatch(any=False, strong_tags=strong)


def precondition_failed(current_etag: str) -> ApiProblem:
    return ApiProblem(
        412,
        f"If-Match does not match the current ETag {current_etag}; read it again and retry.",
        code="stale",
        errors=[
            {
                "pointer": "/If-Match",
                "message": "Does not match the current version.",
                "code": "stale",
            }
        ],
    )


def version_to_meet(
    request: Any, current: int, body_version: int | None, *, required: bool, what: str
) -> int | None:
    """The version a write must meet: If-Match wins; `version` in the body also works.

    A matching If-Match hands `current` to the service, which checks it again under the row
    lock; `*` matches the record as it is. With neither header nor `version`, a write that
    `required` one is refused with 428 (lost updates are never silent). `what` names the
    record in the messages ("lead", "decision").
    """
    raw = request.headers.get("If-Match")
    if raw is not None:
        if_match = parse_if_match(raw)
        if if_match.any:
            return body_version
        if not if_match.matches(str(current)):
            raise precondition_failed(f'"{current}"')
        if body_version is not None and body_version != current:
            raise ApiProblem(
                400,
                "If-Match and version disagree.",
                code="invalid",
                errors=[
                    {
                        "pointer": "/version",
                        "message": "Disagrees with If-Match.",
                        "code": "invalid",
                    }
                ],
            )
        return current
    if body_version is None and required:
        raise ApiProblem(
            428,
            f"Send If-Match with the {what}'s ETag, or `version` in the body, so that a "
            "concurrent change is not overwritten.",
            code="precondition_required",
            errors=[{"pointer": "/version", "message": "Required.", "code": "required"}],
        )
    return body_version
