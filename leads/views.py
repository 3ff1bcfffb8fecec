"""Browser pages for leads. Thin: read through selectors, write through the services.

A refused change (DomainError) becomes a message on the page, never an error page. Forms
posted with htmx get the lead's panel back in place; without JavaScript they redirect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.csv_files import CSV_CONTENT_TYPE, csv_lines
from crm.errors import DomainError, ErrorCode
from crm.forms import show_refusal
from crm.models import Role, User
from leads import forms, permissions
from leads.definitions import definition_diff
from leads.filters import (
    DUE_ORDERING,
    LIST_SORTS,
    SORTABLE_COLUMNS,
    LeadFilter,
    LeadFilterSet,
)
from leads.lifecycle import STAGE_OWNER, Stage, Transition, available_moves
from leads.models import (
    Campaign,
    ImportJob,
    Lead,
    Persona,
    Reason,
    SavedView,
    StageDefinition,
)
from leads.pagination import lead_page
from leads.periods import Period
from leads.search import MIN_SUGGESTION_TERM, clean_term
from leads.selectors import bounded_count, lead_export_rows, lead_suggestions
from leads.services import imports
from leads.services.activities import activity_log
from leads.services.assignment import suggested_sales_rep
from leads.services.bulk import leads_bulk_transition
from leads.services.campaigns import (
    EDITABLE,
    campaign_archive,
    campaign_create,
    campaign_spend_record,
    campaign_update,
)
from leads.services.catalog import definition_publish, persona_create, persona_update
from leads.services.leads import LeadInput, lead_create, lead_update
from leads.services.saved_views import clean_query, saved_view_create, saved_view_delete
from leads.services.transitions import lead_transition
from sla.metrics.catalogue import CATALOGUE
from sla.metrics.compute import Figures, MetricFilter, campaign_figures, campaign_months
from sla.models import Commitment, SlaPolicy
from sla.selectors import clocks_for_lead, most_urgent_of, urgency_by_lead, with_due_order
from sla.wording import (
    commitment_in_words,
    in_lifecycle_order,
    policy_in_words,
    routing_in_words,
)

# Saved views of the list: a name, a label and the filter they add.
SAVED_VIEWS: dict[str, str] = {
    "waiting": "Waiting for my acceptance",
    "mine": "My open leads",
    "recycled": "Recycled to marketing",
    "at_risk": "SLA at risk or past due",
}
# The built-in views each role is offered as a chip (any of them still opens by its URL).
VIEWS_FOR_ROLE: dict[str, tuple[str, ...]] = {
    Role.SALES_REP: ("waiting", "mine", "at_risk"),
    Role.MARKETER: ("mine", "recycled", "at_risk"),
    Role.MANAGER: ("waiting", "mine", "recycled", "at_risk"),
}
# Views about the SLA open most urgent first unless another order is asked for.
URGENT_VIEWS = frozenset({"waiting", "at_risk"})


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _catalog_choices(
    keep_campaign: int | None = None,
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Campaigns and personas to pick from: archived campaigns only where already chosen."""
    live = Q(archived_at__isnull=True) | Q(pk=keep_campaign)
    campaigns = list(Campaign.objects.filter(live).order_by("name").values_list("pk", "name"))
    personas = list(Persona.objects.order_by("name").values_list("pk", "name"))
    return campaigns, personas


def _is_small_id(raw: str) -> bool:
    """A posted id the database can hold (a 30-digit number must not reach the ORM)."""
    return raw.isdigit() and len(raw) < 12


def _message_for(error: DomainError) -> str:
    prefix = {
        ErrorCode.FORBIDDEN: "Not allowed: ",
        ErrorCode.STALE: "Not saved: ",
    }.get(error.code, "")
    return prefix + error.message


# ---------------------------------------------------------------- list


# What a row of the list shows and its keyset cursor needs; the rest of a lead (history
# fields, criteria JSON) and of its owner is not read for the list.
LIST_ROW_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "company",
    "stage",
    "accepted_at",
    "created_at",
    "version",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
    "campaign__name",
    "persona__name",
)


def _people() -> list[tuple[int, str, str, str, str]]:
    """Everyone active who may own a lead: (id, username, first name, last name, role), read
    once for the list's owner filter and its bulk actions' reps."""
    rows = User.objects.filter(is_active=True).exclude(role=Role.INTEGRATION)
    return list(rows.values_list("pk", "username", "first_name", "last_name", "role"))


