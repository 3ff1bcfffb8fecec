"""The leads API: thin viewsets over the services and selectors the pages use.

Reads are viewsets scoped in `get_queryset()`; every write is an explicit action with a
small input serializer that calls a service. Errors become problem+json in
crm.api.errors; POSTs accept an Idempotency-Key (crm.api.idempotency).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.errors import ApiProblem, domain_error_item, flatten_validation, problem_responses
from crm.api.filtering import StrictFilterBackend
from crm.api.idempotency import IDEMPOTENCY_KEY, idempotent
from crm.api.pagination import StrictCursorPagination
from crm.api.preconditions import IF_MATCH_PATTERN, version_to_meet
from crm.api.serializers import created, validated
from crm.models import ApiScope
from leads import api_serializers as s
from leads.filters import DEFAULT_LEAD_ORDERING, DUE_ORDERING, LEAD_ORDERINGS, LeadFilterSet
from leads.models import Campaign, Lead, Persona, Reason, StageDefinition
from leads.selectors import conversion_between_stages, pipeline_by_stage
from leads.services.activities import activity_log
from leads.services.batch import MAX_BATCH, lead_create_batch
from leads.services.campaigns import campaign_create, campaign_update
from leads.services.catalog import definition_publish, persona_create
from leads.services.leads import LeadInput, lead_create_or_update, lead_update
from leads.services.transitions import lead_transition
from sla.selectors import with_due_order

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The ETag from GET /leads/{id}/ (e.g. `"3"`), compared strongly: a weak or '
    "unknown tag answers 412; `*` matches the lead as it is.",
    pattern=IF_MATCH_PATTERN,
)
ETAG_HEADER = OpenApiResponse(
    s.LeadSerializer, description="The lead; its ETag header carries the version."
)


def lead_etag(lead: Lead) -> str:
    return f'"{lead.version}"'


def expected_version(
    request: Request, lead: Lead, body_version: int | None, *, required: bool
) -> int | None:
    """The version a lead write must meet (crm.api.preconditions.version_to_meet). PATCH
    requires one; transitions may go without, since the transition table checks the stage
    anyway."""
    return version_to_meet(request, lead.version, body_version, required=required, what="lead")


class LeadsScoped:
    read_scope = ApiScope.LEADS_READ
    write_scope = ApiScope.LEADS_WRITE


LEAD_CREATE_EXAMPLE = OpenApiExample(
    "A web form lead",
    value={
        "email": "jo.bloggs@acme.example",
        "first_name": "Jo",
        "last_name": "Bloggs",
        "company": "Acme Logistics",
        "source": "webform",
        "external_id": "wf-1842",
    },
    request_only=True,
)


DUPLICATE_EXAMPLE = OpenApiExample(
    "Duplicate email",
    value={
        "type": "urn:handoff:problem:duplicate",
        "title": "Conflict with the current state",
        "status": 409,
        "detail": "This lead already exists (lead 41).",
        "instance": "/api/v1/leads/",
        "code": "duplicate",
        "errors": [
            {
                "pointer": "/email",
                "message": "This lead already exists (lead 41).",
                "code": "duplicate",
            }
        ],
        "existing_id": 41,
    },
    response_only=True,
    status_codes=["409"],
    media_type="application/problem+json",
)


@extend_schema_view(
    list=extend_schema(summary="List leads", description="Filtered, cursor-paginated."),
    retrieve=extend_schema(
        summary="Read a lead",
        responses={200: ETAG_HEADER},
    ),
)
class LeadViewSet(LeadsScoped, viewsets.GenericViewSet):
    serializer_class = s.LeadSerializer
    etag_actions = ("retrieve", "create", "partial_update", "transitions")
    filter_backends = [StrictFilterBackend]
    filterset_class = LeadFilterSet
    pagination_class = StrictCursorPagination
    orderings = LEAD_ORDERINGS
    default_ordering = DEFAULT_LEAD_ORDERING

    def get_queryset(self) -> QuerySet[Lead]:
        # Everyone signed in reads the whole pipeline (nothing is hidden between teams);
        # keys need leads:read. Writes are scoped by the services' rights checks.
        leads = Lead.objects.select_related("owner")
        if self.action == "list" and self.request.query_params.get("ordering") == DUE_ORDERING:
            leads = with_due_order(leads)
        return leads

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        return Response(self.get_serializer(lead).data, headers={"ETag": lead_etag(lead)})

    @extend_schema(
        summary="Create a lead (or upsert by source + external_id)",
        description="Creates an engaged lead: 201. A lead with the same `source` and "
        "`external_id` is updated instead (its non-empty contact fields): 200. A lead whose "
        "normalised email matches an open lead is a 409 `duplicate` with `existing_id`.",
        request=s.LeadCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        examples=[LEAD_CREATE_EXAMPLE, DUPLICATE_EXAMPLE],
        responses={
            201: s.LeadSerializer,
            200: OpenApiResponse(s.LeadSerializer, description="Upserted by external_id."),
            **problem_responses(
                _409="Duplicate (existing_id names the lead) or key in progress.",
                _422="Idempotency-Key reused with a different body.",
            ),
        },
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = validated(s.LeadCreateSerializer, request.data)
        result = lead_create_or_update(actor=request.user, data=LeadInput(**data))
        assert result.lead is not None
        created = result.outcome == "created"
        # A new lead is answered from the row just written (its owner is the actor or
        # nobody); an upserted one is read back with its owner.
        lead = (
            result.lead if created else Lead.objects.select_related("owner").get(pk=result.lead.pk)
        )
        headers = {"ETag": lead_etag(lead)}
        if created:
            headers["Location"] = f"{request.path}{lead.pk}/"
        return Response(
            self.get_serializer(lead).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            headers=headers,
        )

    @extend_schema(
        summary="Edit contact and deal fields",
        description="Needs the version you read: `If-Match` (412 on mismatch) or `version` in "
        "the body (409 on mismatch); neither is 428. Stage, owner, team and timestamps "
        "cannot be set here (400 naming the field): use the transitions endpoint.",
        request=s.LeadUpdateSerializer,
        parameters=[IF_MATCH],
        responses={
            200: ETAG_HEADER,
            **problem_responses(
                _409="Stale version (in the body) or duplicate email.",
                _412="If-Match does not match the current version.",
                _428="Neither If-Match nor version given.",
            ),
        },
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        fields = validated(s.LeadUpdateSerializer, request.data)
        version = expected_version(request, lead, fields.pop("version", None), required=True)
        lead = lead_update(
            lead=lead.pk, actor=request.user, fields=fields, expected_version=version
        )
        lead = self.get_queryset().get(pk=lead.pk)
        return Response(self.get_serializer(lead).data, headers={"ETag": lead_etag(lead)})

    @extend_schema(
        summary="Move a lead: hand_off, accept, reject, to_opportunity, win, lose, reassign, ...",
        description="`reassign` gives a qualified lead or an opportunity to another active "
        "sales rep (`assignee`) with a reason in words (`reason`); managers may reassign any "
        "such lead, a sales rep only one assigned to them. The stage and the running SLA "
        "clocks stay as they were: the new rep inherits the same due times.",
        request=s.TransitionSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "Hand off to sales",
                value={"transition": "hand_off", "criteria": ["fits-icp", "budget-confirmed"]},
                request_only=True,
            ),
            OpenApiExample(
                "Reassign to another rep",
                value={"transition": "reassign", "assignee": 7, "reason": "Sara is on leave."},
                request_only=True,
            ),
        ],
        responses={
            200: ETAG_HEADER,
            **problem_responses(
                _409="Illegal transition, stale version, or duplicate.",
                _412="If-Match does not match the current version.",
                _422="Idempotency-Key reused with a different body.",
            ),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    @idempotent
    def transitions(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        params = validated(s.TransitionSerializer, request.data)
        name = params.pop("transition")
        version = expected_version(request, lead, params.pop("version", None), required=False)
        lead = lead_transition(
            lead=lead.pk,
            actor=request.user,
            transition=name,
            params=params,
            expected_version=version,
        )
        lead = self.get_queryset().get(pk=lead.pk)
        return Response(self.get_serializer(lead).data, headers={"ETag": lead_etag(lead)})

    @extend_schema(
        methods=["GET"],
        summary="Activities on a lead",
        responses={200: s.ActivitySerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Log a call, email, meeting or note",
        request=s.ActivityCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: s.ActivitySerializer,
            **problem_responses(_422="Idempotency-Key reused with a different body."),
        },
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filter_backends=[],
        orderings={},
        default_ordering=("-occurred_at", "-id"),
    )
    def activities(self, request: Request, pk: str) -> Response:
        if request.method == "POST":
            return self._log_activity(request, pk)
        lead = self.get_object()
        page = self.paginate_queryset(lead.activities.all())
        return self.get_paginated_response(s.ActivitySerializer(page, many=True).data)

    @idempotent
    def _log_activity(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        data = validated(s.ActivityCreateSerializer, request.data)
        activity = activity_log(lead=lead.pk, actor=request.user, **data)
        # Activities are read in their lead's list; there is no page per activity.
        return created(s.ActivitySerializer(activity).data, location=request.path)

    @extend_schema(
        summary="History of a lead (append-only)", responses=s.LeadEventSerializer(many=True)
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        orderings={},
        default_ordering=("-created_at", "-id"),
    )
    def history(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        page = self.paginate_queryset(lead.events.select_related("actor"))
        return self.get_paginated_response(s.LeadEventSerializer(page, many=True).data)

    @extend_schema(
        summary=f"Create up to {MAX_BATCH} leads in one request",
        description="Each item is shaped like the single create and gets a result, in input "
        "order: `created`, `updated` (upsert by source + external_id), `duplicate` (with the "
        "existing lead's id) or `error` (with field errors whose pointers start "
        "`/items/<index>`). One bad item never stops the others. More than "
        f"{MAX_BATCH} items is a 413.",
        request=s.BatchSerializer,
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "Two leads, one bad",
                value={
                    "items": [
                        {"email": "a@acme.example"},
                        {"email": "b@acme.example", "campaign": 999},
                    ]
                },
                request_only=True,
            ),
            OpenApiExample(
                "Results",
                value={
                    "results": [
                        {"index": 0, "status": "created", "id": 101, "errors": []},
                        {
                            "index": 1,
                            "status": "error",
                            "id": None,
                            "errors": [
                                {
                                    "pointer": "/items/1/campaign",
                                    "message": "No campaign with id 999.",
                                    "code": "invalid",
                                }
                            ],
                        },
                    ],
                    "counts": {"created": 1, "updated": 0, "duplicate": 0, "error": 1},
                },
                response_only=True,
            ),
        ],
        responses={
            200: s.BatchResultSerializer,
            **problem_responses(
                _409="Idempotency-Key still in progress.",
                _413=f"More than {MAX_BATCH} items.",
                _422="Idempotency-Key reused with a different body.",
            ),
        },
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    @idempotent
    def batch(self, request: Request) -> Response:
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if isinstance(items, list) and len(items) > MAX_BATCH:
            raise ApiProblem(
                413,
                f"A batch holds at most {MAX_BATCH} leads; this one has {len(items)}.",
                code="too_many_items",
                errors=[{"pointer": "/items", "message": "Too many items.", "code": "max_length"}],
            )
        items = validated(s.BatchSerializer, request.data)["items"]
        results: list[dict[str, Any] | None] = [None] * len(items)
        inputs: list[LeadInput] = []
        positions: list[int] = []
        check = s.BatchItemChecker()
        for index, item in enumerate(items):
            try:
                inputs.append(LeadInput(**check(item)))
                positions.append(index)
            except serializers.ValidationError as exc:
                errors = flatten_validation(exc.detail, f"/items/{index}")
                results[index] = {"index": index, "status": "error", "id": None, "errors": errors}
        for index, result in zip(
            positions, lead_create_batch(actor=request.user, items=inputs), strict=True
        ):
            results[index] = {
                "index": index,
                "status": result.outcome,
                "id": result.id,
                "errors": [domain_error_item(e, f"/items/{index}") for e in result.errors],
            }
        counts = dict.fromkeys(s.BATCH_ITEM_STATUSES, 0)
        for row in results:
            assert row is not None
            counts[row["status"]] += 1
        return Response({"results": results, "counts": counts})


# ---------------------------------------------------------------- catalog


class CatalogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The shared vocabulary: readable by everyone signed in (keys: leads:read); writes
    need `manage` for keys and the catalog rights of the role for users."""

    read_scope = ApiScope.LEADS_READ
    write_scope = ApiScope.MANAGE
    pagination_class = StrictCursorPagination
    default_ordering = ("-id",)


