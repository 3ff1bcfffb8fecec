"""Input cleaning for lead writes: each value checked against its field, errors name the field.

Limits come from the model fields (leads.models.field_max_length), never restated here.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import idna
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from crm.errors import DomainError
from leads.lifecycle import Stage
from leads.models import (
    Campaign,
    Lead,
    Persona,
    Reason,
    StageDefinition,
    field_max_amount,
    field_max_length,
)

MAX_VALUE = field_max_amount(Lead, "estimated_value")

# Contact fields a create or an edit may set, with their maximum length.
TEXT_FIELDS: dict[str, int] = {
    name: field_max_length(Lead, name)
    for name in ("first_name", "last_name", "phone", "company", "job_title", "next_step")
}
EDITABLE_FIELDS = frozenset(
    {
        *TEXT_FIELDS,
        "email",
        "campaign",
        "persona",
        "estimated_value",
        "criteria_met",
        "next_step_due",
    }
)


# Characters that show nothing: a name carrying one looks like another person's. The joiners
# (U+200C, U+200D) shape Persian and Indic script, so they stay between two letters of a
# script beyond Latin (above U+024F) and go everywhere else.
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b\u2060\ufeff]")
_JOINER = re.compile(r"[\u200c\u200d]")
_SHAPED_LETTER = re.compile(r"[^\W\d_\x00-\u024f]")


def strip_invisible(text: str) -> str:
    """A contact field without zero-width characters and soft hyphens."""
    if text.isascii():
        return text  # every character stripped here lies beyond ASCII
    text = _INVISIBLE.sub("", text)

    def keep_shaping(match: re.Match[str]) -> str:
        before, after = text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1]
        shaped = _SHAPED_LETTER.match(before) and _SHAPED_LETTER.match(after)
        return match.group() if shaped else ""

    return _JOINER.sub(keep_shaping, text)


def _without_format_characters(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def canonical_email(raw: str) -> str:
    """One spelling per address: NFKC (full-width letters become ASCII), no format characters
    (zero-width spaces, soft hyphens, direction marks), the domain in its IDNA ASCII form.

    Raises idna.IDNAError when the domain cannot be a domain name.
    """
    if raw.isascii():
        return raw.strip()  # NFKC keeps ASCII as it is, and no ASCII character is a format one
    email = unicodedata.normalize("NFKC", _without_format_characters(raw))
    email = _without_format_characters(email).strip()
    local, sep, domain = email.rpartition("@")
    if not sep or not domain or domain.isascii():
        return email  # an ASCII domain is kept as typed; validate_email checks it
    return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"


def normalize_email(raw: str) -> str:
    """The duplicate key: the canonical address, lower-cased, without a `+tag`, so that
    jo+ads@x.com, Jo@X.com and a full-width jo@x.com match."""
    try:
        email = canonical_email(raw)
    except idna.IDNAError:
        email = raw
    email = email.strip().lower()
    local, sep, domain = email.rpartition("@")
    if not sep:
        return email
    local = local.split("+", 1)[0]
    return f"{local}@{domain}"


def clean_text(field: str, value: Any, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DomainError(f"{field} must be text.", field=field)
    value = value.strip()
    if "\x00" in value:
        raise DomainError(f"{field} must not contain NUL characters.", field=field)
    if len(value) > max_length:
        raise DomainError(
            f"{field} is too long ({len(value)} characters; at most {max_length}).", field=field
        )
    return value


def clean_email(value: Any) -> str:
    """The canonical address (see canonical_email), checked.

    The part before the @ must be ASCII: internationalised mailboxes (RFC 6531) reach a
    person only when every mail server on the way speaks SMTPUTF8, so an address such as
    søren@... is refused with that reason rather than stored and silently undeliverable.
    """
    email = clean_text("email", value, field_max_length(Lead, "email"))
    if not email:
        raise DomainError("email is required.", field="email")
    try:
        email = canonical_email(email)
    except idna.IDNAError as exc:
        raise DomainError(
            f"email {email!r} does not end in a valid domain name.", field="email"
        ) from exc
    local = email.rpartition("@")[0]
    if not local.isascii():
        raise DomainError(
            f"email {email!r} has non-ASCII characters before the @: internationalised "
            "addresses (RFC 6531) are not accepted because many mail servers cannot "
            "deliver to them.",
            field="email",
        )
    if len(email) > field_max_length(Lead, "email"):
        raise DomainError("email is too long once its domain is encoded.", field="email")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError(f"email {email!r} is not a valid address.", field="email") from exc
    return email


# Digit-group separators people type in an amount: spaces (plain, no-break, thin, narrow) and
# the apostrophes of Swiss notation.
_GROUP_SPACES = re.compile("[ \u00a0\u2009\u202f'\u2019]")
_AMOUNT_SHAPE = re.compile(r"^-?\d[\d.,g]*$")


def amount_from_text(text: str) -> Decimal:
    """An amount as people type it, in either convention: "48000", "48,000", "48 000",
    "48.000,50", "48,000.50", "48 000,50", "1'250.75". With both a comma and a dot, the last
    one is the decimal mark. A lone comma followed by exactly three digits groups thousands
    ("48,000" is forty-eight thousand), otherwise it is the decimal mark ("48,5"); a lone dot
    is the decimal mark ("48.000" is forty-eight); a mark repeated groups thousands. Groups
    after the first hold three digits. Raises ValueError with the reason."""
    raw = _GROUP_SPACES.sub("g", text.strip())
    if not _AMOUNT_SHAPE.match(raw):
        raise ValueError("Enter an amount in digits, such as 48000, 48,000 or 48 000,50.")
    commas, dots = raw.count(","), raw.count(".")
    if commas and dots:
        decimal = "," if raw.rfind(",") > raw.rfind(".") else "."
    elif commas == 1:
        decimal = "" if len(raw) - raw.index(",") - 1 == 3 else ","
    elif dots == 1:
        decimal = "."
    else:
        decimal = ""
    group = {",": ".", ".": ","}.get(decimal, ",.")
    for mark in group:
        raw = raw.replace(mark, "g")
    whole, _, fraction = raw.partition(decimal) if decimal else (raw, "", "")
    if decimal and (decimal in fraction or "g" in fraction):
        raise ValueError("The amount has more than one decimal mark.")
    sign = "-" if whole.startswith("-") else ""
    groups = whole.removeprefix("-").split("g")
    if len(groups) > 1 and not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
        raise ValueError("Group the thousands by three digits, such as 1,250,000.")
    return Decimal(sign + "".join(groups) + ("." + fraction if fraction else ""))


def clean_value(
    value: Any, field: str = "estimated_value", maximum: Decimal = MAX_VALUE
) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(f"{field} must be a number.", field=field) from exc
    if not amount.is_finite() or amount < 0 or amount > maximum:
        raise DomainError(f"{field} must be between 0 and {maximum}.", field=field)
    return amount.quantize(Decimal("0.01"))


def current_definition(stage: str) -> StageDefinition:
    """The published definition of `stage`, with its criteria."""
    definition = (
        StageDefinition.objects.filter(stage=stage, is_current=True)
        .prefetch_related("criteria")
        .first()
    )
    if definition is None:
        raise DomainError(f"No definition is published for the {stage} stage.", field="stage")
    return definition


def clean_criteria(
    value: Any, definition: StageDefinition | None = None, *, field: str = "criteria_met"
) -> list[str]:
    """Criterion keys of the qualified stage's current definition (passed in when the caller
    already holds it, so it is read once). `field` is the input that carried them."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(k, str) for k in value):
        raise DomainError(f"{field} must be a list of criterion keys.", field=field)
    definition = definition or current_definition(Stage.QUALIFIED)
    known = {criterion.key for criterion in definition.criteria.all()}
    unknown = sorted(set(value) - known)
    if unknown:
        raise DomainError(f"Unknown qualification criteria: {', '.join(unknown)}.", field=field)
    return sorted(set(value))


