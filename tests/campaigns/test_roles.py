"""Roles on every campaign endpoint (docs/api-contract.md §2.11): viewer reads, editor creates, updates and
triggers, admin deletes, anonymous gets 401 and another tenant's admin gets 404."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, CampaignRun

pytestmark = pytest.mark.django_db


def requests(campaign, catalogue):
    detail = f"/api/v1/campaigns/{campaign.pk}"
    runs = f"{detail}/campaign-runs"
    create = {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk}
    return {
        "list": ("get", "/api/v1/campaigns", None),
        "detail": ("get", detail, None),
        "campaign_runs": ("get", runs, None),
        "create": ("post", "/api/v1/campaigns", create),
        "put": ("put", detail, {"name": "Renamed"}),
        "patch": ("patch", detail, {"description": "Notes"}),
        "trigger": ("post", runs, None),
        "delete": ("delete", detail, None),
    }


def send(client, spec):
    method, path, body = spec
    return getattr(client, method)(path, body, format="json")


ALLOWED = {
    "viewer": {"list": 200, "detail": 200, "campaign_runs": 200},
    "editor": {
        "list": 200,
        "detail": 200,
        "campaign_runs": 200,
        "create": 201,
        "put": 200,
        "patch": 200,
        "trigger": 201,
    },
    "admin": {
        "list": 200,
        "detail": 200,
        "campaign_runs": 200,
        "create": 201,
        "put": 200,
        "patch": 200,
        "trigger": 201,
        "delete": 204,
    },
}
ACTIONS = ["list", "detail", "campaign_runs", "create", "put", "patch", "trigger", "delete"]


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
@pytest.mark.parametrize("name", ACTIONS)
def test_role_matrix(request, campaign, catalogue, role, name):
    client = request.getfixturevalue(role)
    response = send(client, requests(campaign, catalogue)[name])
    expected = ALLOWED[role].get(name, 403)
    assert response.status_code == expected, response.content
    if expected == 403:
        assert "requires the" in response.json()["error"]


def test_viewer_changes_nothing(viewer, campaign, catalogue):
    for name in ("create", "put", "patch", "trigger", "delete"):
        send(viewer, requests(campaign, catalogue)[name])
    campaign.refresh_from_db()
    assert campaign.name == "Weekly High-Value Campaign"
    assert Campaign.objects.count() == 1
    assert not CampaignRun.objects.exists()


@pytest.mark.parametrize("name", ACTIONS)
def test_anonymous_is_401(anonymous, campaign, catalogue, name):
    assert send(anonymous, requests(campaign, catalogue)[name]).status_code == 401


@pytest.mark.parametrize("name", ["detail", "campaign_runs", "put", "patch", "trigger", "delete"])
def test_another_tenants_admin_gets_404(outsider, campaign, catalogue, name):
    response = send(outsider, requests(campaign, catalogue)[name])
    assert response.status_code == 404, response.content
    campaign.refresh_from_db()
    assert campaign.name == "Weekly High-Value Campaign"
    assert not CampaignRun.objects.exists()


def test_another_tenants_list_does_not_show_the_campaign(outsider, campaign):
    assert outsider.get("/api/v1/campaigns").json() == {"campaigns": [], "total": 0}