@extend_schema_view(
    list=extend_schema(summary="Campaigns"),
    retrieve=extend_schema(summary="A campaign"),
)
class CampaignViewSet(CatalogViewSet):
    serializer_class = s.CampaignSerializer

    def get_queryset(self) -> QuerySet[Campaign]:
        return Campaign.objects.all()

    @extend_schema(
        summary="Create a campaign (marketing and managers)",
        request=s.CampaignWriteSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.CampaignSerializer, **problem_responses(_422="Idempotency-Key reused.")},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        campaign = campaign_create(
            actor=request.user, **validated(s.CampaignWriteSerializer, request.data)
        )
        return created(self.get_serializer(campaign).data, location=f"{request.path}{campaign.pk}/")

    @extend_schema(
        summary="Edit a campaign (marketing and managers)",
        request=s.CampaignPatchSerializer,
        responses={200: s.CampaignSerializer},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        fields = validated(s.CampaignPatchSerializer, request.data)
        campaign = campaign_update(actor=request.user, campaign=campaign, **fields)
        return Response(self.get_serializer(campaign).data)


@extend_schema_view(
    list=extend_schema(summary="Personas (ideal customer profiles)"),
    retrieve=extend_schema(summary="A persona"),
)
class PersonaViewSet(CatalogViewSet):
    serializer_class = s.PersonaSerializer

    def get_queryset(self) -> QuerySet[Persona]:
        return Persona.objects.all()

    @extend_schema(
        summary="Create a persona (marketing and managers)",
        request=s.PersonaWriteSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.PersonaSerializer, **problem_responses(_422="Idempotency-Key reused.")},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        persona = persona_create(
            actor=request.user, **validated(s.PersonaWriteSerializer, request.data)
        )
        return created(self.get_serializer(persona).data, location=f"{request.path}{persona.pk}/")


@extend_schema_view(
    list=extend_schema(summary="Stage definitions, every version"),
    retrieve=extend_schema(summary="A version of a stage's definition"),
)
class StageDefinitionViewSet(CatalogViewSet):
    """Every version of every stage's definition: the agreed answer to "what is a lead"."""

    serializer_class = s.StageDefinitionSerializer

    def get_queryset(self) -> QuerySet[StageDefinition]:
        return StageDefinition.objects.prefetch_related("criteria")

    @extend_schema(
        summary="Publish a new version of a stage's definition (managers)",
        request=s.StageDefinitionWriteSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: s.StageDefinitionSerializer,
            **problem_responses(_422="Idempotency-Key reused."),
        },
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = validated(s.StageDefinitionWriteSerializer, request.data)
        definition = definition_publish(actor=request.user, **data)
        definition = self.get_queryset().get(pk=definition.pk)
        return created(
            self.get_serializer(definition).data, location=f"{request.path}{definition.pk}/"
        )


@extend_schema_view(
    list=extend_schema(summary="Reasons for reject, lose and disqualify"),
    retrieve=extend_schema(summary="A reason"),
)
class ReasonViewSet(CatalogViewSet):
    """Reasons for reject, lose and disqualify transitions."""

    serializer_class = s.ReasonSerializer

    def get_queryset(self) -> QuerySet[Reason]:
        return Reason.objects.all()


# ---------------------------------------------------------------- metrics


class ConversionQuerySerializer(s.LeadsStrictSerializer):
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


class MetricsViewSet(viewsets.ViewSet):
    """The dashboard's numbers, from the same selectors the pages use."""

    read_scope = ApiScope.LEADS_READ
    write_scope = ApiScope.MANAGE

    @extend_schema(
        summary="Leads and value per stage",
        description="Kept for existing integrations: the metric catalogue's figures are "
        "`GET /api/v1/metrics/summary/`, the numbers every page shows.",
        deprecated=True,
        responses=s.PipelineRowSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def pipeline(self, request: Request) -> Response:
        return Response(s.PipelineRowSerializer(pipeline_by_stage(), many=True).data)

    @extend_schema(
        summary="Conversion between funnel stages",
        description="Kept for existing integrations: the metric catalogue's figures are "
        "`GET /api/v1/metrics/summary/`, the numbers every page shows.",
        deprecated=True,
        parameters=[
            OpenApiParameter(
                "created_after", OpenApiTypes.DATETIME, description="Leads created at or after."
            ),
            OpenApiParameter(
                "created_before", OpenApiTypes.DATETIME, description="Leads created before."
            ),
        ],
        responses=s.ConversionRowSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def conversion(self, request: Request) -> Response:
        query = validated(ConversionQuerySerializer, request.query_params.dict())
        rows = conversion_between_stages(
            created_from=query.get("created_after"), created_to=query.get("created_before")
        )
        return Response(s.ConversionRowSerializer(rows, many=True).data)


def register(router: Any) -> None:
    """Add the leads endpoints to the API router (crm/api/urls.py)."""
    router.register("leads", LeadViewSet, basename="lead")
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("personas", PersonaViewSet, basename="persona")
    router.register("stage-definitions", StageDefinitionViewSet, basename="stage-definition")
    router.register("reasons", ReasonViewSet, basename="reason")
    router.register("metrics", MetricsViewSet, basename="metrics")
