"""Runs in the admin: inspected, and deleted only through the service (finished ones, audited)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from kaireon.models import AuditLog
from runs import services
from runs.models import Run
from tests.runs.conftest import Catalogue, pending_run

pytestmark = pytest.mark.django_db


def test_a_run_is_deleted_in_the_admin_through_the_service_once_finished(
    admin_client: Client, admin_user: Any, catalogue: Catalogue
) -> None:
    tenant = catalogue.tenant
    run = pending_run(catalogue)
    delete = reverse("admin:runs_run_delete", args=[run.pk])
    refused = admin_client.post(delete, {"post": "yes"}, follow=True)
    assert refused.status_code == 200
    assert Run.objects.filter(pk=run.pk).exists()
    texts = [str(message) for message in get_messages(refused.wsgi_request)]
    assert texts == ["Not deleted: Run is pending; cancel it before deleting it."]
    services.run_execute_inline(run_id=run.pk)
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Run.objects.filter(pk=run.pk).exists()
    entry = AuditLog.objects.get(tenant=tenant, object_id=run.pk, action="delete")
    assert entry.actor_label == admin_user.username
