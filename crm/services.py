"""Writes for people and teams."""

from __future__ import annotations

from django.db import transaction

from crm.errors import DomainError
from crm.models import ROLE_TEAM, Role, Team, User


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    team: str = "",
    is_staff: bool = False,
) -> User:
    """Create a user whose team follows the role (a manager may pick a team or none)."""
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", field="role")
    fixed_team = ROLE_TEAM[role]
    if fixed_team is not None:
        team = fixed_team
    elif team and team not in Team.values:
        raise DomainError(f"Unknown team {team!r}.", field="team")
    user = User(
        username=username,
        role=role,
        team=team,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_staff or role == Role.MANAGER,
        is_superuser=role == Role.MANAGER,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user
