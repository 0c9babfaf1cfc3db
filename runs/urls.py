from __future__ import annotations

from rest_framework.routers import SimpleRouter

from runs import views

router = SimpleRouter(trailing_slash=False)
router.register("runs", views.RunViewSet, basename="run")

urlpatterns = router.urls
