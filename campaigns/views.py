"""The campaigns API (docs/api-contract.md §2). Thin: scoping comes from kaireon.viewsets, every change is a service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from campaigns import deliveries, files, selectors, services
from campaigns.filters import CampaignFilter
from campaigns.models import Campaign, CampaignFile, CampaignRun, DeliveryStatus
from campaigns.serializers import (
    CampaignDetailSerializer,
    CampaignRunListSerializer,
    CampaignRunSerializer,
    CampaignSerializer,
    CampaignUpdateSerializer,
    WorkItemListSerializer,
    WorkItemSerializer,
)
from kaireon.pagination import ListPagination
from kaireon.viewsets import TenantModelViewSet

CRUN_ID = OpenApiParameter("crun_id", str, OpenApiParameter.PATH, description="The campaign run (crun_…).")
ITEM_ID = OpenApiParameter("item_id", int, OpenApiParameter.PATH, description="The work item.")


class CampaignRunPagination(ListPagination):
    """``?limit`` (default and maximum 50) and ``?offset`` over a campaign's runs."""

    default_limit = selectors.MAX_CAMPAIGN_RUNS
    max_limit = selectors.MAX_CAMPAIGN_RUNS
    list_key = "campaign_runs"


@extend_schema_view(
    update=extend_schema(responses=CampaignSerializer),
    partial_update=extend_schema(responses=CampaignSerializer),
)
class CampaignViewSet(TenantModelViewSet):
    """Campaigns: a decision flow over a segment, run on a schedule or on demand. Creating one
    does not run it; ``POST /campaigns/{id}/campaign-runs`` does (or its schedule, once active)."""

    list_key = "campaigns"
    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    create_service = staticmethod(services.campaign_create)
    update_service = staticmethod(services.campaign_update)
    delete_service = staticmethod(services.campaign_delete)
    action_roles = {"work_item_done": "editor", "campaign_run_retry_deliveries": "editor"}

    def get_queryset(self) -> QuerySet[Campaign]:
        queryset = super().get_queryset()
        if self.action in ("list", "retrieve"):
            queryset = selectors.with_run_figures(queryset)
        return queryset

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action == "retrieve":
            return CampaignDetailSerializer
        if self.action in ("update", "partial_update"):
            return CampaignUpdateSerializer
        return CampaignSerializer

    def output(self, instance: Any, *, status_code: int = status.HTTP_200_OK, **context: Any) -> Response:
        # Answer with the row as the list shows it (run figures, names), not the bare instance.
        instance = selectors.campaigns_for(tenant=self.principal.tenant).get(pk=instance.pk)
        return super().output(instance, status_code=status_code, **context)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """PUT accepts any combination of fields, like PATCH."""
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)

    @extend_schema(
        methods=["GET"],
        operation_id="campaigns_campaign_runs_list",
        parameters=[
            OpenApiParameter("limit", int, description="At most this many (default and maximum 50)."),
            OpenApiParameter("offset", int, description="Skip this many."),
        ],
        responses=CampaignRunListSerializer,
    )
    @extend_schema(
        methods=["POST"],
        operation_id="campaigns_campaign_runs_trigger",
        request=None,
        responses={201: CampaignRunSerializer},
        description=(
            "Create the campaign's next run now (editor); triggeredBy is manual (a person, whether through "
            "the UI or the API). Draft, active and paused campaigns can be triggered; archived is a 409. The "
            "run's create checks answer 400 or 404 and nothing is created. Location: the campaign run."
        ),
    )
    @action(detail=True, methods=["get", "post"], url_path="campaign-runs", filter_backends=[])
    def campaign_runs(self, request: Request, pk: str | None = None) -> Response:
        """The campaign's runs, newest run number first (at most 50 a page)."""
        campaign = self.get_object()
        if request.method == "POST":
            campaign_run = services.campaign_trigger(
                tenant=self.principal.tenant, actor=self.principal, campaign=campaign
            )
            body = CampaignRunSerializer(selectors.campaign_runs().get(pk=campaign_run.pk)).data
            response = Response(body, status=status.HTTP_201_CREATED)
            response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{campaign_run.pk}")
            return response
        paginator = CampaignRunPagination()
        page = paginator.paginate_queryset(selectors.campaign_runs_listed(campaign=campaign), request, self)
        return paginator.get_paginated_response(CampaignRunSerializer(page, many=True).data)

    def _campaign_run(self, pk: str | None, crun_id: str) -> CampaignRun:
        campaign = self.get_object()  # 404 for other tenants
        campaign_run = selectors.campaign_runs().filter(campaign=campaign, pk=crun_id).first()
        if campaign_run is None:
            raise NotFound(f"Campaign run {crun_id!r} not found.")
        return campaign_run

    @extend_schema(
        operation_id="campaigns_campaign_run_retrieve",
        parameters=[CRUN_ID],
        responses=CampaignRunSerializer,
        description="One campaign run (viewer): where the trigger's Location points.",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"campaign-runs/(?P<crun_id>[^/.]+)",
        filter_backends=[],
        pagination_class=None,
    )
    def campaign_run(self, request: Request, pk: str | None = None, crun_id: str = "") -> Response:
        return Response(CampaignRunSerializer(self._campaign_run(pk, crun_id)).data)

    # --- files, deliveries and the work queue ----------------------------------------------

    def _ready_file(self, pk: str | None, crun_id: str) -> CampaignFile:
        campaign_run = self._campaign_run(pk, crun_id)
        record = selectors.campaign_run_ready_file(campaign_run=campaign_run)
        if record is None:
            raise NotFound("This campaign run has no file (yet): see its file.status.")
        return record

    @extend_schema(
        operation_id="campaigns_campaign_run_file",
        parameters=[CRUN_ID],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, "application/x-ndjson"): OpenApiTypes.BINARY},
        description="The campaign run's result file (destination download): CSV or JSON Lines (viewer).",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"campaign-runs/(?P<crun_id>[^/.]+)/file",
        filter_backends=[],
        pagination_class=None,
    )
    def campaign_run_file(self, request: Request, pk: str | None = None, crun_id: str = "") -> FileResponse:
        record = self._ready_file(pk, crun_id)
        if record.destination != "download":
            raise NotFound(f"This file was uploaded to {record.path}; it is not served here.")
        return files.campaign_file_response(record)

    @extend_schema(
        operation_id="campaigns_campaign_run_file_manifest",
        parameters=[CRUN_ID],
        responses={200: OpenApiTypes.OBJECT},
        description="The file's manifest: file, format, columns, rows, size, sha256, generatedAt (viewer).",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"campaign-runs/(?P<crun_id>[^/.]+)/file/manifest",
        filter_backends=[],
        pagination_class=None,
    )
    def campaign_run_file_manifest(self, request: Request, pk: str | None = None, crun_id: str = "") -> Response:
        return Response(files.campaign_file_manifest(self._ready_file(pk, crun_id)))

    @extend_schema(
        operation_id="campaigns_campaign_run_retry_deliveries",
        parameters=[CRUN_ID],
        request=None,
        responses={202: CampaignRunSerializer},
        description="Resend only the campaign run's failed deliveries (editor); 409 when none failed.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"campaign-runs/(?P<crun_id>[^/.]+)/retry-deliveries",
        filter_backends=[],
        pagination_class=None,
    )
    def campaign_run_retry_deliveries(self, request: Request, pk: str | None = None, crun_id: str = "") -> Response:
        campaign_run = self._campaign_run(pk, crun_id)
        deliveries.deliveries_retry(tenant=self.principal.tenant, actor=self.principal, campaign_run=campaign_run)
        body = CampaignRunSerializer(selectors.campaign_runs().get(pk=campaign_run.pk)).data
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="campaigns_work_queue",
        parameters=[
            OpenApiParameter("channelId", str, description="One manual channel."),
            OpenApiParameter("status", str, enum=["pending", "done"], description="Default pending."),
            OpenApiParameter("limit", int, description="At most this many (default 50, maximum 200)."),
            OpenApiParameter("offset", int, description="Skip this many."),
        ],
        responses=WorkItemListSerializer,
        description="Recommendations on manual channels, for agents to act on, oldest first (viewer).",
    )
    @action(detail=False, methods=["get"], url_path="work-queue", filter_backends=[])
    def work_queue(self, request: Request) -> Response:
        wanted = request.query_params.get("status", DeliveryStatus.PENDING)
        if wanted not in (DeliveryStatus.PENDING, DeliveryStatus.DONE):
            raise ValidationError({"status": ["Use pending or done."]})
        queryset = selectors.work_queue(
            tenant=self.principal.tenant, status=wanted, channel_id=request.query_params.get("channelId")
        )
        paginator = WorkQueuePagination()
        page = paginator.paginate_queryset(queryset, request, self)
        return paginator.get_paginated_response(WorkItemSerializer(page, many=True).data)

    @extend_schema(
        operation_id="campaigns_work_item_done",
        parameters=[ITEM_ID],
        request=None,
        responses={200: WorkItemSerializer},
        description="Mark a work item done (editor); 409 when it is not pending.",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path=r"work-queue/(?P<item_id>\d+)/done",
        filter_backends=[],
        pagination_class=None,
    )
    def work_item_done(self, request: Request, item_id: str = "") -> Response:
        item = deliveries.work_item_done(tenant=self.principal.tenant, actor=self.principal, delivery_id=int(item_id))
        return Response(WorkItemSerializer(selectors.work_queue(tenant=self.principal.tenant).get(pk=item.pk)).data)


class WorkQueuePagination(ListPagination):
    """``?limit`` (default 50, maximum 200) and ``?offset`` over the work queue."""

    default_limit = 50
    max_limit = 200
    list_key = "work_items"
