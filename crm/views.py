from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from crm.csv_files import CSV_CONTENT_TYPE
from crm.dashboard import dashboard_read, metric_filter
from crm.errors import DomainError
from crm.forms import PreferencesForm, show_refusal
from crm.health import liveness, readiness
from crm.middleware import RETRY_AFTER_SECONDS
from crm.models import Role, Team, User
from crm.monitoring import CONTENT_TYPE as METRICS_CONTENT_TYPE
from crm.monitoring import scrape, scrape_allowed
from crm.my_work import my_work_read
from crm.notifications import EMAIL_KINDS, email_kind_mute, kind_label, unsubscribe_read
from crm.replica import reads_from_replica
from crm.services import user_preferences_update
from leads.models import Campaign
from leads.selectors import DEFAULT_PERIOD, PERIODS, DashboardFilters
from sla.metrics.catalogue import REJECTED_BY_REASON
from sla.metrics.compute import metrics_summary
from sla.metrics.export import summary_csv, summary_rows


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers (200 even when the database is down, which a restart
    would not cure); the body says whether the database answers."""
    return JsonResponse(liveness(), headers={"Cache-Control": "no-store"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every check passes, else 503 naming the failing checks."""
    ready, body = readiness(timezone.now())
    response = JsonResponse(body, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape: refused without the token or an allowed address."""
    if not scrape_allowed(request):
        return HttpResponse(
            "Metrics need the scrape token.\n", status=403, content_type="text/plain"
        )
    return HttpResponse(scrape(timezone.now()), content_type=METRICS_CONTENT_TYPE)


def _dashboard_filters(request: HttpRequest) -> DashboardFilters:
    """Unknown or malformed filter values fall back to the default instead of failing."""
    period = request.GET.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    team = request.GET.get("team", "")
    if team not in Team.values:
        team = ""
    raw_campaign = request.GET.get("campaign", "")
    campaign_id = int(raw_campaign) if raw_campaign.isdigit() and len(raw_campaign) < 12 else None
    return DashboardFilters(period=period, team=team, campaign_id=campaign_id)


@login_required
@reads_from_replica
def dashboard(request: HttpRequest) -> HttpResponse:
    """The same page for everyone: both teams read one pipeline and one set of numbers."""
    now = timezone.now()
    filters = _dashboard_filters(request)
    campaigns = list(Campaign.objects.order_by("name"))
    figures = dashboard_read(filters, now, campaigns=campaigns)
    context = {
        "filters": filters,
        "periods": [(key, label) for key, (label, _) in PERIODS.items()],
        "teams": Team.choices,
        "campaigns": [(campaign.pk, campaign.name) for campaign in campaigns],
        "period": figures.period,
        "metrics": figures.metrics,
        "pipeline": figures.pipeline,
        "flow": figures.flow,
        "aging": figures.aging,
        "marketing": figures.marketing,
        "sales": figures.sales,
        "outcomes": figures.outcomes,
        "rejected_by_reason": figures.rejected_by_reason,
        "rejected_by_reason_metric": REJECTED_BY_REASON,
        "commitments": figures.commitments,
        "campaign_rows": figures.campaign_rows,
        "campaign_total": figures.campaign_total,
        "attention": figures.attention,
        "chart_data": figures.chart_data(),
        "now": now,
    }
    template = (
        "crm/_dashboard_body.html" if request.headers.get("HX-Request") else "crm/dashboard.html"
    )
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in person's time zone and which notifications reach them by e-mail."""
    user = request.user
    form = PreferencesForm(
        request.POST or None,
        initial=PreferencesForm.initial_for(user),
        default_zone=settings.TIME_ZONE,
    )
    if request.method == "POST" and form.is_valid():
        emailed = set(form.cleaned_data["emailed_kinds"])
        try:
            user_preferences_update(
                actor=user,
                user=user,
                time_zone=form.cleaned_data["time_zone"],
                email_muted_kinds=[kind for kind in EMAIL_KINDS if kind not in emailed],
                email_digest=form.cleaned_data["email_digest"],
                email_digest_hour=form.cleaned_data["email_digest_hour"],
            )
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(request, "Settings saved.")
            return redirect("account")
    return render(request, "crm/account.html", {"form": form})


@csrf_exempt  # the signed token is the credential; mail clients post here (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Stop one kind of e-mail from the link in it; a GET only asks, a POST does it."""
    found = unsubscribe_read(token)
    if found is None:
        return render(request, "crm/unsubscribe.html", {"invalid": True}, status=400)
    user_id, kind = found
    done = False
    if request.method == "POST":
        email_kind_mute(user_id=user_id, kind=kind)
        done = True
    return render(
        request,
        "crm/unsubscribe.html",
        {"kind_label": kind_label(kind), "done": done, "token": token},
    )


@login_required
@reads_from_replica
def dashboard_export(request: HttpRequest) -> HttpResponse:
    """The dashboard's period and filters, every metric as CSV (the API summary's rows)."""
    now = timezone.now()
    values, reasons = metrics_summary(metric_filter(_dashboard_filters(request), now), now)
    response = HttpResponse(
        summary_csv(summary_rows(values, reasons)), content_type=CSV_CONTENT_TYPE
    )
    stamp = now.strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="metrics-{stamp}.csv"'
    return response


@login_required
def my_work(request: HttpRequest) -> HttpResponse:
    """Each person's home page: their queue, most urgent SLA goal first. The `queue` fragment
    alone refreshes every minute, so "due in" and "overdue by" stay current."""
    now = timezone.now()
    reps = list(
        User.objects.filter(role=Role.SALES_REP, is_active=True).order_by("first_name", "username")
    )
    work = my_work_read(request.user, now, reps=reps)
    context = {"work": work, "s": work.sections, "reps": reps, "now": now}
    template = "crm/_my_work_body.html" if request.headers.get("HX-Request") else "crm/my_work.html"
    return render(request, template, context)
