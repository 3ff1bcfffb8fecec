"""Public holidays from the `holidays` package: a calendar names a country (ISO 3166 code,
e.g. GB) and optionally a subdivision (e.g. ENG), and gets that region's holidays for this
year and the next two, beside the closures a manager entered by hand.

The package is imported when a region is first checked or read, not with this module: it
holds every country's rules (about 24 MB), which a web or Celery worker that never saves a
calendar would otherwise carry for its whole life."""

from __future__ import annotations

from datetime import date
from types import ModuleType

from crm.errors import DomainError

YEARS_AHEAD = 2


def _package() -> ModuleType:
    import holidays  # on first use only: see the module's docstring

    return holidays


def clean_region(country: str, subdivision: str) -> tuple[str, str]:
    """Upper-cased codes the package knows; ("", "") means no public holidays."""
    country = (country or "").strip().upper()
    subdivision = (subdivision or "").strip().upper()
    if not country:
        if subdivision:
            raise DomainError("Pick a country for the subdivision.", field="holiday_country")
        return "", ""
    supported = _package().list_supported_countries()
    if country not in supported:
        raise DomainError(
            f"No public holidays are known for country {country!r}; use an ISO 3166 code "
            "such as GB, DE or US.",
            field="holiday_country",
        )
    if subdivision and subdivision not in supported[country]:
        raise DomainError(
            f"{country} has no subdivision {subdivision!r}; known: "
            f"{', '.join(supported[country]) or 'none'}.",
            field="holiday_subdivision",
        )
    return country, subdivision


def public_holidays(country: str, subdivision: str, *, today: date) -> list[str]:
    """ISO dates of the region's public holidays (observed days included) from 1 January
    of `today`'s year to the end of the year after next."""
    if not country:
        return []
    years = range(today.year, today.year + YEARS_AHEAD + 1)
    found = _package().country_holidays(country, subdiv=subdivision or None, years=years)
    return sorted(day.isoformat() for day in found)
