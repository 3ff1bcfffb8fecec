"""What each role may do beyond changing one lead (that is `leads.permissions`): which API
scopes a key of that role can hold, who reads and who acknowledges breaches, who sees the
webhook settings. Pages, the API and the services ask here, so they cannot disagree.
"""

from __future__ import annotations

from crm.models import ApiScope, Role, User

_EVERYONE = frozenset({ApiScope.LEADS_READ, ApiScope.LEADS_WRITE, ApiScope.SLA_READ})

# A scope is held only by a role with at least one right behind it: `manage` covers the
# catalogue (marketers and managers), definitions, SLA settings and reviews (managers).
ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.MANAGER: frozenset(ApiScope.values),
    Role.MARKETER: _EVERYONE | {ApiScope.MANAGE},
    Role.SALES_REP: _EVERYONE,
    Role.INTEGRATION: _EVERYONE,
}


def scopes_role_can_hold(role: str) -> frozenset[str]:
    return ROLE_SCOPES.get(role, frozenset())


def key_scope_allowed(user: User, scope: str) -> bool:
    """Checked on every request: a key never does more than its user's role, even a key
    issued before the user's role changed."""
    return user.is_active and scope in scopes_role_can_hold(user.role)


def can_read_breaches(user: User) -> bool:
    """Shared accountability: everyone signed in reads breaches and compliance."""
    return user.is_authenticated and user.is_active


def can_acknowledge_breaches(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.role == Role.MANAGER


def can_see_webhook_settings(user: User) -> bool:
    """Webhook endpoints hold URLs that are secrets in themselves (Slack hooks)."""
    return user.is_authenticated and user.is_active and user.role == Role.MANAGER


def breach_report_default_owner(user: User) -> int | None:
    """A rep opens the breach report on their own breaches; others on everyone's."""
    return user.pk if user.role == Role.SALES_REP else None


def can_record_decisions(user: User) -> bool:
    """The joint review's decisions and action items are recorded by managers."""
    return user.is_authenticated and user.is_active and user.role == Role.MANAGER


def can_close_decision(user: User, owner_id: int) -> bool:
    """Managers close any decision; the person who owns an action item closes their own."""
    return can_record_decisions(user) or (
        user.is_authenticated and user.is_active and user.pk == owner_id
    )


def can_decide_exemptions(user: User) -> bool:
    """Managers approve or decline exemptions (never of their own breach: sla.exemptions)."""
    return user.is_authenticated and user.is_active and user.role == Role.MANAGER
