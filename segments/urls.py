from __future__ import annotations

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from segments import views

router = SimpleRouter(trailing_slash=False)
# Before "customers": its detail route would otherwise read "imports" as an externalId.
router.register("customers/imports", views.CustomerImportViewSet, basename="customer-import")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("customer-schema", views.CustomerAttributeViewSet, basename="customer-attribute")
router.register("segments", views.SegmentViewSet, basename="segment")

urlpatterns: list[URLPattern | URLResolver] = list(router.urls)