def _filter_options(
    params: QueryDict, people: list[tuple[int, str, str, str, str]], *, whole_page: bool
) -> dict[str, list[tuple[str, str]]]:
    """The owner, campaign and persona options of the list's filter, ids as the form sends
    them. Campaigns and personas are read when the whole page shows their select, or when an
    id was chosen in it (to check that id)."""

    def options(param: str, rows: QuerySet) -> list[tuple[str, str]]:
        return [(str(pk), label) for pk, label in rows] if whole_page or params.get(param) else []

    return {
        "owners": [(str(pk), username) for pk, username, *_ in sorted(people, key=lambda p: p[1])],
        "campaigns": options("campaign", Campaign.objects.values_list("pk", "name")),
        "personas": options("persona", Persona.objects.values_list("pk", "name")),
    }


def _sort_links(ordering: str) -> dict[str, tuple[str, str]]:
    """Each sortable column's link (the order a click asks for) and its aria-sort."""
    links = {}
    for column, (first, second) in SORTABLE_COLUMNS.items():
        if ordering in (first, second):
            shown = "descending" if ordering.startswith("-") else "ascending"
            links[column] = (second if ordering == first and second else first, shown)
        else:
            links[column] = (first, "none")
    return links


def _my_views(user: User, query: str) -> list[dict[str, Any]]:
    """The person's saved views as chips; the one whose filters are on screen is current."""
    try:
        current = clean_query(query)
    except DomainError:  # filters too long to have been saved: no chip is current
        current = None
    return [
        {"view": view, "current": view.query == current}
        for view in SavedView.objects.filter(user=user).order_by("name", "id")
    ]


def _saved_view(queryset: Any, view: str, user: User) -> Any:
    if view == "waiting":
        queryset = queryset.waiting_for_acceptance()
        return queryset if user.is_manager else queryset.filter(owner=user)
    if view == "mine":
        return queryset.open().filter(owner=user)
    if view == "recycled":
        return queryset.filter(stage=Stage.NURTURE)
    if view == "at_risk":
        return queryset.filter(_clock_needs_attention(timezone.now()))
    return queryset


def _clock_needs_attention(now: Any) -> Exists:
    """A lead with an SLA clock at risk or past due whose goal is still awaited."""
    from sla.models import SlaClock

    return Exists(SlaClock.objects.needs_attention(now).filter(lead=OuterRef("pk")).order_by())


def _listed(
    request: HttpRequest, people: list[tuple[int, str, str, str, str]], *, whole_page: bool
) -> tuple[LeadFilter, QuerySet, str, str]:
    """The list's filter, its leads (filtered, not yet ordered), the order and the built-in
    view asked for: shared by the page and its CSV export."""
    view = request.GET.get("view", "")
    if view not in SAVED_VIEWS:
        view = ""
    base = Lead.objects.select_related("owner", "campaign", "persona").only(*LIST_ROW_FIELDS)
    lead_filter = LeadFilter(
        request.GET,
        queryset=_saved_view(base, view, request.user),
        **_filter_options(request.GET, people, whole_page=whole_page),
    )
    queryset = lead_filter.qs if lead_filter.is_valid() else base.none()
    ordering = request.GET.get("ordering", "")
    if ordering not in LIST_SORTS:
        ordering = DUE_ORDERING if view in URGENT_VIEWS else "-created_at"
    return lead_filter, queryset, ordering, view


def _bulk_choices(user: User, people: list[tuple[int, str, str, str, str]]) -> dict[str, Any]:
    """The bulk actions the list offers this person (the services still decide per lead)."""
    offers = {
        "reassign": user.role in {Role.MANAGER, Role.SALES_REP},
        "hand_off": permissions.can_create_lead(user) and user.role != Role.INTEGRATION,
    }
    reps: list[tuple[int, str]] = []
    if any(offers.values()):
        reps = [
            (pk, f"{first} {last}".strip() or username)
            for pk, username, first, last, role in sorted(people, key=lambda p: (p[2], p[1]))
            if role == Role.SALES_REP
        ]
    return {**offers, "reps": reps}


@login_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    people = _people()
    lead_filter, queryset, ordering, view = _listed(
        request, people, whole_page=not _is_htmx(request)
    )
    total, more = bounded_count(queryset)
    if ordering == DUE_ORDERING:
        queryset = with_due_order(queryset)
    page = lead_page(
        queryset,
        after=request.GET.get("after", "")[:200],
        before=request.GET.get("before", "")[:200],
        sort=LIST_SORTS[ordering],
    )
    urgency = urgency_by_lead([lead.pk for lead in page.leads], timezone.now())
    for lead in page.leads:
        lead.urgency = urgency.get(lead.pk)
    kept = request.GET.copy()
    for key in ("after", "before"):
        kept.pop(key, None)
    unsorted = kept.copy()
    unsorted.pop("ordering", None)
    context = {
        "ordering": ordering,
        "sorts": [(key, sort.label) for key, sort in LIST_SORTS.items()],
        "columns": _sort_links(ordering),
        "unsorted_query": unsorted.urlencode(),
        "total": total,
        "more": more,
        # The chips are in the whole page only, not in the results htmx swaps in.
        "my_views": [] if _is_htmx(request) else _my_views(request.user, kept.urlencode()),
        "filter": lead_filter,
        "page": page,
        "view": view,
        "saved_views": [
            (key, SAVED_VIEWS[key]) for key in VIEWS_FOR_ROLE.get(request.user.role, ())
        ],
        "query": kept.urlencode(),
        "can_create": permissions.can_create_lead(request.user),
        "bulk": _bulk_choices(request.user, people),
        "back": request.get_full_path(),
    }
    template = "leads/_list_results.html" if _is_htmx(request) else "leads/list.html"
    return render(request, template, context)


