"""What the header of every page shows: the links a role may follow and the unread count.

The header belongs to the layout that every page extends (ours, Django's sign-in page and its
403 page alike), so its data comes from this one processor rather than from each view. It is
the one read a page's view does not start, and it is still counted in each page's
query-count test, because it runs inside the request.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from crm.models import Role
from crm.notifications import unread_notification_count
from crm.rights import can_read_breaches


def navigation(request: HttpRequest) -> dict[str, object]:
    """The role decides which links the header shows (the views enforce the same rights).

    `nav_unread` is read when a template shows it, once: a full page pays one COUNT, and a
    fragment swapped in by htmx (which has no header) pays nothing.
    """
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    role = getattr(user, "role", "") if signed_in else ""
    match = getattr(request, "resolver_match", None)
    return {
        "nav_is_manager": role == Role.MANAGER,
        "nav_reads_breaches": signed_in and can_read_breaches(user),
        "nav_can_create": role in {Role.MARKETER, Role.MANAGER},
        "nav_sets_availability": role in {Role.SALES_REP, Role.MANAGER},
        "nav_current": match.view_name if match else "",
        "nav_unread": SimpleLazyObject(lambda: unread_notification_count(user=user))
        if signed_in
        else 0,
    }
