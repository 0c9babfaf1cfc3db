from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from journeys import public, views

router = SimpleRouter(trailing_slash=False)
# Runs first: /journeys/runs is not a plan (plan ids match plan_…, run ids are UUIDs).
router.register("journeys/runs", views.ExecutionRunViewSet, basename="journey-run")
router.register("journeys", views.PlanViewSet, basename="journey")

urlpatterns: list[URLPattern | URLResolver] = [
    path("public/journeys/runs/<str:runId>", public.PublicRunView.as_view(), name="public-journey-run"),
    path("public/journeys/<str:journeyId>/trigger", public.PublicTriggerView.as_view(), name="public-journey-trigger"),
    *router.urls,
]
