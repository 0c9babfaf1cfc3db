from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from console.pages import customer_urlpatterns
from kaireon.views import api_not_found, healthz
from segments import pages as segments_pages

api_v1: list[URLPattern | URLResolver] = [
    path("", include("kaireon.urls")),
    path("", include("decisionflows.urls")),
    path("", include("segments.urls")),
    path("", include("runs.urls")),
    path("", include("campaigns.urls")),
    path("", include("journeys.urls")),
    # last: whatever no route above serves answers in the API's error shape
    re_path(r"^(?P<path>.*)$", api_not_found),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves its init script as a file: no inline script for the CSP to refuse
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("", include("kaireon.pages")),
    path("", include("console.pages")),
    path("", include("runs.pages")),
    path("", include("decisionflows.pages")),
    # one namespace, as before: the customers list is the segments app's, one customer's page
    # (decisions, runs) the console's
    path("", include((segments_pages.urlpatterns + customer_urlpatterns, segments_pages.app_name))),
    path("", include("campaigns.pages")),
    path("", include("journeys.pages")),
]
