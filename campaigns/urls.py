from __future__ import annotations

from rest_framework.routers import SimpleRouter

from campaigns import views

router = SimpleRouter(trailing_slash=False)
router.register("campaigns", views.CampaignViewSet, basename="campaign")

urlpatterns = router.urls
