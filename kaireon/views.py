from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kaireon import services
from kaireon.filters import ApiKeyFilter, AuditLogFilter
from kaireon.models import ApiKey, AuditLog, Membership, Role, Tenant
from kaireon.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    AuditLogSerializer,
    MembershipListSerializer,
    RevokeSerializer,
    TenantSerializer,
)
from kaireon.viewsets import TenantViewSet


class TenantViewSetForMembers(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The tenants the caller acts in: every membership of a signed-in user, the key's own tenant."""

    list_key = "tenants"
    serializer_class = TenantSerializer
    queryset = Tenant.objects.all()

    def _roles(self) -> dict[str, str]:
        principal = self.principal
        if principal.user is None:
            return {principal.tenant.pk: principal.role}
        return dict(Membership.objects.filter(user=principal.user).values_list("tenant_id", "role"))

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Tenant.objects.none()
        return Tenant.objects.filter(pk__in=list(self._roles())).order_by("name")

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["roles"] = self._roles()
        return context

    @extend_schema(responses=MembershipListSerializer)
    @action(detail=True, methods=["get"], url_path="members", filter_backends=[], pagination_class=None)
    def members(self, request: Request, pk: str | None = None) -> Response:
        """The members of the caller's current tenant and their roles (admin)."""
        tenant = self.get_object()
        if tenant.pk != self.principal.tenant.pk or not self.principal.is_admin:
            raise exceptions.PermissionDenied("Listing members requires the admin role in this tenant.")
        members = list(Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__username"))
        body = {"members": members, "total": len(members)}
        return Response(MembershipListSerializer(body, context=self.get_serializer_context()).data)


class ApiKeyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """API keys of the tenant. Admins only. The secret is in the create response and nowhere else."""

    list_key = "apiKeys"
    minimum_role = Role.ADMIN
    queryset = ApiKey.objects.select_related("created_by").order_by("-created_at")
    serializer_class = ApiKeySerializer
    filterset_class = ApiKeyFilter

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ApiKeySerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        key, raw = services.api_key_create(
            tenant=self.principal.tenant, actor=self.principal, **serializer.validated_data
        )
        key.key = raw  # type: ignore[attr-defined]
        response = Response(
            ApiKeyCreatedSerializer(key, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{key.pk}")
        return response

    @extend_schema(request=RevokeSerializer, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke the key: later requests with it get 401. Revoking twice is harmless."""
        serializer = RevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = services.api_key_revoke(
            tenant=self.principal.tenant, actor=self.principal, key=self.get_object(), **serializer.validated_data
        )
        return self.output(key)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Revokes the key (keys are kept for the audit trail)."""
        services.api_key_revoke(tenant=self.principal.tenant, actor=self.principal, key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The tenant's audit trail, newest first. Admins only."""

    list_key = "auditLogs"
    minimum_role = Role.ADMIN
    queryset = AuditLog.objects.order_by("-id")
    serializer_class = AuditLogSerializer
    filterset_class = AuditLogFilter


def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachability; 503 when either is down."""
    import redis
    from django.conf import settings

    checks: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001  (any failure means "down"; report it, don't raise)
        checks["database"] = {"ok": False, "error": str(exc)}
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        checks["broker"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = {"ok": False, "error": str(exc)}
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if ok else "degraded", "checks": checks}, status=200 if ok else 503)


# Exempt: the API's callers send keys, not CSRF tokens, and Django's CSRF check runs before the
# view; without this a POST, PUT, PATCH or DELETE to an unknown path got the HTML "403 CSRF" page.
@csrf_exempt
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any /api/v1/ path no route serves (a malformed id, a trailing slash), whatever the method
    and the credentials: the API's own 404 shape, not an HTML page."""
    return JsonResponse(
        {"status": 404, "error": f"No API endpoint at {request.path}.", "code": "not_found"}, status=404
    )