def _csv_download(leads: QuerySet, name: str) -> StreamingHttpResponse:
    """Leads as a CSV download, streamed, times in the reader's zone."""
    zone = timezone.get_current_timezone()  # read now: the zone is reset before streaming
    rows = lead_export_rows(leads, zone=zone)
    response = StreamingHttpResponse(csv_lines(rows), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def lead_export(request: HttpRequest) -> HttpResponse:
    """The whole filtered list as CSV, in the list's order (everyone signed in reads every
    lead, so anyone may export what the list shows)."""
    _, queryset, ordering, _ = _listed(request, _people(), whole_page=False)
    if ordering == DUE_ORDERING:
        queryset = with_due_order(queryset)
    sort = LIST_SORTS[ordering]
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    return _csv_download(queryset.order_by(*sort.order_by()), f"leads-{stamp}.csv")


BULK_DONE = {
    Transition.REASSIGN: ("reassigned", "Not reassigned"),
    Transition.HAND_OFF: ("handed off to sales", "Not handed off"),
}


@login_required
@require_POST
def leads_bulk(request: HttpRequest) -> HttpResponse:
    """The list's bulk actions on the ticked leads: reassign, hand off, export as CSV."""
    back = request.POST.get("next", "")
    if not (back and url_has_allowed_host_and_scheme(back, allowed_hosts=None)):
        back = reverse("leads:list")
    form = forms.BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(back)
    action = form.cleaned_data["action"]
    ids = form.cleaned_data["lead"]
    if action == "export":
        leads = Lead.objects.filter(pk__in=ids).order_by("last_name", "first_name", "id")
        stamp = timezone.localtime().strftime("%Y-%m-%d")
        return _csv_download(leads, f"leads-selected-{stamp}.csv")
    versions = {pk: form.version_of(pk) for pk in ids}
    if action == Transition.REASSIGN:
        params = {
            "assignee": form.cleaned_data["reassign_to"],
            "reason": form.cleaned_data["reason"],
        }
    else:
        params = {"assignee": form.cleaned_data["hand_off_to"]}
    try:
        outcomes = leads_bulk_transition(
            actor=request.user, transition=action, versions=versions, params=params
        )
    except DomainError as error:
        messages.error(request, _message_for(error))
        return redirect(back)
    done_words, refused_words = BULK_DONE[action]
    done = [o.name for o in outcomes if o.done]
    if done:
        messages.success(
            request,
            f"{len(done)} lead{'s' if len(done) != 1 else ''} {done_words}: {', '.join(done)}.",
        )
    for outcome in outcomes:
        if not outcome.done:
            messages.error(request, f"{refused_words} — {outcome.name}: {outcome.error}")
    return redirect(back)


@login_required
@require_GET
def lead_jump(request: HttpRequest) -> HttpResponse:
    """Suggestions for the header's jump-to-lead box: the same search as the list's `q`,
    ranked, read by everyone signed in like the list, from the third character typed. A term
    the list would refuse is a 400 whose message the box shows in place of suggestions."""
    raw = request.GET.get("q", "")
    try:
        term = LeadFilterSet.base_filters["q"].field.clean(raw)
    except ValidationError as error:
        context = {"error": " ".join(error.messages), "term": ""}
        return render(request, "leads/_jump_results.html", context, status=400)
    term = clean_term(term)
    if len(term) < MIN_SUGGESTION_TERM:
        context = {"term": term, "too_short": bool(term), "min_length": MIN_SUGGESTION_TERM}
        return render(request, "leads/_jump_results.html", context)
    context = {"term": term, "leads": lead_suggestions(term=term)}
    return render(request, "leads/_jump_results.html", context)


@login_required
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    """Save the list on screen under a name; the chip appears beside the built-in views."""
    query = request.POST.get("query", "")[:2000]
    try:
        view = saved_view_create(actor=request.user, name=request.POST.get("name", ""), query=query)
    except DomainError as error:
        messages.error(request, f"View not saved: {error.message}")
        if error.field == "query":
            return redirect("leads:list")
        return redirect(f"{reverse('leads:list')}?{clean_query(query)}")
    messages.success(request, f"View “{view.name}” saved.")
    return redirect(f"{reverse('leads:list')}?{view.query}")


@login_required
@require_POST
def saved_view_remove(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        saved_view_delete(actor=request.user, view_id=pk)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "View deleted.")
    return redirect("leads:list")


# ---------------------------------------------------------------- detail and actions


@dataclass
class Posted:
    """An action form that did not save: what the person typed, and the service's refusal."""

    action: str
    data: QueryDict
    error: DomainError | None = None


# The lead's fields the edit form changes, as the conflict view compares them.
EDITED_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "company",
    "job_title",
    "phone",
    "campaign",
    "persona",
    "estimated_value",
    "next_step",
    "next_step_due",
)


