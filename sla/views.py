"""SLA pages: the managers' breach report, everyone's notifications and the policies.

Thin: reads through sla.selectors, writes through sla.services / crm.notifications. A refused
acknowledgement (DomainError) becomes a message on the page, never an error page.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
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
from leads.models import Reason
from leads.periods import Period
from sla import selectors, services
from sla.availability import absence_add, absence_cancel, availability_set, can_set_absence
from sla.commitments import commitments_progress
from sla.exemptions import can_request_exemption, exemption_decide, exemption_request
from sla.forms import (
    CALENDAR_FORM_FIELD,
    COMMITMENT_FORM_FIELD,
    POLICY_FORM_FIELD,
    AbsenceForm,
    AcknowledgeForm,
    AvailabilityForm,
    BreachFilterForm,
    CalendarForm,
    CommitmentEditForm,
    CommitmentForm,
    DecisionCloseForm,
    DecisionForm,
    PolicyForm,
)
from sla.metrics.catalogue import BY_KEY, PER_GOAL
from sla.metrics.compute import Figures, MetricFilter, breach_figures
from sla.models import (
    Breach,
    BreachExemption,
    BusinessCalendar,
    Commitment,
    ReviewDecision,
    SlaPolicy,
)
from sla.pagination import breach_page
from sla.review.decisions import decision_close, decision_record
from sla.review.periods import ReviewPeriod, review_period, review_period_choices
from sla.review.sections import joint_review
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
GOAL_FIGURES = (
    *PER_GOAL,
    "sla_compliance_accept_adjusted",
    "sla_compliance_first_touch_adjusted",
    "sla_compliance_exit_stage_adjusted",
    "sla_met",
    "sla_missed",
    "sla_exempted",
)


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
    _exemption_rights(page.breaches, request.user)
    exemption_reasons = _exemption_reasons()
    if _is_htmx(request) and request.GET.get("after"):
        return render(
            request,
            "sla/_breach_rows.html",
            {
                "page": page,
                "query": _kept_query(request),
                "ack_form": _ack_form(request.user),
                "exemption_reasons": exemption_reasons,
            },
        )
    scope = MetricFilter(
        period=period,
        team=selection["team"] or "",
        rep_id=selection["owner_id"],
        policy_id=selection["policy_id"],
    )
    reports, values = selectors.compliance_figures(now=now, scope=scope)
    reports["rep"] = _with_rep_names(reports["rep"])
    values.update(breach_figures(scope))
    context = {
        "form": form,
        "metrics": Figures(values),
        "goal_figures": [Figures(values)[key] for key in GOAL_FIGURES],
        "met_metric": BY_KEY["sla_met"],
        "missed_metric": BY_KEY["sla_missed"],
        "compliance_metric": BY_KEY["sla_compliance"],
        "adjusted_metric": BY_KEY["sla_compliance_adjusted"],
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
        "exemption_reasons": exemption_reasons,
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


# ---------------------------------------------------------------- exemptions


def _exemption_rights(breaches: list[Breach], user: User) -> None:
    """What the row offers this reader: asking (the accountable person), deciding (a manager
    other than the owner and the asker; the service checks again)."""
    decider = rights.can_decide_exemptions(user)
    for breach in breaches:
        latest = next(iter(breach.exemptions.all()), None)
        breach.may_request = can_request_exemption(user, breach)
        breach.may_decide = (
            decider
            and latest is not None
            and user.pk not in (breach.owner_id, latest.requested_by_id)
        )


def _exemption_reasons() -> list[tuple[int, str]]:
    return list(
        Reason.objects.filter(kind=Reason.Kind.EXEMPTION, active=True)
        .order_by("label")
        .values_list("pk", "label")
    )


def _exemption_outcome(request: HttpRequest, breach_id: int, done: str, error: str) -> HttpResponse:
    """htmx swaps the breach's row, saying the outcome inside it and keeping what was typed;
    without htmx, a message and the report."""
    if not _is_htmx(request):
        if error:
            messages.error(request, f"Not saved: {error}")
        else:
            messages.success(request, done)
        return redirect("sla:breaches")
    fresh = selectors.breach_list().get(pk=breach_id)
    _exemption_rights([fresh], request.user)
    return render(
        request,
        "sla/_breach_row.html",
        {
            "breach": fresh,
            "ack_form": _ack_form(request.user),
            "exemption_reasons": _exemption_reasons(),
            "exemption_error": error,
            "exemption_message": "" if error else done,
            "typed": request.POST if error else {},
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def exemption_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    breach = get_object_or_404(Breach, pk=pk)
    error = ""
    try:
        exemption_request(
            actor=request.user,
            breach=breach,
            reason=request.POST.get("reason", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as refused:
        error = refused.message
    return _exemption_outcome(request, breach.pk, "Exemption asked for; a manager decides.", error)


@login_required
@require_POST
def exemption_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    exemption = get_object_or_404(BreachExemption, pk=pk)
    approve = request.POST.get("decision") == "approve"
    error = ""
    try:
        exemption_decide(
            actor=request.user,
            exemption=exemption,
            approve=approve,
            note=request.POST.get("decision_note", ""),
        )
    except DomainError as refused:
        error = refused.message
    done = "Exemption approved." if approve else "Exemption declined."
    return _exemption_outcome(request, exemption.breach_id, done, error)


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


# ---------------------------------------------------------------- the joint review


def _review_context(
    request: HttpRequest, period: ReviewPeriod, now: datetime, form: DecisionForm | None
) -> dict[str, Any]:
    can_record = rights.can_record_decisions(request.user)
    if can_record and form is None:
        people = list(User.objects.filter(is_active=True).exclude(role=Role.INTEGRATION))
        form = DecisionForm(people=people, initial={"due_on": period.last + timedelta(days=7)})
    review = joint_review(period, now)
    for decision in review.decisions:
        decision.can_close = rights.can_close_decision(request.user, decision.owner_id)
    choices = review_period_choices(now)
    if period.key not in dict(choices):
        choices.insert(0, (period.key, period.label))
    return {
        "review": review,
        "period": period,
        "choices": choices,
        "earlier": period.shifted(-1),
        "later": period.shifted(1) if period.shifted(1).start <= now else None,
        "decision_form": form if can_record else None,
        "rejected_metric": BY_KEY["rejected_by_reason"],
        "lost_metric": BY_KEY["lost"],
        "compliance_metric": BY_KEY["sla_compliance"],
        "now": now,
    }


# ---------------------------------------------------------------- availability


def _availability_page(
    request: HttpRequest, absence_form: AbsenceForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    rows = selectors.availability_rows(now=timezone.now())
    reps = [(row.rep.pk, row.rep.display_name) for row in rows]
    if not user.is_manager:
        reps = [(pk, name) for pk, name in reps if pk == user.pk]
    calendars = list(BusinessCalendar.objects.order_by("name").values_list("pk", "name"))
    settings_forms = (
        {
            row.rep.pk: AvailabilityForm(
                initial={
                    "calendar": row.availability.calendar_id if row.availability else None,
                    "capacity": row.availability.capacity if row.availability else None,
                },
                calendars=calendars,
                auto_id=f"rep{row.rep.pk}_%s",
            )
            for row in rows
        }
        if user.is_manager
        else {}
    )
    context = {
        "rows": [
            {
                "row": row,
                "settings_form": settings_forms.get(row.rep.pk),
                "may_cancel": can_set_absence(user, row.rep),
            }
            for row in rows
        ],
        "absence_form": absence_form
        or (AbsenceForm(reps=reps, initial={"rep": user.pk}) if reps else None),
    }
    return render(request, "sla/availability.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def joint_review_page(request: HttpRequest) -> HttpResponse:
    """The weekly meeting pack, the same for both teams; managers record decisions here."""
    now = timezone.now()
    raw = request.POST.get("period") if request.method == "POST" else request.GET.get("period")
    try:
        period = review_period(raw, now=now)
    except DomainError as refused:
        messages.error(request, refused.message)
        period = review_period("", now=now)
    form = None
    if request.method == "POST":
        _require(rights.can_record_decisions(request.user), "Only managers record decisions.")
        people = list(User.objects.filter(is_active=True).exclude(role=Role.INTEGRATION))
        form = DecisionForm(request.POST, people=people)
        if form.is_valid():
            try:
                decision_record(actor=request.user, period=period.key, now=now, **form.cleaned_data)
            except DomainError as refused:
                show_refusal(form, refused)
            else:
                messages.success(request, "Decision recorded; every review lists it until closed.")
                return redirect(f"{reverse('sla:review')}?period={period.key}#decisions")
    context = _review_context(request, period, now, form)
    status = 400 if form is not None and form.errors else 200
    return render(request, "sla/review.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def availability(request: HttpRequest) -> HttpResponse:
    """Who is in, who is away, and how much each rep can take: reps add their own absences,
    managers anyone's."""
    if request.method == "GET":
        return _availability_page(request)
    user = request.user
    reps = list(
        User.objects.filter(role=Role.SALES_REP, is_active=True).values_list("pk", "first_name")
    )
    form = AbsenceForm(request.POST, reps=[(pk, name) for pk, name in reps])
    if form.is_valid():
        try:
            absence = absence_add(
                actor=user,
                rep=form.cleaned_data["rep"],
                **{k: form.cleaned_data[k] for k in ("first_day", "last_day", "note")},
            )
        except DomainError as error:
            show_refusal(form, error, renamed={"user": "rep"})
        else:
            messages.success(
                request,
                f"{absence.user.display_name} is out of office from "
                f"{form.cleaned_data['first_day']:%-d %b} to "
                f"{form.cleaned_data['last_day']:%-d %b %Y}. New leads go to someone else.",
            )
            return redirect("sla:availability")
    return _availability_page(request, form, status=400)


