from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from crm import selectors
from crm.models import Team
from leads.models import Campaign


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability for load balancers and compose health checks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


def _dashboard_filters(request: HttpRequest) -> selectors.DashboardFilters:
    """Unknown or malformed filter values fall back to the default instead of failing."""
    period = request.GET.get("period", selectors.DEFAULT_PERIOD)
    if period not in selectors.PERIODS:
        period = selectors.DEFAULT_PERIOD
    team = request.GET.get("team", "")
    if team not in Team.values:
        team = ""
    raw_campaign = request.GET.get("campaign", "")
    campaign_id = int(raw_campaign) if raw_campaign.isdigit() and len(raw_campaign) < 12 else None
    return selectors.DashboardFilters(period=period, team=team, campaign_id=campaign_id)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The same page for everyone: both teams read one pipeline and one set of numbers."""
    now = timezone.now()
    filters = _dashboard_filters(request)
    leads = selectors.lead_figures(filters, now)
    campaigns = list(Campaign.objects.order_by("name"))
    context = {
        "filters": filters,
        "periods": [(key, label) for key, (label, _) in selectors.PERIODS.items()],
        "teams": Team.choices,
        "campaigns": [(campaign.pk, campaign.name) for campaign in campaigns],
        "pipeline": leads.pipeline,
        "funnel": leads.funnel,
        "aging": leads.aging,
        "marketing": selectors.marketing_scorecard(filters, now),
        "campaign_rows": selectors.campaign_performance(filters.campaign_id, campaigns=campaigns),
        "chart_data": {
            "pipeline": {
                "labels": [row["label"] for row in leads.pipeline],
                "counts": [row["count"] for row in leads.pipeline],
            },
            "funnel": {
                "labels": [step["label"] for step in leads.funnel],
                "counts": [step["count"] for step in leads.funnel],
            },
        },
        "now": now,
    }
    template = (
        "crm/_dashboard_body.html" if request.headers.get("HX-Request") else "crm/dashboard.html"
    )
    return render(request, template, context)