def _conflict(form: forms.LeadEditForm, lead: Lead) -> list[dict[str, Any]]:
    """The fields where the person's edit and the lead as it now stands differ."""
    names = {
        "campaign": dict(form.fields["campaign"].choices),
        "persona": dict(form.fields["persona"].choices),
    }
    rows = []
    for name in EDITED_FIELDS:
        field = form.fields[name]
        try:
            yours = field.clean(form.data.get(name, ""))
        except ValidationError:
            yours = form.data.get(name, "")
        current = getattr(lead, f"{name}_id" if name in names else name)
        if (yours or None) == (current or None):
            continue
        if name in names:
            yours, current = names[name].get(yours), names[name].get(current)
        rows.append(
            {
                "label": field.label or name.replace("_", " ").capitalize(),
                "yours": yours,
                "current": current,
            }
        )
    return rows


def _detail_context(
    request: HttpRequest, lead: Lead, posted: Posted | None = None
) -> dict[str, Any]:
    def data_for(action: str) -> QueryDict | None:
        return posted.data if posted and posted.action == action else None

    now = timezone.now()
    definition = (
        StageDefinition.objects.filter(stage=Stage.QUALIFIED, is_current=True)
        .prefetch_related("criteria")
        .first()
    )
    criteria = list(definition.criteria.all()) if definition else []
    events = list(lead.events.select_related("actor").order_by("-created_at", "-id")[:200])
    activities = {a.pk: a for a in lead.activities.select_related("actor")[:200]}
    reasons = list(Reason.objects.filter(active=True).values_list("pk", "kind", "label"))
    reps = list(
        User.objects.filter(role=Role.SALES_REP, is_active=True)
        .order_by("first_name", "username")
        .values_list("pk", "first_name", "last_name", "username")
    )
    rep_choices = [(pk, f"{f} {la}".strip() or u) for pk, f, la, u in reps]
    campaigns, personas = _catalog_choices(lead.campaign_id)
    # What the round robin would do now, only where a hand-off is on offer.
    suggestion = (
        suggested_sales_rep(now=now) if "hand_off" in available_moves(lead) and reps else None
    )

    def reason_form(kind: str, action: str, prefix: str) -> forms.ReasonForm:
        return forms.ReasonForm(
            data_for(action),
            initial=version,
            reasons=[(pk, label) for pk, k, label in reasons if k == kind],
            auto_id=f"{prefix}_%s",
        )

    version = {"version": lead.version}
    edit_initial = {name: getattr(lead, name) for name in EDITED_FIELDS}
    edit_initial.update(campaign=lead.campaign_id, persona=lead.persona_id, **version)
    conflict: list[dict[str, Any]] = []
    edit_data = data_for("edit")
    if edit_data is not None and posted.error and posted.error.code == ErrorCode.STALE:
        # The person's edit, carried over onto the lead as it now stands: saving it again
        # re-applies theirs over the current version, knowingly.
        edit_data = edit_data.copy()
        edit_data["version"] = str(lead.version)
    clocks = clocks_for_lead(lead_id=lead.pk, now=now)
    timeline = []
    for event in events:
        activity = None
        if event.kind == "activity":
            activity = activities.get((event.changes or {}).get("activity_id"))
        routing = routing_in_words((event.changes or {}).get("routing"))
        timeline.append({"event": event, "activity": activity, "routing": routing})
    action_forms = {
        "edit": forms.LeadEditForm(
            edit_data,
            initial=edit_initial,
            campaigns=campaigns,
            personas=personas,
            auto_id="edit_%s",
        ),
        "hand_off": forms.HandOffForm(
            data_for(Transition.HAND_OFF),
            initial={**version, "criteria": lead.criteria_to_tick()},
            auto_id="handoff_%s",
            reps=rep_choices,
            suggestion=suggestion.chosen.display_name if suggestion and suggestion.chosen else "",
            suggestion_why=routing_in_words(suggestion.as_json()) if suggestion else "",
            criteria=[(c.key, c.label + ("" if c.required else " (optional)")) for c in criteria],
        ),
        "reject": reason_form(Reason.Kind.REJECT, Transition.REJECT, "reject"),
        "lose": reason_form(Reason.Kind.LOST, Transition.LOSE, "lost"),
        "disqualify": reason_form(Reason.Kind.DISQUALIFY, Transition.DISQUALIFY, "disqualify"),
        "to_opportunity": forms.OpportunityForm(
            data_for(Transition.TO_OPPORTUNITY),
            auto_id="opportunity_%s",
            initial={
                **version,
                "estimated_value": lead.estimated_value,
                "next_step": lead.next_step,
                "next_step_due": lead.next_step_due,
            },
        ),
        "reassign": forms.ReassignForm(
            data_for(Transition.REASSIGN),
            initial=version,
            auto_id="reassign_%s",
            reps=[(pk, name) for pk, name in rep_choices if pk != lead.owner_id],
        ),
        "version": forms.VersionForm(initial=version),
        "activity": forms.ActivityForm(data_for("activity"), auto_id="activity_%s"),
    }
    if posted and posted.action in action_forms:
        shown = action_forms[posted.action]
        shown.is_valid()  # the typed values come back with their errors
        if posted.error and posted.error.code == ErrorCode.STALE and posted.action == "edit":
            conflict = _conflict(shown, lead)
        elif posted.error:
            show_refusal(shown, posted.error, renamed={"version": ""})
    return {
        "lead": lead,
        "definition": definition,
        "criteria": [{"criterion": c, "met": c.key in (lead.criteria_met or [])} for c in criteria],
        "timeline": timeline,
        "can_edit": permissions.can_edit_lead(request.user, lead),
        "actions": available_moves(lead),
        "clocks": clocks,
        "urgency": most_urgent_of(clocks, now),
        "now": now,
        "open_action": posted.action if posted else "",
        "conflict": conflict,
        "forms": action_forms,
    }


