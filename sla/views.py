"""SLA pages: the managers' breach report, everyone's notifications and the policies.

Thin: reads through sla.selectors, writes through sla.services / crm.notifications. A refused
acknowledgement (DomainError) becomes a message on the page, never an error page.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import rights
from crm.csv_files import CSV_CONTENT_TYPE
from crm.errors import DomainError
from crm.forms import show_refusal
from crm.models import Notification, Role, User
from crm.notifications import (
    notifications_by_lead,
    notifications_for_user,
    notifications_mark_read,
)
from crm.replica import reads_from_replica
from leads.periods import Period
from sla import selectors, services
from sla.commitments import commitments_progress
from sla.forms import (
    CALENDAR_FORM_FIELD,
    COMMITMENT_FORM_FIELD,
    POLICY_FORM_FIELD,
    AcknowledgeForm,
    BreachFilterForm,
    CalendarForm,
    CommitmentEditForm,
    CommitmentForm,
    PolicyForm,
)
from sla.metrics.catalogue import BY_KEY, PER_GOAL
from sla.metrics.compute import Figures, MetricFilter, breach_figures, clock_figures
from sla.models import Breach, BusinessCalendar, Commitment, SlaPolicy
from sla.pagination import breach_page
from sla.selectors import ComplianceRow
from sla.wording import commitment_in_words, in_lifecycle_order, policy_in_words

NOTIFICATIONS_SHOWN = 50
READ_REFUSAL = "Sign in to read breaches."
# What a saved policy or calendar changes, said where it is saved.
NEW_CLOCKS_ONLY = (
    "It applies to clocks started from now on; clocks already running keep their due time."
)
# What a saved commitment changes, said on its form and where it is saved.
COMMITMENT_FROM_NOW_ON = (
    "It counts from the running period on; periods already closed keep their results."
)
DEFAULT_WINDOW_DAYS = 12 * 7
# The breach report's figures per promise, beside the headline ones.
GOAL_FIGURES = (*PER_GOAL, "sla_met", "sla_missed")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _require(allowed: bool, refusal: str) -> None:
    if not allowed:
        raise PermissionDenied(refusal)


# ---------------------------------------------------------------- breach report


def _filter_form(request: HttpRequest) -> BreachFilterForm:
    """The filters asked for; a rep who has not chosen a rep sees their own breaches."""
    data = request.GET.copy()
    default_owner = rights.breach_report_default_owner(request.user)
    if "owner" not in data and default_owner is not None:
        data["owner"] = str(default_owner)
    policies = list(SlaPolicy.objects.order_by("name").values_list("pk", "name"))
    owners = [
        (pk, f"{first} {last}".strip() or username)
        for pk, first, last, username in User.objects.filter(
            role__in=[Role.SALES_REP, Role.MARKETER, Role.MANAGER]
        )
        .order_by("first_name", "username")
        .values_list("pk", "first_name", "last_name", "username")
    ]
    return BreachFilterForm(data or None, policies=policies, owners=owners)


def _compliance_charts(by_week: list[Any], by_policy: list[Any]) -> dict[str, Any]:
    return {
        "week": {
            "labels": [row.label.removeprefix("Week of ") for row in by_week],
            "met": [row.met for row in by_week],
            "breached": [row.breached for row in by_week],
            "percent": [row.compliance_percent for row in by_week],
        },
        "policy": {
            "labels": [row.label for row in by_policy],
            "met": [row.met for row in by_policy],
            "breached": [row.breached for row in by_policy],
        },
    }


def _with_rep_names(rows: list[ComplianceRow]) -> list[ComplianceRow]:
    """Reports key reps by id; people read names (one query, whatever the number of rows)."""
    ids = [int(row.key) for row in rows if row.key.isdigit()]
    names = {user.pk: user.display_name for user in User.objects.filter(pk__in=ids)}
    named = [
        replace(row, label=names.get(int(row.key), row.label)) if row.key.isdigit() else row
        for row in rows
    ]
    return sorted(named, key=lambda row: row.label.lower())


def _selection(form: BreachFilterForm, now: datetime) -> tuple[dict[str, Any], Period, bool]:
    """The chosen filters; without a start date, recent weeks only: the figures people act
    on, and a bounded read however long the history grows."""
    period, default_window = form.period(now, DEFAULT_WINDOW_DAYS)
    return form.selection(period), period, default_window


def _ack_form(user: User) -> AcknowledgeForm | None:
    """Everyone reads the report; only those who may acknowledge get the form."""
    return AcknowledgeForm() if rights.can_acknowledge_breaches(user) else None


def _kept_query(request: HttpRequest) -> str:
    kept = request.GET.copy()
    kept.pop("after", None)
    return kept.urlencode()


@login_required
@require_GET
@reads_from_replica
def breach_report(request: HttpRequest) -> HttpResponse:
    """Compliance by team, rep, policy and week, with the breaches behind it."""
    _require(rights.can_read_breaches(request.user), READ_REFUSAL)
    now = timezone.now()
    form = _filter_form(request)
    selection, period, default_window = _selection(form, now)
    page = breach_page(selectors.breach_list(**selection), after=request.GET.get("after", "")[:200])
    if _is_htmx(request) and request.GET.get("after"):
        return render(
            request,
            "sla/_breach_rows.html",
            {"page": page, "query": _kept_query(request), "ack_form": _ack_form(request.user)},
        )
    scope = MetricFilter(
        period=period,
        team=selection["team"] or "",
        rep_id=selection["owner_id"],
        policy_id=selection["policy_id"],
    )
    reports = selectors.compliance_reports(now=now, scope=scope)
    reports["rep"] = _with_rep_names(reports["rep"])
    values = clock_figures(scope, now)
    values.update(breach_figures(scope))
    context = {
        "form": form,
        "metrics": Figures(values),
        "goal_figures": [Figures(values)[key] for key in GOAL_FIGURES],
        "met_metric": BY_KEY["sla_met"],
        "missed_metric": BY_KEY["sla_missed"],
        "compliance_metric": BY_KEY["sla_compliance"],
        "median_metric": BY_KEY["time_to_goal_median"],
        "period": period,
        "page": page,
        "reports": [
            ("team", "By team", reports["team"]),
            ("rep", "By rep", reports["rep"]),
            ("policy", "By policy", reports["policy"]),
            ("week", "By week", reports["week"]),
        ],
        "charts": _compliance_charts(reports["week"], reports["policy"]),
        "query": _kept_query(request),
        "ack_form": _ack_form(request.user),
        "default_window": default_window,
        "now": now,
    }
    return render(request, "sla/breaches.html", context)


@login_required
@require_GET
@reads_from_replica
def breach_export(request: HttpRequest) -> StreamingHttpResponse:
    _require(rights.can_read_breaches(request.user), READ_REFUSAL)
    breaches = selectors.breach_list(**_selection(_filter_form(request), timezone.now())[0])
    response = StreamingHttpResponse(
        selectors.breaches_csv(breaches), content_type=CSV_CONTENT_TYPE
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="breaches-{stamp}.csv"'
    return response


@login_required
@require_POST
def breach_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    _require(rights.can_acknowledge_breaches(request.user), "Only managers acknowledge breaches.")
    breach = get_object_or_404(Breach, pk=pk)
    form = AcknowledgeForm(request.POST)
    error = ""
    if not form.is_valid():
        error = " ".join(form.errors.get("note", ["Write a note."]))
    else:
        try:
            services.breach_acknowledge(
                breach=breach, actor=request.user, note=form.cleaned_data["note"]
            )
        except DomainError as refused:
            error = refused.message
    if not _is_htmx(request):
        if error:
            messages.error(request, f"Not saved: {error}")
        else:
            messages.success(request, "Breach acknowledged.")
        return redirect("sla:breaches")
    # htmx swaps the breach's row in place; the outcome is said inside the row.
    fresh = selectors.breach_list().get(pk=pk)
    return render(
        request,
        "sla/_breach_row.html",
        {
            "breach": fresh,
            "ack_form": form if error else AcknowledgeForm(),
            "error": error,
            "just_acknowledged": not error,
        },
    )


# ---------------------------------------------------------------- notifications


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    notifications = list(
        notifications_for_user(user=request.user, unread_only=unread_only)[:NOTIFICATIONS_SHOWN]
    )
    for notification in notifications:
        notification.safe_url = notification.url if _inside_the_app(notification.url) else ""
    groups = notifications_by_lead(notifications, now=timezone.now())
    for group in groups:
        group.url = group.url if _inside_the_app(group.url) else ""
    return render(
        request,
        "sla/notifications.html",
        {
            "groups": groups,
            "notifications": notifications,
            "unread_only": unread_only,
            "shown": NOTIFICATIONS_SHOWN,
            "zone": timezone.get_current_timezone_name(),
        },
    )


def _after_marking(request: HttpRequest) -> HttpResponse:
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect("sla:notifications")


def _inside_the_app(url: str) -> bool:
    """Only a path on this site is followed ("//host" and "/\\host" leave it)."""
    return (
        url.startswith("/")
        and not url.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(url, allowed_hosts=None)
    )


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    notifications_mark_read(user=request.user, notification_ids=[notification.pk])
    if request.POST.get("open") == "1" and _inside_the_app(notification.url):
        return redirect(notification.url)
    return _after_marking(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    marked = notifications_mark_read(user=request.user)
    messages.success(request, f"{marked} notification{'s' if marked != 1 else ''} marked read.")
    return _after_marking(request)


# ---------------------------------------------------------------- policies


@login_required
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    """Every promise in plain words, with its numbers, for both teams to read."""
    now = timezone.now()
    policies = [
        {"policy": p, "words": policy_in_words(p)}
        for p in sorted(
            in_lifecycle_order(selectors.policies_with_counts()), key=lambda p: not p.active
        )
    ]
    commitments = list(Commitment.objects.order_by("-active", "name"))
    progress = {p.commitment_id: p for p in commitments_progress(now=now)}
    return render(
        request,
        "sla/policies.html",
        {
            "policies": policies,
            "commitments": [
                {"commitment": c, "words": commitment_in_words(c), "progress": progress.get(c.pk)}
                for c in commitments
            ],
            "now": now,
        },
    )


def _policy_form_choices() -> dict[str, list[tuple[int, str]]]:
    people = User.objects.filter(is_active=True).exclude(role=Role.INTEGRATION)
    return {
        "calendars": list(BusinessCalendar.objects.order_by("name").values_list("pk", "name")),
        "people": [(u.pk, u.display_name) for u in people.order_by("first_name", "username")],
    }


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A manager creates or edits a promise. Clocks already running keep their due time."""
    if not request.user.is_manager:
        raise PermissionDenied("Only managers edit SLA policies.")
    policy = get_object_or_404(SlaPolicy, pk=pk) if pk is not None else None
    initial = PolicyForm.initial_for(policy) if policy else {}
    form = PolicyForm(request.POST or None, initial=initial, **_policy_form_choices())
    if request.method == "POST" and form.is_valid():
        try:
            if policy is None:
                saved = services.policy_create(actor=request.user, fields=form.service_fields())
            else:
                saved = services.policy_update(
                    actor=request.user,
                    policy=policy,
                    fields=form.service_fields(),
                    expected_updated_at=form.cleaned_data["updated_at"],
                )
        except DomainError as error:
            show_refusal(form, error, renamed=POLICY_FORM_FIELD)
        else:
            messages.success(request, f"“{saved.name}” saved. {NEW_CLOCKS_ONLY}")
            return redirect("sla:policies")
    return render(request, "sla/policy_form.html", {"form": form, "policy": policy})


