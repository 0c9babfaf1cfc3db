"""Every journeys model is in the Django admin: lists, search and detail pages render."""

from __future__ import annotations

import pytest

from journeys import operations
from journeys.models import ExecutionRun, IdempotencyKey, JourneyClock, Plan, PlanVersion, RunEvent, Send
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
