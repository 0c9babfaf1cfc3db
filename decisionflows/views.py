"""Thin DRF views: scoping and routing come from kaireon.viewsets, every write is a service."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from decisionflows import recommend, selectors, services
from decisionflows.filters import (
    ChannelFilter,
    ContactHistoryFilter,
    ContactPolicyFilter,
    CreativeFilter,
    DecisionFlowFilter,
    OfferFilter,
)
from decisionflows.models import Channel, Contact, ContactPolicy, Creative, DecisionFlow, Offer
from decisionflows.serializers import (
    ChannelSerializer,
    ContactHistorySerializer,
    ContactPolicySerializer,
    CreativeSerializer,
    DecisionFlowSerializer,
    DecisionFlowVersionListSerializer,
    DecisionFlowVersionSerializer,
    OfferDetailSerializer,
    OfferSerializer,
    RecommendResponseSerializer,
    RecommendSerializer,
)
from kaireon.models import Role
from kaireon.pagination import list_pagination
from kaireon.viewsets import TenantModelViewSet, TenantViewSet


class ChannelViewSet(TenantModelViewSet):
    """Delivery channels. ``batchCompatible`` ones (file, integration, manual) serve batch runs."""

    list_key = "channels"
    queryset = Channel.objects.order_by("-created_at", "-id")
    serializer_class = ChannelSerializer
    filterset_class = ChannelFilter
    create_service = staticmethod(services.channel_create)
    update_service = staticmethod(services.channel_update)
    delete_service = staticmethod(services.channel_delete)


class OfferViewSet(TenantModelViewSet):
    """Offers. The detail includes the offer's creatives."""

    list_key = "offers"
    queryset = Offer.objects.order_by("-created_at", "-id")
    serializer_class = OfferSerializer
    filterset_class = OfferFilter
    create_service = staticmethod(services.offer_create)
    update_service = staticmethod(services.offer_update)
    delete_service = staticmethod(services.offer_delete)

    def get_queryset(self) -> QuerySet[Offer]:
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("creatives", queryset=Creative.objects.order_by("-created_at", "-id"))
            )
        return queryset

    def get_serializer_class(self) -> type[BaseSerializer]:
        return OfferDetailSerializer if self.action == "retrieve" else OfferSerializer


class CreativeViewSet(TenantModelViewSet):
    """Creatives: one offer on one channel. Filter with ``?offerId=`` and ``?channelId=``."""

    list_key = "creatives"
    queryset = Creative.objects.order_by("-created_at", "-id")
    serializer_class = CreativeSerializer
    filterset_class = CreativeFilter
    create_service = staticmethod(services.creative_create)
    update_service = staticmethod(services.creative_update)
    delete_service = staticmethod(services.creative_delete)


class ContactPolicyViewSet(TenantModelViewSet):
    """Frequency caps, cooldowns and suppression rules that decision flows apply."""

    list_key = "contactPolicies"
    queryset = ContactPolicy.objects.order_by("-created_at", "-id")
    serializer_class = ContactPolicySerializer
    filterset_class = ContactPolicyFilter
    create_service = staticmethod(services.contact_policy_create)
    update_service = staticmethod(services.contact_policy_update)
    delete_service = staticmethod(services.contact_policy_delete)


class ContactHistoryViewSet(mixins.ListModelMixin, TenantViewSet):
    """Offers sent or recommended to customers, newest first: journey sends, manual contacts and
    the recommendations of runs (not cancelled). Read-only: the engine writes it."""

    list_key = "contactHistory"
    queryset = Contact.objects.select_related("customer").order_by("-contacted_at", "-id")
    serializer_class = ContactHistorySerializer
    filterset_class = ContactHistoryFilter


_PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="At most this many (default 50, at most 200)."),
    OpenApiParameter("offset", int, description="Skip this many."),
]


class DecisionFlowViewSet(TenantModelViewSet):
    """Decision flows. Runs execute a published version: ``publish`` freezes the pipeline."""

    list_key = "decisionFlows"
    queryset = DecisionFlow.objects.order_by("-created_at", "-id")
    serializer_class = DecisionFlowSerializer
    filterset_class = DecisionFlowFilter
    action_roles = {"publish": Role.EDITOR}
    create_service = staticmethod(services.decision_flow_create)
    update_service = staticmethod(services.decision_flow_update)
    delete_service = staticmethod(services.decision_flow_delete)

    @extend_schema(request=None, responses={201: DecisionFlowVersionSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        """Validate the pipeline and store it as the next immutable version (1, 2, 3…)."""
        version = services.decision_flow_publish(
            tenant=self.principal.tenant, actor=self.principal, flow=self.get_object()
        )
        response = self.output(version, status_code=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(
            f"{request.path.rsplit('/', 1)[0]}/versions/{version.version}"
        )
        return response

    @extend_schema(
        operation_id="decision_flows_versions_list",
        responses=DecisionFlowVersionListSerializer,
        parameters=_PAGE_PARAMETERS,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """The flow's published versions, newest first."""
        flow = self.get_object()
        paginator = list_pagination("versions")()
        page = paginator.paginate_queryset(selectors.flow_versions(flow=flow), request, view=self)
        body = DecisionFlowVersionSerializer(page, many=True, context=self.get_serializer_context()).data
        return paginator.get_paginated_response(body)

    @extend_schema(
        operation_id="decision_flows_versions_detail",
        responses=DecisionFlowVersionSerializer,
        parameters=[OpenApiParameter("number", int, OpenApiParameter.PATH, description="The version number.")],
    )
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]+)", filter_backends=[])
    def version(self, request: Request, pk: str | None = None, number: str | None = None) -> Response:
        """One published version."""
        flow = self.get_object()
        version = get_object_or_404(selectors.flow_versions(flow=flow), version=int(number or 0))
        return self.output(version)

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action in ("publish", "version", "versions"):
            return DecisionFlowVersionSerializer
        return DecisionFlowSerializer


class RecommendViewSet(TenantViewSet):
    """Real-time recommendations for one customer (a read: viewers may call it)."""

    action_roles = {"create": Role.VIEWER}
    serializer_class = RecommendSerializer  # what OPTIONS describes

    @extend_schema(
        operation_id="recommend",
        request=RecommendSerializer,
        responses={200: RecommendResponseSerializer},
    )
    def create(self, request: Request) -> Response:
        """Rank offers for ``customerId`` with the flow's published version, on every active
        channel (``api`` included) or the one ``channel`` names. ``debug`` adds the funnel."""
        body = RecommendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = recommend.recommend(
            tenant=self.principal.tenant,
            customer_id=data["customer_id"],
            flow_id=data.get("decision_flow_id"),
            flow_key=data.get("decision_flow_key"),
            channel=data.get("channel"),
            limit=data.get("limit"),
            debug=data["debug"],
        )
        # The service's answer has RecommendResponseSerializer's shape and types already (a test
        # holds them equal): serializing it again cost ~0.4 ms of CPU a request.
        return Response(result)
