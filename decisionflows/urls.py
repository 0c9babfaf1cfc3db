from __future__ import annotations

from rest_framework.routers import SimpleRouter

from decisionflows import views

router = SimpleRouter(trailing_slash=False)
router.register("channels", views.ChannelViewSet, basename="channel")
router.register("offers", views.OfferViewSet, basename="offer")
router.register("creatives", views.CreativeViewSet, basename="creative")
router.register("contact-policies", views.ContactPolicyViewSet, basename="contact-policy")
router.register("decision-flows", views.DecisionFlowViewSet, basename="decision-flow")
router.register("contact-history", views.ContactHistoryViewSet, basename="contact-history")
router.register("recommend", views.RecommendViewSet, basename="recommend")

urlpatterns = router.urls
