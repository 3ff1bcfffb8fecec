"""The SLA API: calendars, policies, clocks, breaches, commitments, compliance, webhooks,
and the signed-in user's notifications.

Same shape as leads/api.py: reads are viewsets scoped in `get_queryset()`, writes are small
input serializers calling sla.services (which refuse non-managers), errors are problem+json.
Keys need `sla:read` to read and `manage` to write or acknowledge.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.auth import HasScope, request_api_key
from crm.api.errors import problem_responses
from crm.api.filtering import StrictFilterBackend
from crm.api.idempotency import IDEMPOTENCY_KEY, idempotent
from crm.api.pagination import StrictCursorPagination
from crm.api.preconditions import IF_MATCH_PATTERN, version_to_meet
from crm.api.serializers import created, validated
from crm.csv_files import CSV_CONTENT_TYPE
from crm.errors import DomainError
from crm.models import ApiScope, Notification
from crm.notifications import notifications_for_user, notifications_mark_read
from crm.replica import reads_from_replica
from crm.rights import can_see_webhook_settings
from leads.periods import Period
from leads.selectors import DashboardFilters
from sla import api_serializers as s
from sla.commitments import CommitmentProgress, commitment_progress, period_bounds
from sla.filters import BreachFilterSet, ClockFilterSet
from sla.metrics.catalogue import CATALOGUE
from sla.metrics.compute import MetricFilter, metrics_summary
from sla.metrics.export import summary_rows
from sla.models import (
    Breach,
    BusinessCalendar,
    Commitment,
    ReviewDecision,
    SlaClock,
    SlaPolicy,
    WebhookEndpoint,
)
from sla.review.decisions import decision_close, decision_record
from sla.review.periods import ReviewPeriod, review_period
from sla.review.sections import FeedbackGroup, JointReview, joint_review
from sla.selectors import breach_list, breaches_csv, compliance_report
from sla.services import (
    breach_acknowledge,
    calendar_create,
    calendar_update,
    policy_create,
    policy_update,
    webhook_endpoint_create,
)

FORBIDDEN_NOT_MANAGER = problem_responses(_403="Managers only (keys: the manage scope).")


class SlaScoped:
    read_scope = ApiScope.SLA_READ
    write_scope = ApiScope.MANAGE
    pagination_class = StrictCursorPagination
    default_ordering = ("-id",)


# ---------------------------------------------------------------- calendars and policies


@extend_schema_view(
    list=extend_schema(summary="Business calendars"),
    retrieve=extend_schema(summary="A business calendar"),
)
class CalendarViewSet(
    SlaScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.CalendarSerializer

    def get_queryset(self) -> QuerySet[BusinessCalendar]:
        return BusinessCalendar.objects.all()

    @extend_schema(
        summary="Create a business calendar (managers)",
        request=s.CalendarWriteSerializer,
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "Office hours in London",
                value={
                    "name": "London office",
                    "timezone": "Europe/London",
                    "weekly_hours": {str(d): [["09:00", "17:30"]] for d in range(5)},
                    "holidays": ["2026-12-24"],
                    "holiday_country": "GB",
                    "holiday_subdivision": "ENG",
                },
                request_only=True,
            )
        ],
        responses={
            201: s.CalendarSerializer,
            **problem_responses(
                _403="Managers only (keys: the manage scope).",
                _409="Idempotency-Key still in progress.",
                _422="Idempotency-Key reused with a different body.",
            ),
        },
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = validated(s.CalendarWriteSerializer, request.data)
        calendar = calendar_create(
            actor=request.user,
            name=data["name"],
            timezone_name=data["timezone"],
            weekly_hours=data["weekly_hours"],
            holidays=[day.isoformat() for day in data.get("holidays", [])],
            holiday_country=data.get("holiday_country", ""),
            holiday_subdivision=data.get("holiday_subdivision", ""),
        )
        return created(self.get_serializer(calendar).data, location=f"{request.path}{calendar.pk}/")

    @extend_schema(
        summary="Edit a business calendar (managers); running clocks keep their due time",
        request=s.CalendarPatchSerializer,
        responses={200: s.CalendarSerializer, **FORBIDDEN_NOT_MANAGER},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        calendar = self.get_object()
        fields = validated(s.CalendarPatchSerializer, request.data)
        if "holidays" in fields:
            fields["holidays"] = [day.isoformat() for day in fields["holidays"]]
        calendar = calendar_update(actor=request.user, calendar=calendar, fields=fields)
        return Response(self.get_serializer(calendar).data)


@extend_schema_view(
    list=extend_schema(summary="SLA policies"),
    retrieve=extend_schema(summary="An SLA policy"),
)
class PolicyViewSet(
    SlaScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.PolicySerializer

    def get_queryset(self) -> QuerySet[SlaPolicy]:
        return SlaPolicy.objects.prefetch_related("escalate_to")

    @extend_schema(
        summary="Create an SLA policy (managers)",
        request=s.PolicyWriteSerializer,
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "Sales accepts within 4 business hours",
                value={
                    "name": "Accept within 4h",
                    "goal": "accept",
                    "trigger_stage": "qualified",
                    "target_seconds": 14400,
                    "accountable_team": "sales",
                    "calendar": 1,
                },
                request_only=True,
            )
        ],
        responses={
            201: s.PolicySerializer,
            **problem_responses(
                _403="Managers only (keys: the manage scope).",
                _404="The calendar or a user to escalate to does not exist.",
                _409="Idempotency-Key still in progress.",
                _422="Idempotency-Key reused with a different body.",
            ),
        },
    )
    @idempotent
    def create(self, request: Request) -> Response:
        serializer = s.PolicyWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = policy_create(actor=request.user, fields=serializer.service_fields())
        policy = self.get_queryset().get(pk=policy.pk)
        return created(self.get_serializer(policy).data, location=f"{request.path}{policy.pk}/")

    @extend_schema(
        summary="Edit an SLA policy (managers); clocks already started keep their targets",
        request=s.PolicyPatchSerializer,
        responses={200: s.PolicySerializer, **FORBIDDEN_NOT_MANAGER},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        policy = self.get_object()
        serializer = s.PolicyPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy_update(actor=request.user, policy=policy, fields=serializer.service_fields())
        policy = self.get_queryset().get(pk=policy.pk)
        return Response(self.get_serializer(policy).data)


# ---------------------------------------------------------------- clocks


class ShownStateMixin:
    """Adds `shown_state` (the state as of this request) to the clocks being serialized."""

    def with_shown_state(self, clocks: list[SlaClock], now: datetime) -> list[SlaClock]:
        for clock in clocks:
            clock.shown_state = clock.display_state(at=now)
        return clocks


@extend_schema_view(
    list=extend_schema(summary="SLA clocks", description="Filtered, cursor-paginated."),
    retrieve=extend_schema(summary="An SLA clock"),
)
class ClockViewSet(SlaScoped, ShownStateMixin, viewsets.GenericViewSet):
    serializer_class = s.ClockSerializer
    filter_backends = [StrictFilterBackend]
    filterset_class = ClockFilterSet
    orderings = {
        "-started_at": ("-started_at", "-id"),
        "started_at": ("started_at", "id"),
        "due_at": ("due_at", "id"),
        "-due_at": ("-due_at", "-id"),
    }
    default_ordering = ("-started_at", "-id")

    def get_queryset(self) -> QuerySet[SlaClock]:
        # Everyone signed in sees the whole pipeline's clocks; keys need sla:read.
        return SlaClock.objects.select_related("policy", "owner")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        clocks = self.with_shown_state(list(page), timezone.now())
        return self.get_paginated_response(self.get_serializer(clocks, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        clock = self.with_shown_state([self.get_object()], timezone.now())[0]
        return Response(self.get_serializer(clock).data)


# ---------------------------------------------------------------- breaches


class CsvRenderer(BaseRenderer):
    """Lets `Accept: text/csv` through negotiation; errors still render as JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        return json.dumps(data).encode("utf-8")