@login_required
@require_POST
def decision_close_page(request: HttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(ReviewDecision, pk=pk)
    form = DecisionCloseForm(request.POST)
    back = request.POST.get("period", "")
    if form.is_valid():
        try:
            decision_close(
                actor=request.user,
                decision=decision,
                outcome=form.cleaned_data["outcome"],
                expected_version=form.cleaned_data["version"],
            )
        except DomainError as refused:
            messages.error(request, f"Not closed: {refused.message}")
        else:
            messages.success(request, "Decision closed.")
    else:
        messages.error(request, "Not closed: the form was incomplete; reload and try again.")
    query = f"?period={back}" if back and len(back) <= 32 else ""
    return redirect(f"{reverse('sla:review')}{query}#decisions")


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


@login_required
@require_POST
def absence_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        absence_cancel(actor=request.user, absence=pk)
    except DomainError as error:
        messages.error(request, f"Not cancelled: {error.message}")
    else:
        messages.success(request, "Absence cancelled.")
    return redirect("sla:availability")


@login_required
@require_POST
def availability_settings(request: HttpRequest, user_id: int) -> HttpResponse:
    """A manager sets one rep's working hours and capacity."""
    if not request.user.is_manager:
        raise PermissionDenied("Only managers set working hours and capacity.")
    calendars = list(BusinessCalendar.objects.values_list("pk", "name"))
    form = AvailabilityForm(request.POST, calendars=calendars)
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label}: {' '.join(errs)}" for name, errs in form.errors.items()
        )
        messages.error(request, f"Not saved: {problems}")
        return redirect("sla:availability")
    try:
        saved = availability_set(actor=request.user, rep=user_id, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, f"Not saved: {error.message}")
    else:
        messages.success(request, f"Saved {saved.user.display_name}'s hours and capacity.")
    return redirect("sla:availability")
