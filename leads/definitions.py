"""What changed between two versions of a stage definition, in the terms people agreed on.

Criteria are matched by their stable key, so a reworded criterion reads as "changed", not as
one removed and another added. The description is compared line by line.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from leads.models import QualificationCriterion, StageDefinition


@dataclass(frozen=True)
class CriterionChange:
    key: str
    before: QualificationCriterion
    after: QualificationCriterion
    what: list[str]  # "label", "required"


@dataclass(frozen=True)
class DefinitionDiff:
    old: StageDefinition
    new: StageDefinition
    title_changed: bool
    # ("added" | "removed" | "same", line) in the new text's order; unchanged lines kept for
    # context so a reader sees where a sentence moved.
    description: list[tuple[str, str]] = field(default_factory=list)
    added: list[QualificationCriterion] = field(default_factory=list)
    removed: list[QualificationCriterion] = field(default_factory=list)
    changed: list[CriterionChange] = field(default_factory=list)

    @property
    def description_changed(self) -> bool:
        return any(kind != "same" for kind, _ in self.description)

    @property
    def is_empty(self) -> bool:
        return not (
            self.title_changed
            or self.description_changed
            or self.added
            or self.removed
            or self.changed
        )


def definition_diff(old: StageDefinition, new: StageDefinition) -> DefinitionDiff:
    """Compare two versions (their criteria read through `.criteria.all()`, prefetch them)."""
    before = {c.key: c for c in old.criteria.all()}
    after = {c.key: c for c in new.criteria.all()}
    changed = []
    for key, criterion in after.items():
        if key not in before:
            continue
        what = [
            name
            for name in ("label", "required")
            if getattr(before[key], name) != getattr(criterion, name)
        ]
        if what:
            changed.append(CriterionChange(key=key, before=before[key], after=criterion, what=what))
    return DefinitionDiff(
        old=old,
        new=new,
        title_changed=old.title != new.title,
        description=_line_diff(old.description, new.description),
        added=[c for key, c in after.items() if key not in before],
        removed=[c for key, c in before.items() if key not in after],
        changed=changed,
    )


def _line_diff(old: str, new: str) -> list[tuple[str, str]]:
    kinds = {"+ ": "added", "- ": "removed", "  ": "same"}
    return [
        (kinds[line[:2]], line[2:])
        for line in difflib.ndiff(old.splitlines(), new.splitlines())
        if line[:2] in kinds
    ]
