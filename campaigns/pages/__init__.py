"""Web pages of campaigns, by subject: the list (``listing``), the create/edit form with its
schedule builder and live next-occurrences preview (``form``), the detail with its run history,
live while a run goes, and result-file downloads (``detail``), the trigger, status, delete and
retry-deliveries buttons (``actions``), and the agents' work queue of manual-channel deliveries
(``work_queue``).

Thin: reads go through campaigns.selectors, changes through campaigns.services (and
campaigns.deliveries for the delivery actions); ``tenant_page`` refuses what the role may not do
(403) and scopes to the tenant (another tenant's campaign or work item is a 404)."""

from __future__ import annotations

from django.urls import path

from campaigns.pages import actions, detail, form, listing, work_queue

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", listing.campaign_list, name="list"),
    path("campaigns/new/", form.campaign_new, name="new"),
    path("campaigns/schedule-preview/", form.schedule_preview, name="schedule-preview"),
    path("campaigns/work-queue/", work_queue.work_queue, name="work-queue"),
    path("campaigns/work-queue/<int:item_id>/done/", work_queue.work_item_done, name="work-item-done"),
    path("campaigns/<str:campaign_id>/", detail.campaign_detail, name="detail"),
    path("campaigns/<str:campaign_id>/edit/", form.campaign_edit, name="edit"),
    path("campaigns/<str:campaign_id>/history/", detail.campaign_history, name="history"),
    path("campaigns/<str:campaign_id>/trigger/", actions.campaign_trigger, name="trigger"),
    path("campaigns/<str:campaign_id>/status/", actions.campaign_set_status, name="status"),
    path("campaigns/<str:campaign_id>/delete/", actions.campaign_delete, name="delete"),
    path("campaigns/<str:campaign_id>/runs/<str:crun_id>/file/", detail.campaign_run_file, name="run-file"),
    path("campaigns/<str:campaign_id>/runs/<str:crun_id>/retry/", actions.campaign_run_retry, name="run-retry"),
]
