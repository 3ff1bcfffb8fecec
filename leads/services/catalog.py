"""Writes for the shared vocabulary: stage definitions, personas, reasons (campaigns have
their own module, leads/services/campaigns.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from crm.errors import DomainError, ErrorCode
from crm.models import User
from leads import permissions
from leads.lifecycle import STAGE_OWNER, Stage
from leads.models import (
    Persona,
    QualificationCriterion,
    Reason,
    StageDefinition,
    field_max_length,
)
from leads.services.cleaning import clean_text

CRITERION_KEY = field_max_length(QualificationCriterion, "key")
CRITERION_LABEL = field_max_length(QualificationCriterion, "label")


class CriterionInput(TypedDict, total=False):
    key: str
    label: str
    required: bool


@transaction.atomic
def definition_publish(
    *,
    actor: User,
    stage: str,
    title: str,
    description: str = "",
    criteria: list[CriterionInput] | None = None,
    based_on: int | None = None,
    now: datetime | None = None,
) -> StageDefinition:
    """Publish a new version of a stage's definition; earlier versions stay as they were.

    `based_on` is the version the editor started from: when someone published in between,
    the edit is refused as stale rather than silently undoing theirs. A version identical to
    the current one is refused too, so the history only holds real changes.
    """
    permissions.require(
        permissions.can_manage_definitions(actor), "Only managers edit definitions."
    )
    if stage not in Stage.values:
        raise DomainError(f"Unknown stage {stage!r}.", field="stage")
    title = clean_text("title", title, field_max_length(StageDefinition, "title"))
    if not title:
        raise DomainError("title is required.", field="title")
    description = clean_text(
        "description", description, field_max_length(StageDefinition, "description")
    )
    cleaned = _clean_criteria(criteria or [])
    latest = (
        StageDefinition.objects.select_for_update()
        .filter(stage=stage)
        .aggregate(v=Max("version"))["v"]
        or 0
    )
    if based_on is not None and based_on != latest:
        raise DomainError(
            f"Version {latest} was published since you opened version {based_on}; "
            "reload the page and make your change again.",
            code=ErrorCode.STALE,
            field="based_on",
        )
    current = (
        StageDefinition.objects.filter(stage=stage, is_current=True)
        .prefetch_related("criteria")
        .first()
    )
    if current and _same_content(current, title, description, cleaned):
        raise DomainError(
            f"Nothing changed since version {current.version}; nothing published.",
            field="criteria",
        )
    StageDefinition.objects.filter(stage=stage, is_current=True).update(is_current=False)
    definition = StageDefinition.objects.create(
        stage=stage,
        version=latest + 1,
        title=title,
        description=description,
        owner_team=STAGE_OWNER[stage],
        is_current=True,
        created_by=actor,
        created_at=now or timezone.now(),
    )
    QualificationCriterion.objects.bulk_create(
        QualificationCriterion(definition=definition, position=i, **c)
        for i, c in enumerate(cleaned)
    )
    return definition


def _same_content(
    current: StageDefinition, title: str, description: str, criteria: list[dict[str, Any]]
) -> bool:
    kept = [
        {"key": c.key, "label": c.label, "required": c.required} for c in current.criteria.all()
    ]
    return (current.title, current.description, kept) == (title, description, criteria)


def _clean_criteria(criteria: list[CriterionInput]) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(criteria):
        label = clean_text(f"criteria[{index}].label", item.get("label"), CRITERION_LABEL)
        if not label:
            raise DomainError("Every criterion needs a label.", field=f"criteria[{index}].label")
        key = slugify(item.get("key") or label)[:CRITERION_KEY]
        if not key or key in seen:
            raise DomainError(
                f"Criterion key {key!r} is empty or repeated.", field=f"criteria[{index}].key"
            )
        seen.add(key)
        cleaned.append({"key": key, "label": label, "required": bool(item.get("required", True))})
    return cleaned


@transaction.atomic
def persona_create(*, actor: User, name: str, description: str = "") -> Persona:
    values = _clean_persona(actor=actor, name=name, description=description)
    return Persona.objects.create(**values)


@transaction.atomic
def persona_update(*, actor: User, persona: Persona, name: str, description: str = "") -> Persona:
    """Rename or redescribe a persona; the leads tagged with it keep it."""
    values = _clean_persona(actor=actor, name=name, description=description, exclude=persona.pk)
    Persona.objects.filter(pk=persona.pk).update(**values)
    persona.refresh_from_db()
    return persona


def _clean_persona(
    *, actor: User, name: str, description: str, exclude: int | None = None
) -> dict[str, str]:
    permissions.require(
        permissions.can_manage_catalog(actor), "Only marketing or managers manage personas."
    )
    name = clean_text("name", name, field_max_length(Persona, "name"))
    if not name:
        raise DomainError("name is required.", field="name")
    if Persona.objects.filter(name__iexact=name).exclude(pk=exclude).exists():
        raise DomainError(f"A persona named {name!r} exists.", field="name")
    return {
        "name": name,
        "description": clean_text(
            "description", description, field_max_length(Persona, "description")
        ),
    }


@transaction.atomic
def reason_create(*, actor: User, kind: str, label: str) -> Reason:
    permissions.require(
        permissions.can_manage_definitions(actor), "Only managers edit the reason lists."
    )
    if kind not in Reason.Kind.values:
        raise DomainError(f"Unknown reason kind {kind!r}.", field="kind")
    label = clean_text("label", label, field_max_length(Reason, "label"))
    if not label:
        raise DomainError("label is required.", field="label")
    reason, _ = Reason.objects.get_or_create(kind=kind, label=label, defaults={"active": True})
    return reason
