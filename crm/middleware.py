from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

logger = logging.getLogger("handoff.db")

# Everything the pages use is served from our own origin; htmx and charts are vendored.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class NoStoreMiddleware:
    """Pages and API answers carry names, e-mails and pipeline figures: no browser, proxy or
    shared cache keeps a copy (`Cache-Control: no-store`), unless a view chose its own caching.
    Static files are served before this by whitenoise, with their long-lived headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response


RETRY_AFTER_SECONDS = 5
UNAVAILABLE_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Handoff is briefly "
    "unavailable</title></head><body><h1>Handoff is briefly unavailable</h1><p>The database "
    "cannot be reached right now. Nothing you sent was half-saved; please try again in a few "
    "seconds.</p></body></html>"
)


def is_database_unavailable(exc: BaseException) -> bool:
    """The database went away (restart, failover, dropped connection), whether Django wrapped
    the driver's error or it escaped unwrapped (a queryset iterated while rendering)."""
    from django.db import InterfaceError, OperationalError, connection

    driver = connection.Database
    return isinstance(
        exc, OperationalError | InterfaceError | driver.OperationalError | driver.InterfaceError
    )


class DatabaseUnavailableMiddleware:
    """A page whose database is restarting answers 503 with Retry-After, not 500.

    The API has the same rule in its exception handler (problem+json); this covers the pages.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        logger.warning("database unavailable for %s: %s", request.path, exception)
        response = HttpResponse(UNAVAILABLE_PAGE, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class ReaderTimeZoneMiddleware:
    """Pages show times in the signed-in person's zone (their setting, else TIME_ZONE).

    Reads the user the authentication middleware attached; a page behind sign-in has loaded
    it anyway, so this adds no query to a page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = getattr(user, "time_zone", "") if user is not None else ""
        if zone:
            try:
                timezone.activate(ZoneInfo(zone))
            except (ZoneInfoNotFoundError, ValueError):
                zone = ""  # a zone since removed from the system's database: the default
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