def clean_reason(reason: Reason | int | None, kind: str, field: str = "reason") -> Reason:
    if reason is None or reason == "":
        raise DomainError(f"A {Reason.Kind(kind).label.lower()} is required.", field=field)
    if not isinstance(reason, Reason):
        try:
            reason = Reason.objects.get(pk=int(reason))
        except (Reason.DoesNotExist, ValueError, TypeError) as exc:
            raise DomainError(f"Unknown reason {reason!r}.", field=field) from exc
    if reason.kind != kind or not reason.active:
        raise DomainError(
            f"{reason.label!r} is not an active {Reason.Kind(kind).label.lower()}.", field=field
        )
    return reason


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the editable fields given; unknown or protected ones are refused by name."""
    unknown = sorted(set(fields) - EDITABLE_FIELDS)
    if unknown:
        raise DomainError(f"{unknown[0]} cannot be set here.", field=unknown[0])
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        if name in TEXT_FIELDS:
            text = strip_invisible(value) if isinstance(value, str) else value
            cleaned[name] = clean_text(name, text, TEXT_FIELDS[name])
        elif name == "email":
            cleaned[name] = clean_email(value)
        elif name == "estimated_value":
            cleaned[name] = clean_value(value)
        elif name == "criteria_met":
            cleaned[name] = clean_criteria(value)
        elif name == "next_step_due":
            cleaned[name] = clean_day(name, value)
        elif name == "campaign":
            cleaned[name] = _resolve(Campaign, value, "campaign")
        elif name == "persona":
            cleaned[name] = _resolve(Persona, value, "persona")
    return cleaned


def clean_day(field: str, value: Any) -> date | None:
    """A calendar day: a date, an ISO "YYYY-MM-DD" text, or empty for none."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise DomainError(f"{field} must be a day (YYYY-MM-DD), not a moment.", field=field)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise DomainError(f"{field} must be a day written YYYY-MM-DD.", field=field)


def _resolve(model: type[Campaign] | type[Persona], value: Any, field: str) -> Any:
    if value is None or value == "" or isinstance(value, model):
        return value or None
    try:
        return model.objects.get(pk=int(value))
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise DomainError(f"Unknown {field} {value!r}.", field=field) from exc
