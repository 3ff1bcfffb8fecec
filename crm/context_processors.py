from __future__ import annotations

from django.http import HttpRequest

from crm.models import Role


def navigation(request: HttpRequest) -> dict[str, object]:
    """The role decides which links the header shows (the views enforce the same rights)."""
    user = getattr(request, "user", None)
    role = getattr(user, "role", "") if user is not None and user.is_authenticated else ""
    match = getattr(request, "resolver_match", None)
    return {
        "nav_role": role,
        "nav_is_manager": role == Role.MANAGER,
        "nav_can_create": role in {Role.MARKETER, Role.MANAGER},
        "nav_current": match.view_name if match else "",
    }
