"""The journeys API: plans at /api/v1/journeys, execution runs at /api/v1/journeys/runs.
Thin: scoping comes from kaireon.viewsets, every change is a service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from djangorestframework_camel_case.render import CamelCaseBrowsableAPIRenderer
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import camelize
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from journeys import selectors, services
from journeys.filters import PlanFilter, RunFilter
from journeys.models import ExecutionRun, Plan
from journeys.serializers import (
    BulkCancelResultSerializer,
    BulkCancelSerializer,
    BulkExecuteResultSerializer,
    BulkExecuteSerializer,
    ExecuteSerializer,
    ExecutionRunSerializer,
    PlanDetailSerializer,
    PlanSerializer,
    PlanVersionSerializer,
    ReasonSerializer,
    RunEventSerializer,
)
from kaireon.models import Role
from kaireon.pagination import list_pagination
from kaireon.parsers import CamelCaseJSONParser
from kaireon.renderers import CamelCaseJSONRenderer
from kaireon.viewsets import TenantModelViewSet, TenantViewSet
from segments.models import Segment

# Keys inside these values are data written by the plan's author (step keys, variable names) or
# by journeys.stepping (event data), or reason codes that read the same as in the details' "reason"
# (bulk execute's counts by reason): they pass through the camelCase conversion unchanged.
DATA_FIELDS = ("steps", "data", "remaining", "skipped_by_reason", "errors_by_reason")
_OPTIONS = {
    **camel_settings.JSON_UNDERSCOREIZE,
    "ignore_fields": (*(camel_settings.JSON_UNDERSCOREIZE.get("ignore_fields") or ()), *DATA_FIELDS),
}


class JourneyJSONParser(CamelCaseJSONParser):
    json_underscoreize = _OPTIONS


class JourneyJSONRenderer(CamelCaseJSONRenderer):
    json_underscoreize = _OPTIONS


class JourneyBrowsableRenderer(CamelCaseBrowsableAPIRenderer):
    def render(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        return super(CamelCaseBrowsableAPIRenderer, self).render(camelize(data, **_OPTIONS), *args, **kwargs)


_PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="At most this many (default 50, at most 200)."),
    OpenApiParameter("offset", int, description="Skip this many."),
]
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class PlanViewSet(TenantModelViewSet):
    """Journey plans. Runs execute a published version; ``publish`` checks and freezes the draft."""

    parser_classes = [JourneyJSONParser]
    renderer_classes = [JourneyJSONRenderer, JourneyBrowsableRenderer]
    list_key = "plans"
    lookup_value_regex = r"plan_[0-9a-z]+"
    queryset = Plan.objects.order_by("-created_at", "-id")
    serializer_class = PlanDetailSerializer
    filterset_class = PlanFilter
    action_roles = {"publish": Role.EDITOR, "execute": Role.EDITOR, "bulk_execute": Role.EDITOR}
    create_service = staticmethod(services.plan_create)
    update_service = staticmethod(services.plan_update)
    delete_service = staticmethod(services.plan_delete)

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action == "list":
            return PlanSerializer
        if self.action in ("publish", "versions", "version"):
            return PlanVersionSerializer
        return PlanDetailSerializer

    @extend_schema(request=None, responses={201: PlanVersionSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        """Check the draft's graph (known step types, every next exists, all steps reachable, a
        default on every branch, no cycle without a wait, every path reaches an end) and publish
        it; errors name the step. Runs already going stay on their version."""
        version = services.plan_publish(tenant=self.principal.tenant, actor=self.principal, plan=self.get_object())
        response = self.output(version, status_code=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{request.path.rsplit('/', 1)[0]}/versions/{version.number}")
        return response

    @extend_schema(
        operation_id="journeys_versions_list", responses=PlanVersionSerializer(many=True), parameters=_PAGE_PARAMETERS
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=list_pagination("versions"))
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """The plan's versions, newest first (the newest may be a draft)."""
        plan = self.get_object()
        paginator = list_pagination("versions")()
        page = paginator.paginate_queryset(selectors.plan_versions(plan=plan), request, view=self)
        return paginator.get_paginated_response(PlanVersionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="journeys_versions_detail",
        responses=PlanVersionSerializer,
        parameters=[OpenApiParameter("number", int, OpenApiParameter.PATH, description="The version number.")],
    )
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]+)", filter_backends=[])
    def version(self, request: Request, pk: str | None = None, number: str | None = None) -> Response:
        """One version of the plan."""
        version = get_object_or_404(selectors.plan_versions(plan=self.get_object()), number=int(number or 0))
        return self.output(version)

    @extend_schema(
        operation_id="journeys_runs_execute", request=ExecuteSerializer, responses={201: ExecutionRunSerializer}
    )
    @action(detail=True, methods=["post"], url_path="runs", filter_backends=[])
    def execute(self, request: Request, pk: str | None = None) -> Response:
        """Enrol one contact in the published version: an active run, due at
        the next tick. 409 when the contact is already enrolled (runId, currentStatus) or suppressed."""
        plan = self.get_object()
        body = ExecuteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = services.execution_run_execute(
            tenant=self.principal.tenant,
            actor=self.principal,
            plan=plan,
            contact=body.validated_data["contact_id"],
            variables=body.validated_data["variables"],
        )
        response = Response(ExecutionRunSerializer(run).data, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"/api/v1/journeys/runs/{run.pk}")
        return response

    @extend_schema(request=BulkExecuteSerializer, responses=BulkExecuteResultSerializer)
    @action(detail=True, methods=["post"], url_path="bulk-execute", filter_backends=[])
    def bulk_execute(self, request: Request, pk: str | None = None) -> Response:
        """Enrol contacts by externalIds (contactIds, or contacts as [{id, …}]) or a whole
        segment. Already enrolled and suppressed contacts are skipped, unknown
        ones are errors; both are listed with their reason. ``dryRun`` only counts."""
        plan = self.get_object()
        body = BulkExecuteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        tenant = self.principal.tenant
        segment = None
        if "segment_id" in data:
            segment = Segment.objects.filter(tenant=tenant, pk=data["segment_id"]).first()
            if segment is None:
                raise exceptions.ValidationError({"segment_id": ["No such segment in this tenant."]})
        result = services.execution_run_bulk_execute(
            tenant=tenant,
            actor=self.principal,
            plan=plan,
            contacts=data.get("contact_ids", data.get("contacts")),
            segment=segment,
            variables=data["variables"],
            batch_size=data["batch_size"],
            dry_run=data["dry_run"],
        )
        return Response(BulkExecuteResultSerializer(result).data)


class ExecutionRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Execution runs: one contact going through one plan version."""

    parser_classes = [JourneyJSONParser]
    renderer_classes = [JourneyJSONRenderer, JourneyBrowsableRenderer]
    list_key = "runs"
    lookup_value_regex = _UUID
    queryset = ExecutionRun.objects.order_by("-started_at", "-id")
    serializer_class = ExecutionRunSerializer
    filterset_class = RunFilter
    action_roles = {"pause": Role.EDITOR, "resume": Role.EDITOR, "cancel": Role.EDITOR, "bulk_cancel": Role.EDITOR}

    def get_queryset(self) -> QuerySet[ExecutionRun]:
        queryset = super().get_queryset()
        # A list loads the columns its rows show (every field of the serializer is one): not the
        # visits, last result or event chain head, JSON the tick reads and the list would parse.
        return queryset.only(*ExecutionRunSerializer.Meta.fields) if self.action == "list" else queryset

    def _answer(self, run: ExecutionRun) -> Response:
        return Response(ExecutionRunSerializer(run).data)

    @extend_schema(request=None, responses=ExecutionRunSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """pending, active or waiting → paused; otherwise 409 with currentStatus."""
        return self._answer(
            services.execution_run_pause(tenant=self.principal.tenant, actor=self.principal, run=self.get_object())
        )

    @extend_schema(request=None, responses=ExecutionRunSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """paused → the status it was paused in (active, waiting or pending); otherwise 409."""
        return self._answer(
            services.execution_run_resume(tenant=self.principal.tenant, actor=self.principal, run=self.get_object())
        )

    @extend_schema(request=ReasonSerializer, responses=ExecutionRunSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """A live run → cancelled, with the reason in its events and the audit log; otherwise 409."""
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = services.execution_run_cancel(
            tenant=self.principal.tenant,
            actor=self.principal,
            run=self.get_object(),
            reason=body.validated_data["reason"],
        )
        return self._answer(run)

    @extend_schema(
        operation_id="journeys_runs_events", responses=RunEventSerializer(many=True), parameters=_PAGE_PARAMETERS
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=list_pagination("events"))
    def events(self, request: Request, pk: str | None = None) -> Response:
        """The run's event log, oldest first: every step executed and every state change, hash-chained."""
        run = self.get_object()
        paginator = list_pagination("events")()
        page = paginator.paginate_queryset(selectors.run_events(run=run), request, view=self)
        return paginator.get_paginated_response(RunEventSerializer(page, many=True).data)

    @extend_schema(request=BulkCancelSerializer, responses=BulkCancelResultSerializer)
    @action(detail=False, methods=["post"], url_path="bulk-cancel", filter_backends=[])
    def bulk_cancel(self, request: Request) -> Response:
        """Cancel every live run matching the filters (status, planId, contactId, startedAfter,
        startedBefore; at least one), with a reason."""
        body = BulkCancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        filters = dict(body.validated_data)
        reason = filters.pop("reason")
        count = services.runs_bulk_cancel(
            tenant=self.principal.tenant, actor=self.principal, filters=filters, reason=reason
        )
        return Response(BulkCancelResultSerializer({"cancelled": count}).data)
