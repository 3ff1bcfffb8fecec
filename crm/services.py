"""Writes for people and teams."""

from __future__ import annotations

from zoneinfo import available_timezones

from django.db import transaction

from crm.errors import DomainError, ErrorCode
from crm.models import ROLE_TEAM, EmailDigest, Role, Team, User
from crm.notifications import EMAIL_KINDS


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


@transaction.atomic
def user_preferences_update(
    *,
    actor: User,
    user: User,
    time_zone: str | None = None,
    email_muted_kinds: list[str] | None = None,
    email_digest: str | None = None,
    email_digest_hour: int | None = None,
) -> User:
    """A person's own reading preferences: their time zone, which notification kinds reach
    them only in the app, and whether e-mails come one per event or gathered in an hourly or
    daily digest (at `email_digest_hour` o'clock, their time). Nobody sets them for someone
    else."""
    if actor.pk != user.pk:
        raise DomainError("People set their own preferences.", code=ErrorCode.FORBIDDEN)
    fields = []
    if time_zone is not None:
        time_zone = time_zone.strip()
        if time_zone and time_zone not in available_timezones():
            raise DomainError(f"Unknown time zone {time_zone!r}.", field="time_zone")
        user.time_zone = time_zone
        fields.append("time_zone")
    if email_muted_kinds is not None:
        unknown = sorted(set(email_muted_kinds) - set(EMAIL_KINDS))
        if unknown:
            raise DomainError(
                f"Unknown notification kind {unknown[0]!r}.", field="email_muted_kinds"
            )
        user.email_muted_kinds = sorted(set(email_muted_kinds))
        fields.append("email_muted_kinds")
    if email_digest is not None:
        if email_digest not in EmailDigest.values:
            raise DomainError(
                f"Unknown digest {email_digest!r}: use hourly, daily or blank.",
                field="email_digest",
            )
        user.email_digest = email_digest
        fields.append("email_digest")
    if email_digest_hour is not None:
        if isinstance(email_digest_hour, bool) or email_digest_hour not in range(24):
            raise DomainError(
                "The digest's hour is a whole hour from 0 to 23.", field="email_digest_hour"
            )
        user.email_digest_hour = email_digest_hour
        fields.append("email_digest_hour")
    if fields:
        User.objects.filter(pk=user.pk).update(**{name: getattr(user, name) for name in fields})
    return user
