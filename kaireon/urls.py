from __future__ import annotations

from rest_framework.routers import SimpleRouter

from kaireon import views

router = SimpleRouter(trailing_slash=False)
router.register("tenants", views.TenantViewSetForMembers, basename="tenant")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("audit-logs", views.AuditLogViewSet, basename="audit-log")

urlpatterns = router.urls
