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


def can_reassign_lead(user: User, lead: Lead) -> bool:
    """Managers reassign any sales-owned lead; a sales rep only a lead assigned to them."""
    if not user.is_active or lead.owner_team != Team.SALES:
        return False
    if user.role == Role.MANAGER:
        return True
    return user.role == Role.SALES_REP and lead.owner_id == user.id


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


def require_reassign(user: User, lead: Lead) -> None:
    """The reason a reassignment by `user` is refused, as the one domain error."""
    if can_reassign_lead(user, lead):
        return
    if user.role == Role.SALES_REP and lead.owner_team == Team.SALES:
        message = "A sales rep reassigns only leads assigned to them."
    elif user.role in {Role.SALES_REP, Role.MANAGER}:
        message = "Only a lead owned by sales can be reassigned."
    else:
        message = "Only a manager or the assigned sales rep may reassign a lead."
    raise DomainError(message, code=ErrorCode.FORBIDDEN)
