"""Who may do what to a lead: the rights table of the design, checked by every service."""

from __future__ import annotations

from crm.errors import DomainError, ErrorCode
from crm.models import Role, Team, User
from leads.models import Lead

CREATORS = frozenset({Role.MARKETER, Role.MANAGER, Role.INTEGRATION})


def can_create_lead(user: User) -> bool:
    return user.is_active and user.role in CREATORS


def can_edit_lead(user: User, lead: Lead) -> bool:
    """Managers edit anything; others only leads their team owns, and sales only its own."""
    if not user.is_active:
        return False
    if user.role == Role.MANAGER:
        return True
    if not lead.owner_team or lead.owner_team != user.team:
        return False
    if lead.owner_team == Team.SALES:
        return lead.owner_id == user.id
    return True


def can_manage_catalog(user: User) -> bool:
    """Campaigns and personas: marketing and managers."""
    return user.is_active and user.role in {Role.MARKETER, Role.MANAGER}


def can_manage_definitions(user: User) -> bool:
    return user.is_active and user.role == Role.MANAGER


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise DomainError(message, code=ErrorCode.FORBIDDEN)


def require_edit(user: User, lead: Lead) -> None:
    if can_edit_lead(user, lead):
        return
    if lead.owner_team == Team.SALES and user.team == Team.SALES:
        raise DomainError(
            "Only the assigned sales rep or a manager may change this lead.",
            code=ErrorCode.FORBIDDEN,
        )
    owner = Team(lead.owner_team).label if lead.owner_team else "nobody"
    raise DomainError(
        f"This lead is owned by {owner}; only that team or a manager may change it.",
        code=ErrorCode.FORBIDDEN,
    )
