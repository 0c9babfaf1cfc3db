from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from decisionflows.models import DecisionFlow
from kaireon.models import Tenant
from tests.decisionflows.factories import (
    ContactHistoryFactory,
    ContactPolicyFactory,
    CreativeFactory,
    DecisionFlowVersionFactory,
)

MODELS = ["channel", "offer", "creative", "contactpolicy", "contacthistory", "decisionflow", "decisionflowversion"]


@pytest.fixture
def staff(db: None) -> Client:
    client = Client()
    # force_login needs no password: skip the factory's (deliberately slow) hashing
    client.force_login(get_user_model().objects.create(username="staff", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def objects(tenant):
    creative = CreativeFactory.create(tenant=tenant)
    version = DecisionFlowVersionFactory.create(flow__tenant=tenant)
    return {
        "channel": creative.channel,
        "offer": creative.offer,
        "creative": creative,
        "contactpolicy": ContactPolicyFactory.create(tenant=tenant),
        "contacthistory": ContactHistoryFactory.create(tenant=tenant),
        "decisionflow": version.flow,
        "decisionflowversion": version,
    }


@pytest.mark.parametrize("model", MODELS)
def test_admin_changelist_search_and_change_pages_render(staff, objects, model):
    changelist = reverse(f"admin:decisionflows_{model}_changelist")
    assert staff.get(changelist).status_code == 200
    assert staff.get(changelist, {"q": "x"}).status_code == 200
    assert staff.get(reverse(f"admin:decisionflows_{model}_change", args=[objects[model].pk])).status_code == 200


def test_admin_offer_page_shows_its_creatives_and_flow_page_its_versions(staff, objects):
    offer_page = staff.get(reverse("admin:decisionflows_offer_change", args=[objects["offer"].pk]))
    assert objects["creative"].name in offer_page.content.decode()
    flow_page = staff.get(reverse("admin:decisionflows_decisionflow_change", args=[objects["decisionflow"].pk]))
    assert "factory" in flow_page.content.decode()  # the version's published_by


def test_admin_rejects_an_invalid_pipeline(staff, tenant):
    response = staff.post(
        reverse("admin:decisionflows_decisionflow_add"),
        {
            "tenant": tenant.pk,
            "key": "bad",
            "name": "Bad",
            "status": "draft",
            "pipeline": '[{"type": "rank"}]',
            "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "pipeline[0].rank: the first node must be an inventory node" in response.content.decode()
    assert not DecisionFlow.objects.exists()


def test_admin_lists_every_contact_read_only_run_recommendations_included(staff, tenant):
    from urllib.parse import quote

    from django.contrib.admin.utils import quote as admin_quote

    from decisionflows.models import Contact
    from kaireon.models import Role
    from kaireon.principal import Principal
    from runs import services as runs
    from tests.runs.conftest import build_catalogue

    catalogue = build_catalogue(tenant)
    journey = ContactHistoryFactory.create(tenant=tenant, source="journey", source_id="plan_1")
    run = runs.run_create(
        tenant=tenant,
        actor=Principal(tenant=tenant, role=Role.ADMIN),
        decision_flow_id=catalogue.flow.pk,
        segment_id=catalogue.everyone.pk,
        dispatch=False,
    )
    runs.run_execute_inline(run_id=run.pk)
    from_run = Contact.objects.filter(source="run", source_id=run.pk).select_related("customer").first()
    assert from_run is not None
    changelist = reverse("admin:decisionflows_contact_changelist")
    listed = staff.get(changelist, {"source": "run"}).content.decode()
    assert from_run.customer.external_id in listed
    assert staff.get(changelist, {"q": journey.customer.external_id}).status_code == 200
    page = staff.get(reverse("admin:decisionflows_contact_change", args=[admin_quote(from_run.pk)]))
    assert page.status_code == 200
    assert quote(run.pk) in page.content.decode()
    assert staff.get(reverse("admin:decisionflows_contact_add")).status_code == 403


def test_a_flow_is_deleted_in_the_admin_with_its_versions_through_the_service(
    staff: Client, objects: dict[str, Any], tenant: Tenant
) -> None:
    from kaireon.models import AuditLog

    flow = objects["decisionflow"]
    confirm = staff.get(reverse("admin:decisionflows_decisionflow_delete", args=[flow.pk]))
    assert "Are you sure" in confirm.content.decode()
    response = staff.post(reverse("admin:decisionflows_decisionflow_delete", args=[flow.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not DecisionFlow.objects.filter(pk=flow.pk).exists()
    assert AuditLog.objects.get(tenant=tenant, object_id=flow.pk).actor_label == "staff"
