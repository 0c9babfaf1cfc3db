"""The runs API (docs/api-contract.md §1, §4) and execute-inline (§2.9). Thin: every change is a service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kaireon.errors import Conflict
from kaireon.models import Role
from kaireon.negotiation import EndpointFormatNegotiation
from kaireon.paging import query_int
from kaireon.viewsets import TenantViewSet
from runs import selectors, services
from runs.filters import RunFilter
from runs.models import Run
from runs.serializers import (
    CancelSerializer,
    ExecuteInlineResponseSerializer,
    ExecuteInlineSerializer,
    RunCreateSerializer,
    RunCustomersPageSerializer,
    RunDetailSerializer,
    RunResultsSerializer,
    RunSerializer,
)
from segments.models import Segment

MAX_CUSTOMER_PAGE = 200


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Batch runs: every customer of a segment through a published decision flow."""

    # reads that answer 409 for a cancelled or failed run (its rows are not results)
    conflict_actions = ("customers", "export")

    list_key = "runs"
    queryset = Run.objects.order_by("-created_at", "-id")
    serializer_class = RunSerializer
    filterset_class = RunFilter
    action_roles = {"execute_inline": Role.EDITOR, "cancel": Role.EDITOR}

    def get_queryset(self) -> QuerySet[Run]:
        queryset = selectors.with_names(super().get_queryset())
        return selectors.with_list_columns(queryset) if self.action == "list" else queryset

    def get_serializer_class(self) -> Any:
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    @extend_schema(request=RunCreateSerializer, responses={201: RunSerializer})
    def create(self, request: Request) -> Response:
        """Validate, store the run as pending and start it asynchronously."""
        serializer = RunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.run_create(tenant=self.principal.tenant, actor=self.principal, **serializer.validated_data)
        run = self.get_queryset().get(pk=run.pk)
        response = Response(
            RunSerializer(run, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )
        response["Location"] = request.build_absolute_uri(f"/api/v1/runs/{run.pk}")
        return response

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Delete a finished run and its results (admin); a running one is a 409."""
        services.run_delete(tenant=self.principal.tenant, actor=self.principal, instance=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=CancelSerializer, responses=RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Stop a pending or running run: chunks not yet done are not processed."""
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.run_cancel(
            tenant=self.principal.tenant, actor=self.principal, run=self.get_object(), **serializer.validated_data
        )
        return Response(
            RunDetailSerializer(self.get_queryset().get(pk=run.pk), context=self.get_serializer_context()).data
        )

    @extend_schema(responses=RunResultsSerializer)
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str | None = None) -> Response:
        """The run's summary: totals, offer and channel breakdowns, the decision funnel."""
        run = self.get_object()
        body = {
            "run_id": run.pk,
            "status": run.status,
            "completed_at": run.completed_at,
            "summary": selectors.run_results(run) if run.summary else None,
        }
        return Response(RunResultsSerializer(body).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", int, description="nextCursor of the previous page"),
            OpenApiParameter("limit", int, description=f"customers per page, default 50, at most {MAX_CUSTOMER_PAGE}"),
            OpenApiParameter("externalId", str),
            OpenApiParameter("offerId", str),
            OpenApiParameter("channelId", str),
        ],
        responses=RunCustomersPageSerializer,
    )
    @action(detail=True, methods=["get"])
    def customers(self, request: Request, pk: str | None = None) -> Response:
        """Per-customer recommendations, by keyset (``cursor``), filterable by customer, offer and channel.
        A cancelled or failed run has no results to list: 409."""
        run = _with_results(self.get_object())
        params = request.query_params
        after = _int_param(params.get("cursor"), "cursor", default=0, low=0)
        limit = min(_int_param(params.get("limit"), "limit", default=50, low=1), MAX_CUSTOMER_PAGE)
        items, next_cursor = selectors.run_customers_page(
            run,
            after=after,
            limit=limit,
            external_id=params.get("externalId") or None,
            offer_id=params.get("offerId") or None,
            channel_id=params.get("channelId") or None,
        )
        return Response(RunCustomersPageSerializer({"customers": items, "next_cursor": next_cursor}).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["csv", "json"], description="csv (default) or json (JSON Lines)")
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, "application/x-ndjson"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], url_path="export", content_negotiation_class=EndpointFormatNegotiation)
    def export(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        """Every recommendation of the run, streamed: CSV or JSON Lines. A cancelled or failed run's
        rows are not results (nobody was contacted), so they are not handed out: 409."""
        fmt = request.query_params.get("format", "csv")
        if fmt not in ("csv", "json"):
            raise exceptions.ValidationError({"format": ["Use csv or json."]})
        run = _with_results(self.get_object())
        content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
        response = StreamingHttpResponse(selectors.run_export(run, fmt), content_type=content_type)
        extension = "csv" if fmt == "csv" else "jsonl"
        response["Content-Disposition"] = f'attachment; filename="{run.pk}.{extension}"'
        return response

    @extend_schema(request=ExecuteInlineSerializer, responses=ExecuteInlineResponseSerializer)
    @action(detail=False, methods=["post"], url_path="execute-inline")
    def execute_inline(self, request: Request) -> Response:
        """Execute an existing pending run in a background thread of this process and
        answer at once; poll GET /api/v1/runs/{id} for the outcome. Only a run still pending can
        be taken: one a worker has already started (running) or finished is a 409 with its
        ``currentStatus``, so no run is ever executed twice. Create runs with
        ``POST /api/v1/runs``, which falls back to this by itself when the broker is down."""
        serializer = ExecuteInlineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = self.principal.tenant
        run = Run.objects.filter(tenant=tenant, pk=data["run_id"]).first()
        if run is None:
            raise exceptions.NotFound(f"Run {data['run_id']!r} not found.")
        if run.decision_flow_id != data["decision_flow_id"]:
            raise exceptions.ValidationError({"decision_flow_id": ["Does not match the run's decision flow."]})
        segment = Segment.objects.filter(tenant=tenant, view_name=data["segment_view_name"]).first()
        if segment is None:
            raise exceptions.NotFound(f"No segment view {data['segment_view_name']!r} in this tenant.")
        if run.segment_id != segment.pk:
            raise exceptions.ValidationError({"segment_view_name": ["Is not the view of the run's segment."]})
        services.run_start_inline(tenant=tenant, actor=self.principal, run=run)
        return Response(ExecuteInlineResponseSerializer({"status": "executing", "run_id": run.pk}).data)


def _int_param(raw: str | None, name: str, *, default: int, low: int) -> int:
    if raw in (None, ""):
        return default
    assert raw is not None
    value = query_int(raw)
    if value is None or value < low:
        raise exceptions.ValidationError({name: [f"Must be an integer ≥ {low}."]})
    return value


def _with_results(run: Run) -> Run:
    if run.is_discarded:
        raise Conflict(run.discarded_message, current_status=run.status)
    return run