def _load_lead(pk: int) -> Lead:
    return get_object_or_404(
        Lead.objects.select_related(
            "owner",
            "campaign",
            "persona",
            "created_by",
            "accepted_by",
            "reason",
            "qualified_definition",
        ),
        pk=pk,
    )


@login_required
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _load_lead(pk)
    return render(request, "leads/detail.html", _detail_context(request, lead))


def _form_errors(form: Any) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ") if name in form.fields else ""
        parts.append(f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return "Please correct: " + "; ".join(parts)


ACTION_SUCCESS = {
    Transition.ACCEPT: "Lead accepted.",
    Transition.HAND_OFF: "Lead handed off to sales.",
    Transition.REJECT: "Lead rejected back to marketing's nurture.",
    Transition.TO_OPPORTUNITY: "Lead moved to opportunity.",
    Transition.WIN: "Marked won.",
    Transition.LOSE: "Marked lost.",
    Transition.RECYCLE: "Recycled to marketing's nurture.",
    Transition.DISQUALIFY: "Lead disqualified.",
    Transition.RE_ENGAGE: "Lead re-engaged.",
    Transition.REASSIGN: "Lead reassigned.",
}


def _run_action(request: HttpRequest, lead: Lead, action: str) -> Posted | None:
    """Validate the posted form and call the service; None when saved, else what was posted
    (the page shows it again). A refusal by the service is raised as DomainError."""
    data = request.POST
    if action == "edit":
        campaigns, personas = _catalog_choices(lead.campaign_id)
        form = forms.LeadEditForm(data, campaigns=campaigns, personas=personas, auto_id="edit_%s")
        if not form.is_valid():
            messages.error(request, _form_errors(form))
            return Posted(action, data)
        fields = dict(form.cleaned_data)
        version = fields.pop("version")
        lead_update(lead=lead, actor=request.user, fields=fields, expected_version=version)
        messages.success(request, "Changes saved.")
        return None
    if action == "activity":
        form = forms.ActivityForm(data)
        if not form.is_valid():
            messages.error(request, _form_errors(form))
            return Posted(action, data)
        activity = activity_log(
            lead=lead,
            actor=request.user,
            kind=form.cleaned_data["kind"],
            summary=form.cleaned_data["summary"],
            # Left empty, the lead's next step stays as it was.
            next_step=form.cleaned_data["next_step"] or None,
            next_step_due=form.cleaned_data["next_step_due"],
        )
        messages.success(request, f"{activity.get_kind_display()} logged.")
        return None
    if action not in ACTION_SUCCESS:
        raise Http404("Unknown action.")
    params: dict[str, Any] = {}
    if action == Transition.HAND_OFF:
        form = forms.HandOffForm(
            data,
            reps=[(int(chosen), "")] if _is_small_id(chosen := data.get("assignee", "")) else [],
            criteria=[(key, key) for key in data.getlist("criteria")],
        )
        if form.is_valid():
            params = {
                "assignee": form.cleaned_data["assignee"],
                "criteria": form.cleaned_data["criteria"],
            }
    elif action in {Transition.REJECT, Transition.LOSE, Transition.DISQUALIFY}:
        chosen = data.get("reason", "")
        form = forms.ReasonForm(data, reasons=[(int(chosen), "")] if _is_small_id(chosen) else [])
        if form.is_valid():
            params = {"reason": form.cleaned_data["reason"], "note": form.cleaned_data["note"]}
    elif action == Transition.REASSIGN:
        chosen = data.get("assignee", "")
        form = forms.ReassignForm(
            data,
            auto_id="reassign_%s",
            reps=[(int(chosen), "")] if _is_small_id(chosen) else [],
        )
        if form.is_valid():
            params = {
                "assignee": form.cleaned_data["assignee"],
                "reason": form.cleaned_data["reason"],
            }
    elif action == Transition.TO_OPPORTUNITY:
        form = forms.OpportunityForm(data)
        if form.is_valid():
            params = {
                "estimated_value": form.cleaned_data["estimated_value"],
                "next_step": form.cleaned_data["next_step"],
                "next_step_due": form.cleaned_data["next_step_due"],
            }
    else:
        form = forms.VersionForm(data)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return Posted(action, data)
    lead_transition(
        lead=lead,
        actor=request.user,
        transition=action,
        params=params,
        expected_version=form.cleaned_data["version"],
    )
    messages.success(request, ACTION_SUCCESS[action])
    return None


@login_required
@require_POST
def lead_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    try:
        posted = _run_action(request, lead, action)
    except DomainError as error:
        messages.error(request, _message_for(error))
        posted = Posted(action, request.POST, error)
    if not _is_htmx(request):
        back = request.POST.get("next", "")
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
            return redirect(back)  # a quick action from another page returns there
        if posted is None:
            return redirect("leads:detail", pk=pk)
        fresh = _load_lead(pk)
        return render(request, "leads/detail.html", _detail_context(request, fresh, posted))
    fresh = _load_lead(pk)
    return render(request, "leads/_detail_body.html", _detail_context(request, fresh, posted))


# ---------------------------------------------------------------- create


@login_required
@require_http_methods(["GET", "POST"])
def lead_new(request: HttpRequest) -> HttpResponse:
    if not permissions.can_create_lead(request.user):
        raise PermissionDenied("Only marketing and managers create leads.")
    campaigns, personas = _catalog_choices()
    form = forms.LeadCreateForm(request.POST or None, campaigns=campaigns, personas=personas)
    existing_id: int | None = None
    if request.method == "POST" and form.is_valid():
        try:
            lead = lead_create(actor=request.user, data=LeadInput(**form.cleaned_data))
        except DomainError as error:
            if error.field in form.fields:
                form.add_error(error.field, error.message)
            else:
                form.add_error(None, error.message)
            existing_id = error.existing_id
        else:
            messages.success(request, "Lead created.")
            return redirect("leads:detail", pk=lead.pk)
    return render(request, "leads/new.html", {"form": form, "existing_id": existing_id})


# ---------------------------------------------------------------- import


def _require_importer(user: User) -> None:
    if not permissions.can_create_lead(user):
        raise PermissionDenied("Only marketing and managers import leads.")


def _own_job(request: HttpRequest, pk: int) -> ImportJob:
    _require_importer(request.user)
    job = get_object_or_404(ImportJob, pk=pk)
    if job.created_by_id != request.user.id and not request.user.is_manager:
        raise PermissionDenied("This import belongs to someone else.")
    return job


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    _require_importer(request.user)
    form = forms.ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > imports.MAX_IMPORT_BYTES:
            form.add_error("file", "The file is larger than 5 MB; split it.")
        else:
            try:
                job = imports.import_upload(
                    actor=request.user, filename=upload.name, raw=upload.read()
                )
            except DomainError as error:
                form.add_error("file", error.message)
            else:
                return redirect("leads:import_mapping", pk=job.pk)
    recent = ImportJob.objects.filter(created_by=request.user).defer("content", "errors")[:5]
    return render(request, "leads/import_upload.html", {"form": form, "recent": recent})


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    if job.status != ImportJob.Status.MAPPING:
        return redirect("leads:import_progress", pk=job.pk)
    form = forms.ImportMappingForm(request.POST or None, headers=job.headers, initial=job.mapping)
    if request.method == "POST" and form.is_valid():
        try:
            imports.import_start(job=job, actor=request.user, mapping=form.cleaned_data)
        except DomainError as error:
            show_refusal(form, error)
        else:
            return redirect("leads:import_progress", pk=job.pk)
    return render(request, "leads/import_mapping.html", {"job": job, "form": form})


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    context = {"job": job, "first_errors": job.errors[:20]}
    template = "leads/_import_progress.html" if _is_htmx(request) else "leads/import_progress.html"
    return render(request, template, context)


@login_required
@require_POST
def import_requeue(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the task again when the broker was down at upload (a second run is harmless)."""
    job = _own_job(request, pk)
    if job.status in {ImportJob.Status.QUEUED, ImportJob.Status.RUNNING}:
        imports.import_requeue(job=job)
        messages.info(request, "Import sent to the worker again.")
    return redirect("leads:import_progress", pk=job.pk)


@login_required
@require_GET
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    response = HttpResponse(imports.import_error_report(job), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


# ---------------------------------------------------------------- shared vocabulary


@login_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Spend against results per campaign and in total, all time: the campaign metrics."""
    everything = MetricFilter(period=Period.last_days(None, timezone.now()))
    rows, total = campaign_figures(everything, list(Campaign.objects.order_by("name")))
    return render(
        request,
        "leads/campaigns.html",
        {
            "rows": rows,
            "total": Figures(total),
            "can_manage": permissions.can_manage_catalog(request.user),
        },
    )


def _require_catalog_manager(user: User) -> None:
    if not permissions.can_manage_catalog(user):
        raise PermissionDenied("Only marketing and managers manage campaigns.")


@login_required
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One campaign: its figures, spend month by month, and its history."""
    campaign = get_object_or_404(Campaign, pk=pk)
    return render(request, "leads/campaign_detail.html", _campaign_context(request, campaign))


def _campaign_context(
    request: HttpRequest, campaign: Campaign, spend_form: Any = None
) -> dict[str, Any]:
    everything = MetricFilter(period=Period.last_days(None, timezone.now()))
    (row,), _ = campaign_figures(everything, [campaign])
    return {
        "campaign": campaign,
        "row": row,
        "months": campaign_months(campaign),
        "events": campaign.events.select_related("actor")[:50],
        "can_manage": permissions.can_manage_catalog(request.user),
        "spend_form": spend_form
        or forms.SpendForm(initial={"month": timezone.localdate().replace(day=1)}),
    }


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    _require_catalog_manager(request.user)
    form = forms.CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaign_create(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            show_refusal(form, error, message=_message_for(error))
        else:
            messages.success(request, "Campaign created.")
            return redirect("leads:campaign", pk=campaign.pk)
    return render(request, "leads/campaign_form.html", {"form": form, "campaign": None})


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_catalog_manager(request.user)
    campaign = get_object_or_404(Campaign, pk=pk)
    initial = {name: getattr(campaign, name) for name in EDITABLE}
    form = forms.CampaignEditForm(
        request.POST or None, initial={**initial, "version": campaign.version}
    )
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        version = fields.pop("version")
        try:
            campaign_update(
                actor=request.user, campaign=campaign, expected_version=version, **fields
            )
        except DomainError as error:
            show_refusal(form, error, message=_message_for(error))
        else:
            messages.success(request, "Campaign saved.")
            return redirect("leads:campaign", pk=campaign.pk)
    return render(request, "leads/campaign_form.html", {"form": form, "campaign": campaign})


@login_required
@require_POST
def campaign_spend(request: HttpRequest, pk: int) -> HttpResponse:
    _require_catalog_manager(request.user)
    campaign = get_object_or_404(Campaign, pk=pk)
    form = forms.SpendForm(request.POST)
    if form.is_valid():
        try:
            campaign_spend_record(actor=request.user, campaign=campaign, **form.cleaned_data)
        except DomainError as error:
            show_refusal(form, error, message=_message_for(error))
        else:
            month = form.cleaned_data["month"]
            messages.success(request, f"Spend for {month:%B %Y} recorded.")
            return redirect("leads:campaign", pk=campaign.pk)
    campaign.refresh_from_db()
    context = _campaign_context(request, campaign, spend_form=form)
    return render(request, "leads/campaign_detail.html", context, status=400)


@login_required
@require_POST
def campaign_archive_page(request: HttpRequest, pk: int) -> HttpResponse:
    _require_catalog_manager(request.user)
    campaign = get_object_or_404(Campaign, pk=pk)
    archived = request.POST.get("archived") != "0"
    campaign_archive(actor=request.user, campaign=campaign, archived=archived)
    messages.success(request, "Campaign archived." if archived else "Campaign restored.")
    return redirect("leads:campaign", pk=campaign.pk)


@login_required
@require_GET
def definitions(request: HttpRequest) -> HttpResponse:
    """The shared answer to "what is a lead": current definitions, criteria and personas."""
    current = {
        d.stage: d
        for d in StageDefinition.objects.filter(is_current=True).prefetch_related("criteria")
    }
    stages = [
        {
            "stage": stage,
            "label": label,
            "owner_team": STAGE_OWNER[stage],
            "definition": current.get(stage),
        }
        for stage, label in Stage.choices
    ]
    policies = in_lifecycle_order(SlaPolicy.objects.filter(active=True).select_related("calendar"))
    commitments = Commitment.objects.filter(active=True)
    promises = {
        "policies": [{"policy": p, "words": policy_in_words(p)} for p in policies],
        "commitments": [{"commitment": c, "words": commitment_in_words(c)} for c in commitments],
    }
    return render(
        request,
        "leads/definitions.html",
        {
            "stages": stages,
            "personas": Persona.objects.order_by("name"),
            "promises": promises,
            "metrics": CATALOGUE,
            "currency": settings.CURRENCY,
            "time_zone": settings.TIME_ZONE,
            "can_publish": permissions.can_manage_definitions(request.user),
            "can_manage_personas": permissions.can_manage_catalog(request.user),
        },
    )


def _stage_or_404(stage: str) -> str:
    if stage not in Stage.values:
        raise Http404("Unknown stage.")
    return stage


def _version_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "")
    return int(raw) if _is_small_id(raw) else None


@login_required
@require_GET
def definition_history(request: HttpRequest, stage: str) -> HttpResponse:
    """Every version of one stage's definition, and what changed between any two of them."""
    _stage_or_404(stage)
    versions = list(
        StageDefinition.objects.filter(stage=stage)
        .select_related("created_by")
        .prefetch_related("criteria")
        .order_by("-version")
    )
    by_number = {d.version: d for d in versions}
    newest = versions[0].version if versions else 0
    new = _version_param(request, "b") or newest
    old = _version_param(request, "a") or max(new - 1, 1)
    diff = None
    if old in by_number and new in by_number and old != new:
        diff = definition_diff(by_number[old], by_number[new])
    return render(
        request,
        "leads/definition_history.html",
        {
            "stage": stage,
            "stage_label": Stage(stage).label,
            "versions": versions,
            "old": old,
            "new": new,
            "diff": diff,
            "can_publish": permissions.can_manage_definitions(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def definition_new_version(request: HttpRequest, stage: str) -> HttpResponse:
    """A manager writes version n+1, starting from the current one."""
    _stage_or_404(stage)
    if not permissions.can_manage_definitions(request.user):
        raise PermissionDenied("Only managers publish definitions.")
    current = (
        StageDefinition.objects.filter(stage=stage, is_current=True)
        .prefetch_related("criteria")
        .first()
    )
    data = request.POST if request.method == "POST" else None
    form = forms.DefinitionForm(
        data,
        initial={
            "based_on": current.version if current else 0,
            "title": current.title if current else Stage(stage).label,
            "description": current.description if current else "",
        },
    )
    # Rows start from the current criteria; a posted row is read as posted (compared with
    # these, an unchanged row would count as empty and be dropped).
    criteria = forms.CriterionFormSet(
        data,
        prefix="criteria",
        initial=None
        if data is not None
        else [
            {"key": c.key, "label": c.label, "required": c.required}
            for c in (current.criteria.all() if current else [])
        ],
    )
    if data is not None and form.is_valid() and criteria.is_valid():
        kept = [
            row
            for row in criteria.cleaned_data
            if row and not row.get("remove") and (row.get("label") or row.get("key"))
        ]
        try:
            published = definition_publish(
                actor=request.user,
                stage=stage,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                criteria=[
                    {"key": r["key"], "label": r["label"], "required": r["required"]} for r in kept
                ],
                based_on=form.cleaned_data["based_on"],
            )
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"Version {published.version} published.")
            url = reverse("leads:definition_history", args=[stage])
            return redirect(f"{url}?a={published.version - 1}&b={published.version}")
    return render(
        request,
        "leads/definition_form.html",
        {
            "stage": stage,
            "stage_label": Stage(stage).label,
            "current": current,
            "form": form,
            "criteria": criteria,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def persona_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Marketing and managers add or reword a persona (an ideal customer profile)."""
    if not permissions.can_manage_catalog(request.user):
        raise PermissionDenied("Only marketing and managers manage personas.")
    persona = get_object_or_404(Persona, pk=pk) if pk is not None else None
    initial = {"name": persona.name, "description": persona.description} if persona else {}
    form = forms.PersonaForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if persona is None:
                persona_create(actor=request.user, **form.cleaned_data)
            else:
                persona_update(actor=request.user, persona=persona, **form.cleaned_data)
        except DomainError as error:
            show_refusal(form, error, message=_message_for(error))
        else:
            messages.success(request, "Persona saved.")
            return redirect("leads:definitions")
    return render(request, "leads/persona_form.html", {"form": form, "persona": persona})
