"""A campaign's runs at scale (GET /api/v1/campaigns/{id}/campaign-runs): the exact total from the
counters per campaign (kaireon/listcounts.py), a page that loads only what a row shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import services
from campaigns.models import CampaignRun
from runs import services as run_services
from runs.models import Run
from tests.campaigns.helpers import ok
from tests.campaigns.test_api import trigger

pytestmark = pytest.mark.django_db


def listed(client, campaign) -> dict:
    return ok(client.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs"))


def test_totals_are_per_campaign_and_follow_deletes(editor, viewer, outsider, campaign, make_campaign, system_actor):
    other = make_campaign(name="Other")
    for _ in range(3):
        ok(trigger(editor, campaign.pk), 201)
    for _ in range(2):
        body = ok(trigger(editor, other.pk), 201)
        run_services.run_cancel(tenant=campaign.tenant, actor=system_actor, run=Run.objects.get(pk=body["runId"]))
    assert (listed(viewer, campaign)["total"], listed(viewer, other)["total"]) == (3, 2)
    with CaptureQueriesContext(connection) as queries:
        listed(viewer, campaign)
    counted = any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert counted is (connection.vendor != "postgresql")  # PostgreSQL reads the counters
    services.campaign_delete(tenant=campaign.tenant, actor=system_actor, instance=other)
    assert listed(viewer, campaign)["total"] == CampaignRun.objects.filter(campaign=campaign).count() == 3
    assert outsider.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs").status_code == 404


def test_the_page_loads_only_what_a_row_shows(editor, viewer, campaign):
    body = ok(trigger(editor, campaign.pk), 201)
    run_services.run_execute_inline(run_id=body["runId"])
    assert Run.objects.get(pk=body["runId"]).summary
    with CaptureQueriesContext(connection) as queries:
        page = listed(viewer, campaign)
    sql = next(q["sql"] for q in queries.captured_queries if '"campaigns_campaignrun"."run_number"' in q["sql"])
    for column in ("summary", "error_context", "volume_constraints", "columns"):
        assert f'."{column}"' not in sql, column
    detail = ok(viewer.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs/{body['id']}"))
    assert page["campaignRuns"] == [detail]
    assert detail["status"] == "completed"
