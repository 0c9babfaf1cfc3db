"""Every journeys model is in the Django admin: lists, search and detail pages render."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from journeys import operations
from journeys.models import ExecutionRun, IdempotencyKey, JourneyClock, Plan, PlanVersion, RunEvent, Send
from kaireon.models import Tenant
from tests.journeys.conftest import advance, reachable_customers

pytestmark = pytest.mark.django_db


def test_admin_pages_render(admin_client, tenant, welcome):
    run = operations.execute(welcome, reachable_customers(tenant, 1)[0])
    advance()
    IdempotencyKey.objects.create(tenant=tenant, key="k-1", request_hash="0" * 64, run=run)
    objects = {
        Plan: welcome,
        PlanVersion: PlanVersion.objects.get(plan=welcome),
        ExecutionRun: run,
        RunEvent: RunEvent.objects.filter(run=run).first(),
        Send: Send.objects.get(run=run),
        IdempotencyKey: IdempotencyKey.objects.get(),
        JourneyClock: JourneyClock.objects.get(),
    }
    for model, instance in objects.items():
        name = model._meta.model_name
        listing = admin_client.get(f"/admin/journeys/{name}/", {"q": "x"})
        assert listing.status_code == 200, name
        detail = admin_client.get(f"/admin/journeys/{name}/{instance.pk}/change/")
        assert detail.status_code == 200, name
    # published versions and runs are shown, not edited
    version = objects[PlanVersion]
    response = admin_client.post(f"/admin/journeys/planversion/{version.pk}/change/", {"steps": "[]"})
    assert response.status_code == 403
    assert PlanVersion.objects.get(pk=version.pk).steps


def test_a_drafts_steps_edited_in_the_admin_go_through_the_plan_service(
    admin_client: Client, admin_user: Any, tenant: Tenant
) -> None:
    from journeys import services
    from kaireon.models import AuditLog, Role
    from kaireon.principal import Principal

    plan = services.plan_create(
        tenant=tenant, actor=Principal(tenant=tenant, role=Role.ADMIN), data={"key": "p", "name": "P"}
    )
    draft = PlanVersion.objects.get(plan=plan)
    change = f"/admin/journeys/planversion/{draft.pk}/change/"
    refused = admin_client.post(change, {"steps": '["not a step"]'})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {"steps": ["a list of step objects"]}
    steps = [{"id": "end", "type": "end"}]
    assert admin_client.post(change, {"steps": '[{"id": "end", "type": "end"}]'}).status_code == 302
    assert PlanVersion.objects.get(pk=draft.pk).steps == steps
    entry = AuditLog.objects.filter(tenant=tenant, object_id=plan.pk).latest("id")
    assert (entry.action, entry.actor_label, entry.after) == (
        "update",
        admin_user.username,
        {"steps": steps, "version": 1},
    )


def test_a_plan_is_deleted_in_the_admin_with_its_versions_through_the_service(
    admin_client: Client, tenant: Tenant, welcome: Plan
) -> None:
    from kaireon.models import AuditLog

    response = admin_client.post(f"/admin/journeys/plan/{welcome.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Plan.objects.filter(pk=welcome.pk).exists()
    assert AuditLog.objects.filter(tenant=tenant, object_id=welcome.pk, action="delete").exists()
