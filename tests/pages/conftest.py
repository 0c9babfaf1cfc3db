"""Signed-in web clients of each role, and runs in each state, for the page tests.

``as_viewer``, ``as_editor``, ``as_admin``: Django test clients of users of ``tenant`` with that
role; ``as_outsider``: an admin of ``other_tenant`` (must see 404s for ``tenant``'s runs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from kaireon.models import Role, Tenant
from kaireon.principal import Principal
from runs import services
from runs.models import Run
from tests.factories import MembershipFactory, UserFactory
from tests.runs.conftest import Catalogue, build_catalogue

ClientAs = Callable[..., Client]


@pytest.fixture
def client_as(db: None) -> ClientAs:
    def make(tenant: Tenant, role: str, *, staff: bool = False) -> Client:
        user = UserFactory.create(username=f"{role}{'-staff' if staff else ''}-{tenant.slug}", is_staff=staff)
        MembershipFactory.create(user=user, tenant=tenant, role=role)
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def as_viewer(client_as: ClientAs, tenant: Tenant) -> Client:
    return client_as(tenant, Role.VIEWER)


@pytest.fixture
def as_editor(client_as: ClientAs, tenant: Tenant) -> Client:
    return client_as(tenant, Role.EDITOR)


@pytest.fixture
def as_admin(client_as: ClientAs, tenant: Tenant) -> Client:
    return client_as(tenant, Role.ADMIN)


@pytest.fixture
def as_outsider(client_as: ClientAs, other_tenant: Tenant) -> Client:
    return client_as(other_tenant, Role.ADMIN)


@pytest.fixture
def catalogue(tenant: Tenant) -> Catalogue:
    return build_catalogue(tenant)


def new_run(catalogue: Catalogue, *, name: str = "", segment_id: str | None = None) -> Run:
    return services.run_create(
        tenant=catalogue.tenant,
        actor=Principal(tenant=catalogue.tenant, role=Role.ADMIN),
        decision_flow_id=catalogue.flow.pk,
        segment_id=segment_id or catalogue.everyone.pk,
        name=name,
        dispatch=False,
    )


@pytest.fixture
def pending_run(catalogue: Catalogue) -> Run:
    return new_run(catalogue, name="Waiting run")


@pytest.fixture
def running_run(catalogue: Catalogue, settings, monkeypatch) -> Run:
    """60 customers in 3 chunks of 20, one done: 33.3 %, started 10 s ago (2 customers/s, 20 s
    left). The run's clock stands still, so rate and ETA do not drift while a test runs."""
    settings.RUNS_CHUNK_SIZE = 20
    run = new_run(catalogue, name="Going run")
    chunk_ids = services.run_plan(run_id=run.pk, dispatch=False)
    services.run_chunk_process(chunk_id=chunk_ids[0], worker="test", finalize=False)
    now = timezone.now()
    monkeypatch.setattr("runs.models.timezone", SimpleNamespace(now=lambda: now))
    Run.objects.filter(pk=run.pk).update(started_at=now - timedelta(seconds=10))
    return Run.objects.get(pk=run.pk)


@pytest.fixture
def finished_run(catalogue: Catalogue, settings) -> Run:
    settings.RUNS_CHUNK_SIZE = 25
    run = new_run(catalogue, name="Done run")
    return services.run_execute_inline(run_id=run.pk)


def field_errors(html: str, field: str) -> list[str]:
    """The error messages rendered beside ``field`` (``<p class="field-error" id="<field>-error">``)."""
    pattern = rf'<p class="field-error" id="{re.escape(field)}-error">(.*?)</p>'
    return re.findall(pattern, html, flags=re.S)