@login_required
@require_GET
def calendar_list(request: HttpRequest) -> HttpResponse:
    """The working calendars the promises count business time in."""
    calendars = BusinessCalendar.objects.order_by("name")
    return render(request, "sla/calendars.html", {"calendars": calendars})


@login_required
@require_http_methods(["GET", "POST"])
def calendar_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A manager creates or edits a working calendar. Running clocks keep their due time."""
    if not request.user.is_manager:
        raise PermissionDenied("Only managers edit working calendars.")
    calendar = get_object_or_404(BusinessCalendar, pk=pk) if pk is not None else None
    initial = CalendarForm.initial_for(calendar) if calendar else {"timezone": "Europe/London"}
    form = CalendarForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            if calendar is None:
                saved = services.calendar_create(
                    actor=request.user,
                    name=fields["name"],
                    timezone_name=fields["timezone"],
                    weekly_hours=fields["weekly_hours"],
                    holidays=fields["holidays"],
                )
            else:
                saved = services.calendar_update(
                    actor=request.user, calendar=calendar, fields=fields
                )
        except DomainError as error:
            show_refusal(form, error, renamed=CALENDAR_FORM_FIELD)
        else:
            messages.success(request, f"“{saved.name}” saved. {NEW_CLOCKS_ONLY}")
            return redirect("sla:calendars")
    return render(request, "sla/calendar_form.html", {"form": form, "calendar": calendar})


@login_required
@require_http_methods(["GET", "POST"])
def commitment_new(request: HttpRequest) -> HttpResponse:
    """A manager writes down a new marketing commitment."""
    if not request.user.is_manager:
        raise PermissionDenied("Only managers edit commitments.")
    form = CommitmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.commitment_create(actor=request.user, **form.service_fields())
        except DomainError as error:
            show_refusal(form, error, renamed=COMMITMENT_FORM_FIELD)
        else:
            messages.success(request, f"“{saved.name}” saved.")
            return redirect("sla:policies")
    return render(
        request, "sla/commitment_form.html", {"form": form, "from_now_on": COMMITMENT_FROM_NOW_ON}
    )


@login_required
@require_http_methods(["GET", "POST"])
def commitment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager edits a commitment; closed periods keep the result they were evaluated to."""
    if not request.user.is_manager:
        raise PermissionDenied("Only managers edit commitments.")
    commitment = get_object_or_404(Commitment, pk=pk)
    form = CommitmentEditForm(
        request.POST or None, initial=CommitmentEditForm.initial_for(commitment)
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.commitment_update(
                actor=request.user,
                commitment=commitment,
                fields=form.service_fields(),
                expected_version=form.cleaned_data["version"],
            )
        except DomainError as error:
            show_refusal(form, error, renamed=COMMITMENT_FORM_FIELD)
        else:
            messages.success(request, f"“{saved.name}” saved. {COMMITMENT_FROM_NOW_ON}")
            return redirect("sla:policies")
    # The history names fields as the form does (the rate is kept as a share, not percent).
    labels = {name: field.label or name for name, field in form.fields.items()}
    labels["min_acceptance_rate"] = "Accepted by sales, at least (share)"
    events = [
        (event, [(labels.get(name, name), *pair) for name, pair in event.changes.items()])
        for event in commitment.events.select_related("actor")[:50]
    ]
    return render(
        request,
        "sla/commitment_form.html",
        {
            "form": form,
            "commitment": commitment,
            "events": events,
            "from_now_on": COMMITMENT_FROM_NOW_ON,
        },
    )
