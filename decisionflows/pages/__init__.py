"""Web pages of the catalogue, one module per subject: its overview, offers with their
creatives, channels, contact policies and decision flows (the pipeline drawn node by node,
versions, publish). Thin: reads go through ``decisionflows.selectors``, every change through
``decisionflows.services``; ``tenant_page`` refuses what the role may not do (403), another
tenant's object is a 404."""

from __future__ import annotations

from django.urls import path

from decisionflows.pages.channels import channel_create, channel_delete, channel_edit, channel_list
from decisionflows.pages.flows import (
    flow_create,
    flow_delete,
    flow_detail,
    flow_edit,
    flow_list,
    flow_publish,
    flow_version,
)
from decisionflows.pages.offers import (
    creative_create,
    creative_delete,
    creative_edit,
    offer_create,
    offer_delete,
    offer_detail,
    offer_edit,
    offer_list,
)
from decisionflows.pages.overview import catalogue_index
from decisionflows.pages.policies import policy_create, policy_delete, policy_edit, policy_list

app_name = "decisionflows"

urlpatterns = [
    path("catalogue/", catalogue_index, name="index"),
    path("catalogue/offers/", offer_list, name="offer-list"),
    path("catalogue/offers/new/", offer_create, name="offer-create"),
    path("catalogue/offers/<str:offer_id>/", offer_detail, name="offer-detail"),
    path("catalogue/offers/<str:offer_id>/edit/", offer_edit, name="offer-edit"),
    path("catalogue/offers/<str:offer_id>/delete/", offer_delete, name="offer-delete"),
    path("catalogue/offers/<str:offer_id>/creatives/new/", creative_create, name="creative-create"),
    path("catalogue/offers/<str:offer_id>/creatives/<str:creative_id>/edit/", creative_edit, name="creative-edit"),
    path(
        "catalogue/offers/<str:offer_id>/creatives/<str:creative_id>/delete/", creative_delete, name="creative-delete"
    ),
    path("catalogue/channels/", channel_list, name="channel-list"),
    path("catalogue/channels/new/", channel_create, name="channel-create"),
    path("catalogue/channels/<str:channel_id>/edit/", channel_edit, name="channel-edit"),
    path("catalogue/channels/<str:channel_id>/delete/", channel_delete, name="channel-delete"),
    path("catalogue/policies/", policy_list, name="policy-list"),
    path("catalogue/policies/new/", policy_create, name="policy-create"),
    path("catalogue/policies/<str:policy_id>/edit/", policy_edit, name="policy-edit"),
    path("catalogue/policies/<str:policy_id>/delete/", policy_delete, name="policy-delete"),
    path("catalogue/flows/", flow_list, name="flow-list"),
    path("catalogue/flows/new/", flow_create, name="flow-create"),
    path("catalogue/flows/<str:flow_id>/", flow_detail, name="flow-detail"),
    path("catalogue/flows/<str:flow_id>/versions/<int:number>/", flow_version, name="flow-version"),
    path("catalogue/flows/<str:flow_id>/edit/", flow_edit, name="flow-edit"),
    path("catalogue/flows/<str:flow_id>/publish/", flow_publish, name="flow-publish"),
    path("catalogue/flows/<str:flow_id>/delete/", flow_delete, name="flow-delete"),
]
