"""Base classes for tenant-owned resources.

A resource viewset names its list key and its services; the base class scopes every query to
the principal's tenant (another tenant's id is a 404) and routes writes through the services:

    class ChannelViewSet(TenantModelViewSet):
        list_key = "channels"
        queryset = Channel.objects.all()
        serializer_class = ChannelSerializer
        create_service = staticmethod(services.channel_create)
        update_service = staticmethod(services.channel_update)
        delete_service = staticmethod(services.channel_delete)

Services take ``tenant``, ``actor`` and either ``data`` (create) or ``instance`` + ``data``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from kaireon.pagination import list_pagination
from kaireon.principal import Principal
from kaireon.services import instance_create, instance_delete, instance_update


class TenantViewSet(viewsets.GenericViewSet):
    list_key: ClassVar[str] = "results"
    #: the serializer of the response body when it differs from the request's
    output_serializer_class: ClassVar[type[BaseSerializer] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.pagination_class = list_pagination(cls.list_key)

    @property
    def principal(self) -> Principal:
        principal = self.request.auth
        assert isinstance(principal, Principal), "RolePermission runs before any handler"
        return principal

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset.filter(tenant=self.principal.tenant)

    def output(self, instance: Any, *, status_code: int = status.HTTP_200_OK, **context: Any) -> Response:
        serializer_class = self.output_serializer_class or self.get_serializer_class()
        body = serializer_class(instance, context={**self.get_serializer_context(), **context}).data
        return Response(body, status=status_code)


class TenantModelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantViewSet,
):
    create_service: ClassVar[Callable[..., Model] | None] = None
    update_service: ClassVar[Callable[..., Model] | None] = None
    delete_service: ClassVar[Callable[..., None] | None] = None

    def perform_create(self, serializer: BaseSerializer) -> None:
        service = type(self).create_service
        data = dict(serializer.validated_data)
        if service is None:
            model = self.get_queryset().model
            serializer.instance = instance_create(
                tenant=self.principal.tenant, actor=self.principal, model=model, data=data
            )
        else:
            serializer.instance = service(tenant=self.principal.tenant, actor=self.principal, data=data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        service: Callable[..., Any] = type(self).update_service or instance_update
        data = dict(serializer.validated_data)
        serializer.instance = service(
            tenant=self.principal.tenant, actor=self.principal, instance=serializer.instance, data=data
        )

    def perform_destroy(self, instance: Model) -> None:
        service = type(self).delete_service or instance_delete
        service(tenant=self.principal.tenant, actor=self.principal, instance=instance)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        instance: Any = serializer.instance
        response = self.output(instance, status_code=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{instance.pk}")
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return self.output(serializer.instance)
