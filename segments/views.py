from __future__ import annotations

from typing import Any
from urllib.parse import quote

from djangorestframework_camel_case.parser import CamelCaseMultiPartParser
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from kaireon.errors import Conflict
from kaireon.models import Role
from kaireon.parsers import CamelCaseJSONParser
from kaireon.viewsets import TenantModelViewSet, TenantViewSet
from segments import selectors, services
from segments.filters import CustomerFilter
from segments.models import Customer, CustomerAttribute, CustomerImport, Segment
from segments.serializers import (
    CustomerAttributeSerializer,
    CustomerImportRecordsSerializer,
    CustomerImportSerializer,
    CustomerImportUploadSerializer,
    CustomerSerializer,
    SegmentCustomersQuerySerializer,
    SegmentCustomersSerializer,
    SegmentPreviewRequestSerializer,
    SegmentPreviewSerializer,
    SegmentSerializer,
)


class CustomerAttributeViewSet(TenantModelViewSet):
    """The tenant's customer schema: the attributes customers carry, each with a type.

    An attribute's type cannot change while segment filters use it (409 naming the segments).
    """

    list_key = "customerAttributes"
    queryset = CustomerAttribute.objects.order_by("name")
    serializer_class = CustomerAttributeSerializer
    create_service = staticmethod(services.customer_attribute_create)
    update_service = staticmethod(services.customer_attribute_update)
    delete_service = staticmethod(services.customer_attribute_delete)


_EXTERNAL_ID = extend_schema(
    parameters=[
        OpenApiParameter(
            "externalId", OpenApiTypes.STR, OpenApiParameter.PATH, description="The customer's externalId."
        )
    ]
)


# Only the detail operations have {externalId} in their path (the list and create do not).
@extend_schema_view(retrieve=_EXTERNAL_ID, update=_EXTERNAL_ID, partial_update=_EXTERNAL_ID, destroy=_EXTERNAL_ID)
class CustomerViewSet(TenantModelViewSet):
    """Customers, addressed by ``externalId`` (any characters but ``/``)."""

    list_key = "customers"
    queryset = Customer.objects.order_by("id")
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    lookup_field = "external_id"
    lookup_url_kwarg = "externalId"
    lookup_value_regex = "[^/]+"
    create_service = staticmethod(services.customer_create)
    delete_service = staticmethod(services.customer_delete)

    def perform_update(self, serializer: BaseSerializer) -> None:
        customer = serializer.instance
        assert isinstance(customer, Customer)
        serializer.instance = services.customer_update(
            tenant=self.principal.tenant,
            actor=self.principal,
            instance=customer,
            data=dict(serializer.validated_data),
            partial=serializer.partial,
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().create(request, *args, **kwargs)
        external_id = response.data["external_id"]
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{quote(external_id, safe='')}")
        return response

    @extend_schema(
        request={
            "multipart/form-data": CustomerImportUploadSerializer,
            "application/json": CustomerImportRecordsSerializer,
        },
        responses={202: CustomerImportSerializer},
        parameters=[],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[CamelCaseMultiPartParser, CamelCaseJSONParser],
        filterset_class=None,
    )
    def import_(self, request: Request) -> Response:
        """Queue an import: a ``file`` upload (CSV or JSON), or ``{"customers": [...]}``. Answers 202 with the job."""
        tenant, actor = self.principal.tenant, self.principal
        if "file" in request.FILES:
            upload = CustomerImportUploadSerializer(data=request.data)
            upload.is_valid(raise_exception=True)
            job = services.customer_import_create(
                tenant=tenant,
                actor=actor,
                upload=upload.validated_data["file"],
                format=upload.validated_data.get("format"),
            )
        else:
            body = CustomerImportRecordsSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            job = services.customer_import_create(tenant=tenant, actor=actor, records=body.validated_data["customers"])
        response = Response(CustomerImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}s/{job.pk}")
        return response


class CustomerImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Import jobs, newest first: status, progress (processedRows of totalRows, percent) and errors."""

    list_key = "customerImports"
    queryset = CustomerImport.objects.order_by("-created_at")
    serializer_class = CustomerImportSerializer


class SegmentViewSet(TenantModelViewSet):
    """Segments: filters over customer fields, kept as a database view of the matching customers."""

    list_key = "segments"
    queryset = Segment.objects.order_by("-created_at")
    serializer_class = SegmentSerializer
    create_service = staticmethod(services.segment_create)
    update_service = staticmethod(services.segment_update)
    delete_service = staticmethod(services.segment_delete)
    action_roles = {"preview": Role.VIEWER}

    @extend_schema(request=None, responses=SegmentSerializer)
    @action(detail=True, methods=["post"])
    def refresh(self, request: Request, pk: str | None = None) -> Response:
        """Recreate the segment's view from its filters and recount it."""
        segment = services.segment_refresh(
            tenant=self.principal.tenant, actor=self.principal, segment=self.get_object()
        )
        return self.output(segment)

    @extend_schema(request=SegmentPreviewRequestSerializer, responses=SegmentPreviewSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """Count and sample the customers some filters would select, without saving anything."""
        body = SegmentPreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        tenant = self.principal.tenant
        filters = selectors.validated_filters(tenant=tenant, filters=body.validated_data["filters"])
        count, sample = selectors.segment_preview(tenant=tenant, filters=filters)
        data = {"count": count, "sample": sample}
        return Response(SegmentPreviewSerializer(data, context=self.get_serializer_context()).data)

    @extend_schema(parameters=[SegmentCustomersQuerySerializer], responses=SegmentCustomersSerializer)
    @action(detail=True, methods=["get"])
    def customers(self, request: Request, pk: str | None = None) -> Response:
        """A page of the segment's customers by ascending id: ``?after=<id>&limit=``."""
        segment = self.get_object()
        query = SegmentCustomersQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if not selectors.segment_view_exists(segment):
            raise Conflict("The segment has no view yet: refresh it first.")
        limit = query.validated_data["limit"]
        ids = selectors.segment_customer_ids(segment, query.validated_data["after"], limit)
        customers = list(Customer.objects.filter(tenant=segment.tenant_id, id__in=ids).order_by("id"))
        data = {"customers": customers, "next_after": ids[-1] if len(ids) == limit else None}
        return Response(SegmentCustomersSerializer(data, context=self.get_serializer_context()).data)