BREACH_CSV = OpenApiResponse(
    OpenApiTypes.STR, description="One row per breach, the header first (UTF-8)."
)


@extend_schema_view(
    list=extend_schema(summary="Breaches", description="Newest first, cursor-paginated."),
    retrieve=extend_schema(summary="A breach"),
)
class BreachViewSet(SlaScoped, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.BreachSerializer
    filtered_actions = ("export",)
    filter_backends = [StrictFilterBackend]
    filterset_class = BreachFilterSet
    orderings = {
        "-breached_at": ("-breached_at", "-id"),
        "breached_at": ("breached_at", "id"),
    }
    default_ordering = ("-breached_at", "-id")

    def get_queryset(self) -> QuerySet[Breach]:
        return breach_list()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Breaches as CSV (the same filters as the list, every row)",
        description="Send `Accept: text/csv` or `?format=csv`; an unknown `format` is a 404.",
        responses={
            (200, "text/csv"): BREACH_CSV,
            **problem_responses(_404="Unknown `format`."),
        },
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="export",
        pagination_class=None,
        renderer_classes=[JSONRenderer, CsvRenderer],
    )
    @method_decorator(reads_from_replica)
    def export(self, request: Request) -> StreamingHttpResponse:
        breaches = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(breaches_csv(breaches), content_type=CSV_CONTENT_TYPE)
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="breaches-{stamp}.csv"'
        return response

    @extend_schema(
        summary="Acknowledge a breach with a note (managers)",
        request=s.AcknowledgeSerializer,
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "Reviewed",
                value={"note": "Rep was on leave; reassigned the queue to Sam."},
                request_only=True,
            )
        ],
        responses={
            200: s.BreachSerializer,
            **problem_responses(
                _403="Managers only (keys: the manage scope).",
                _409="Already acknowledged, or Idempotency-Key still in progress.",
                _422="Idempotency-Key reused with a different body.",
            ),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    @idempotent
    def acknowledge(self, request: Request, pk: str) -> Response:
        breach = self.get_object()
        data = validated(s.AcknowledgeSerializer, request.data)
        breach_acknowledge(breach=breach.pk, actor=request.user, note=data["note"])
        return Response(self.get_serializer(self.get_queryset().get(pk=breach.pk)).data)


# ---------------------------------------------------------------- commitments


@extend_schema_view(
    list=extend_schema(
        summary="Marketing's commitments, with the running period's progress",
        description="Progress is live: leads handed to sales this period and how many "
        "sales accepted. Inactive commitments have `progress: null`.",
    ),
    retrieve=extend_schema(summary="A commitment, with the running period's progress"),
)
class CommitmentViewSet(
    SlaScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.CommitmentSerializer
    default_ordering = ("name", "id")

    def get_queryset(self) -> QuerySet[Commitment]:
        return Commitment.objects.all()

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        items = args[0] if args else None
        if items is not None:
            commitments = items if isinstance(items, list) else [items]
            kwargs["context"] = {**self.get_serializer_context(), "progress": progress(commitments)}
        return super().get_serializer(*args, **kwargs)


def progress(commitments: list[Commitment]) -> dict[int, CommitmentProgress]:
    """Live progress for active commitments, measured once per distinct period window.

    The numbers depend only on the window (every commitment counts the same hand-offs),
    so a page of commitments costs a query pair per window, not per commitment.
    """
    now = timezone.now()
    by_window: dict[tuple[datetime, datetime], CommitmentProgress] = {}
    found: dict[int, CommitmentProgress] = {}
    for commitment in commitments:
        if not isinstance(commitment, Commitment) or not commitment.active:
            continue
        window = period_bounds(commitment, now)
        measured = by_window.get(window)
        if measured is None:
            measured = by_window[window] = commitment_progress(commitment=commitment, now=now)
        found[commitment.pk] = dataclasses.replace(
            measured,
            commitment_id=commitment.pk,
            name=commitment.name,
            target_qualified=commitment.target_qualified,
            min_acceptance_rate=commitment.min_acceptance_rate,
        )
    return found


# ---------------------------------------------------------------- metrics


def _summary_filter(query: dict[str, Any], now: datetime) -> MetricFilter:
    """The query's days (by default the dashboard's default period) and filters."""
    default = DashboardFilters().period_at(now)
    last = query.get("to") or default.last
    first = query.get("from") or last - (default.last - default.first)  # type: ignore[operator]
    return MetricFilter(
        period=Period(first=first, last=last, zone=default.zone),
        team=query.get("team", ""),
        rep_id=query.get("rep"),
        campaign_id=query.get("campaign"),
        persona_id=query.get("persona"),
        policy_id=query.get("policy"),
    )


class SlaMetricsViewSet(viewsets.ViewSet):
    read_scope = ApiScope.SLA_READ
    write_scope = ApiScope.MANAGE

    @extend_schema(
        summary="The metric catalogue",
        description="Every figure the product shows: its key (as in the pages' "
        "`data-metric` attributes), label, definition, formula, unit and period rule.",
        responses=s.MetricDefinitionSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        return Response(s.MetricDefinitionSerializer(CATALOGUE, many=True).data)

    @extend_schema(
        summary="Every metric for a period",
        description="The figures of the dashboard for whole days `from`..`to` (both "
        "included) in the site's time zone; without dates, the dashboard's default period "
        "(the last 90 days, today included). The filters mean what they mean on the "
        "dashboard; `policy` narrows the SLA figures only. Commitments have periods of "
        "their own: see /commitments/.",
        parameters=[s.MetricSummaryQuerySerializer],
        responses={200: s.MetricSummarySerializer, **problem_responses(_400="A bad filter.")},
    )
    @action(detail=False, methods=["get"], url_path="summary")
    def summary(self, request: Request) -> Response:
        query = validated(s.MetricSummaryQuerySerializer, request.query_params.dict())
        now = timezone.now()
        scope = _summary_filter(query, now)
        values, reasons = metrics_summary(scope, now)
        body = {"period": scope.period, "metrics": summary_rows(values, reasons)}
        return Response(s.MetricSummarySerializer(body).data)

    @extend_schema(
        summary="SLA compliance by team, rep, policy or week",
        description="Compliance is met / (met + breached) over clocks started in "
        "[since, until); open clocks already past due count as breached.",
        parameters=[
            OpenApiParameter("group_by", OpenApiTypes.STR, enum=["team", "rep", "policy", "week"]),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Started at or after."),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Started before."),
        ],
        responses=s.ComplianceRowSerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path="sla-compliance")
    def sla_compliance(self, request: Request) -> Response:
        query = validated(s.ComplianceQuerySerializer, request.query_params.dict())
        rows = compliance_report(
            group_by=query["group_by"], since=query.get("since"), until=query.get("until")
        )
        return Response(s.ComplianceRowSerializer(rows, many=True).data)


# ---------------------------------------------------------------- webhooks


class ManagersOnly(BasePermission):
    """Webhook settings hold secrets and URLs: managers (keys: also the manage scope)."""

    message = "Only managers see webhook settings."

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_see_webhook_settings(request.user)


@extend_schema_view(
    list=extend_schema(summary="Webhook endpoints (managers)"),
    retrieve=extend_schema(summary="A webhook endpoint (managers)"),
)
class WebhookEndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    read_scope = ApiScope.MANAGE
    write_scope = ApiScope.MANAGE
    permission_classes = [HasScope, ManagersOnly]
    pagination_class = StrictCursorPagination
    default_ordering = ("-id",)
    serializer_class = s.WebhookEndpointSerializer

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return WebhookEndpoint.objects.all()

    @extend_schema(
        summary="Add a webhook endpoint (managers); the secret is never returned",
        request=s.WebhookEndpointWriteSerializer,
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "Signed breach events",
                value={
                    "name": "Ops pager",
                    "url": "https://ops.acme.example/hooks/handoff",
                    "secret": "a-long-random-shared-secret",
                    "event_types": ["breach.created"],
                    "format": "generic",
                },
                request_only=True,
            )
        ],
        responses={
            201: s.WebhookEndpointSerializer,
            **problem_responses(
                _403="Managers only (keys: the manage scope).",
                _409="Idempotency-Key still in progress.",
                _422="Idempotency-Key reused with a different body.",
            ),
        },
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = validated(s.WebhookEndpointWriteSerializer, request.data)
        endpoint = webhook_endpoint_create(actor=request.user, **data)
        return created(self.get_serializer(endpoint).data, location=f"{request.path}{endpoint.pk}/")


# ---------------------------------------------------------------- notifications


class SignedInUsersOnly(BasePermission):
    """API keys have no inbox: notifications belong to people signed in."""

    message = "Notifications belong to people; an API key has no inbox."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request_api_key(request) is None


@extend_schema_view(
    list=extend_schema(
        summary="Your notifications, newest first (signed-in users; keys get 403)",
        parameters=[
            OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread ones."),
        ],
    ),
)
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    read_scope = None
    write_scope = None
    permission_classes = [SignedInUsersOnly, HasScope]
    pagination_class = StrictCursorPagination
    default_ordering = ("-created_at", "-id")
    serializer_class = s.NotificationSerializer

    def get_queryset(self) -> QuerySet[Notification]:
        unread = self.request.query_params.get("unread", "false")
        if unread not in ("true", "false"):
            raise ValidationError({"unread": ["Must be true or false."]})
        return notifications_for_user(user=self.request.user, unread_only=unread == "true")

    @extend_schema(
        summary="Mark your notifications read (the given ids, or all)",
        request=s.MarkReadSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: s.MarkReadResultSerializer,
            **problem_responses(
                _409="Idempotency-Key still in progress.",
                _422="Idempotency-Key reused with a different body.",
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="mark-read", pagination_class=None)
    @idempotent
    def mark_read(self, request: Request) -> Response:
        data = validated(s.MarkReadSerializer, request.data)
        marked = notifications_mark_read(user=request.user, notification_ids=data.get("ids"))
        return Response({"marked": marked})


def register(router: Any) -> None:
    """Add the SLA endpoints to the API router (crm/api/urls.py)."""
    router.register("calendars", CalendarViewSet, basename="sla-calendar")
    router.register("sla-policies", PolicyViewSet, basename="sla-policy")
    router.register("clocks", ClockViewSet, basename="sla-clock")
    router.register("breaches", BreachViewSet, basename="sla-breach")
    router.register("commitments", CommitmentViewSet, basename="sla-commitment")
    router.register("metrics", SlaMetricsViewSet, basename="sla-metrics")
    router.register("webhook-endpoints", WebhookEndpointViewSet, basename="sla-webhook")
    router.register("notifications", NotificationViewSet, basename="notification")
    router.register("reports", ReportsViewSet, basename="sla-reports")
    router.register("review-decisions", DecisionViewSet, basename="sla-review-decision")


# ---------------------------------------------------------------- the joint review


def _rows(figures: Any) -> list[dict[str, Any]]:
    return summary_rows({figure.key: figure.value for figure in figures}, [])


def _feedback_rows(groups: list[FeedbackGroup]) -> list[dict[str, Any]]:
    return [
        {
            **{name: getattr(g, name) for name in ("reason", "campaign_id", "campaign")},
            **{name: getattr(g, name) for name in ("persona_id", "persona", "count")},
            "examples": [
                {"id": lead["id"], "company": lead["company"], "email": lead["email"]}
                for lead in g.examples
            ],
        }
        for g in groups
    ]


def review_body(review: JointReview) -> dict[str, Any]:
    """The review's sections as the API answers them: the page's figures, as numbers."""
    headline = []
    for row, change in zip(_rows(c.now for c in review.headline), review.headline, strict=True):
        [before] = _rows([change.before])
        headline.append(
            {
                **row,
                "previous_value": before["value"],
                "previous_shown": before["shown"],
                "change": change.shown,
            }
        )
    return {
        "period": review.period,
        "previous": review.previous,
        "headline": headline,
        "commitments": review.commitments,
        "sales_goals": _rows(review.sales_goals),
        "policies": review.policies,
        "breach_figures": _rows(review.breach_figures.values()),
        "breaches": review.breaches,
        "rejected": _feedback_rows(review.rejected),
        "lost": _feedback_rows(review.lost),
        "criteria": review.criteria,
        "campaigns": [
            {
                "campaign_id": row.figures.campaign.pk,
                "name": row.figures.campaign.name,
                "metrics": _rows(row.figures.figures.values()),
                "sla_compliance": row.compliance.value,
            }
            for row in review.campaigns
        ],
        "decisions": review.decisions,
    }


def _period(raw: str | None, now: datetime) -> ReviewPeriod:
    try:
        return review_period(raw, now=now)
    except DomainError as refused:
        raise ValidationError({"period": [refused.message]}) from refused


class ReportsViewSet(viewsets.ViewSet):
    read_scope = ApiScope.SLA_READ
    write_scope = ApiScope.MANAGE

    @extend_schema(
        summary="The joint review of a period",
        description="The sections of the /review/ page, for everyone signed in: headline "
        "figures against the previous period, commitments, response-time promises, breaches, "
        "rejected and lost leads by reason, campaign and persona, criteria, campaigns and "
        "decisions (open ones first). Figures are the metric catalogue's.",
        parameters=[s.ReviewQuerySerializer],
        responses={200: s.JointReviewSerializer, **problem_responses(_400="A bad period.")},
    )
    @action(detail=False, methods=["get"], url_path="joint-review")
    def joint_review(self, request: Request) -> Response:
        query = validated(s.ReviewQuerySerializer, request.query_params.dict())
        now = timezone.now()
        review = joint_review(_period(query.get("period"), now), now)
        return Response(s.JointReviewSerializer(review_body(review)).data)


DECISION_IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The ETag from GET /review-decisions/{id}/ (e.g. `"1"`), compared strongly.',
    pattern=IF_MATCH_PATTERN,
)


def decision_etag(decision: ReviewDecision) -> str:
    return f'"{decision.version}"'


@extend_schema_view(
    list=extend_schema(
        summary="Decisions of the joint review", description="Open ones first, earliest due."
    ),
    retrieve=extend_schema(
        summary="A decision of the joint review",
        responses=OpenApiResponse(s.DecisionSerializer, description="Its ETag is its version."),
    ),
)
class DecisionViewSet(
    SlaScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.DecisionSerializer
    etag_actions = ("retrieve", "create", "close")
    orderings = {"due_on": ("status", "due_on", "id")}
    default_ordering = ("status", "due_on", "id")

    def get_queryset(self) -> QuerySet[ReviewDecision]:
        return ReviewDecision.objects.select_related("owner", "recorded_by", "closed_by")

    def retrieve(self, request: Request, pk: str) -> Response:
        decision = self.get_object()
        return Response(
            self.get_serializer(decision).data, headers={"ETag": decision_etag(decision)}
        )

    @extend_schema(
        summary="Record a decision or action item (managers)",
        request=s.DecisionCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "An action from the meeting",
                value={
                    "text": "Ask company size on the webinar form",
                    "owner": 1,
                    "due_on": "2026-12-04",
                    "period": "2026-W48",
                },
                request_only=True,
            )
        ],
        responses={
            201: s.DecisionSerializer,
            **problem_responses(
                _403="Managers only (keys: the manage scope).",
                _409="Idempotency-Key still in progress.",
                _422="Idempotency-Key reused with a different body.",
            ),
        },
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = validated(s.DecisionCreateSerializer, request.data)
        decision = decision_record(actor=request.user, **data)
        body = self.get_serializer(self.get_queryset().get(pk=decision.pk)).data
        response = created(body, location=f"{request.path}{decision.pk}/")
        response["ETag"] = decision_etag(decision)
        return response

    @extend_schema(
        summary="Close a decision (managers, or the person who owns it)",
        request=s.DecisionCloseSerializer,
        parameters=[DECISION_IF_MATCH],
        responses={
            200: s.DecisionSerializer,
            **problem_responses(
                _403="Only managers or the decision's owner.",
                _409="Already closed, or changed since read.",
                _412="If-Match is not the current ETag.",
                _428="Neither If-Match nor version was sent.",
            ),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def close(self, request: Request, pk: str) -> Response:
        decision = self.get_object()
        data = validated(s.DecisionCloseSerializer, request.data)
        version = version_to_meet(
            request, decision.version, data.get("version"), required=True, what="decision"
        )
        closed = decision_close(
            actor=request.user,
            decision=decision,
            outcome=data.get("outcome", ""),
            expected_version=version,
        )
        return Response(self.get_serializer(closed).data, headers={"ETag": decision_etag(closed)})

    @extend_schema(
        summary="History of a decision (append-only)",
        responses=s.DecisionEventSerializer(many=True),
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        orderings={},
        default_ordering=("-created_at", "-id"),
    )
    def history(self, request: Request, pk: str) -> Response:
        decision = self.get_object()
        page = self.paginate_queryset(decision.events.select_related("actor"))
        return self.get_paginated_response(s.DecisionEventSerializer(page, many=True).data)
