"""The runs list: columns, status badges, progress while running, filters, pagination, query count."""

from __future__ import annotations

import re

import pytest

from kaireon.models import Role
from runs.models import Run, RunStatus
from tests.pages.conftest import new_run

pytestmark = pytest.mark.django_db


def row_names(html: str) -> list[str]:
    return re.findall(r'<td class="primary-cell"><a href="/runs/run_[^/]+/">([^<]+)</a>', html)


@pytest.mark.parametrize(("role", "can_create"), [(Role.VIEWER, False), (Role.EDITOR, True), (Role.ADMIN, True)])
def test_list_renders_for_every_role(client_as, tenant, finished_run, role, can_create):
    response = client_as(tenant, role).get("/runs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert row_names(html) == ["Done run"]
    assert "Next Best Action" in html
    assert "All customers" in html
    assert 'class="badge badge-ok status-completed"' in html
    assert ('href="/runs/new/"' in html) is can_create


def test_running_run_shows_bar_percent_and_eta_and_the_table_polls(as_viewer, running_run):
    html = as_viewer.get("/runs/").content.decode()
    assert 'class="badge badge-info status-running"' in html
    assert 'aria-valuenow="33.3"' in html
    assert "33.3%" in html
    assert "ETA 20 s" in html
    assert 'hx-trigger="every 2s"' in html


def test_polled_table_answers_a_fragment_and_286_once_nothing_runs(as_viewer, running_run):
    response = as_viewer.get("/runs/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Going run" in html
    Run.objects.filter(pk=running_run.pk).update(status=RunStatus.CANCELLED)
    response = as_viewer.get("/runs/", HTTP_HX_REQUEST="true")
    assert response.status_code == 286


def test_filters_by_status_flow_and_segment(as_viewer, catalogue, running_run, finished_run):
    gold = new_run(catalogue, name="Gold only", segment_id=catalogue.gold.pk)
    assert row_names(as_viewer.get("/runs/?status=running").content.decode()) == ["Going run"]
    assert row_names(as_viewer.get("/runs/?status=pending").content.decode()) == ["Gold only"]
    assert row_names(as_viewer.get(f"/runs/?segment={gold.segment_id}").content.decode()) == ["Gold only"]
    assert len(row_names(as_viewer.get(f"/runs/?flow={catalogue.flow.pk}").content.decode())) == 3
    assert row_names(as_viewer.get("/runs/?flow=df_nope").content.decode()) == []
    empty = as_viewer.get("/runs/?status=failed").content.decode()
    assert "No runs match these filters" in empty
    # an unknown status is ignored rather than an error
    assert len(row_names(as_viewer.get("/runs/?status=bogus").content.decode())) == 3


def test_empty_list_invites_editors_to_create_a_run(as_editor, as_viewer, catalogue):
    assert "No runs yet" in as_editor.get("/runs/").content.decode()
    assert 'class="btn btn-primary" href="/runs/new/"' in as_editor.get("/runs/").content.decode()
    assert 'href="/runs/new/"' not in as_viewer.get("/runs/").content.decode()


def test_paginates_by_fifty(as_viewer, catalogue):
    Run.objects.bulk_create(
        [
            Run(
                tenant=catalogue.tenant,
                name=f"bulk {index:02d}",
                decision_flow=catalogue.flow,
                flow_version=catalogue.flow.versions.get(),
                segment=catalogue.everyone,
                segment_name="All customers",
            )
            for index in range(55)
        ]
    )
    first = as_viewer.get("/runs/").content.decode()
    assert len(row_names(first)) == 50
    assert "Showing <strong>1\N{EN DASH}50</strong> of <strong>55</strong>" in first
    assert 'href="?page=2"' in first
    second = as_viewer.get("/runs/?page=2").content.decode()
    assert len(row_names(second)) == 5
    assert set(row_names(first)).isdisjoint(row_names(second))


def test_other_tenants_runs_are_not_listed(as_outsider, finished_run):
    assert row_names(as_outsider.get("/runs/").content.decode()) == []


def test_list_query_count_does_not_grow_with_runs(as_viewer, catalogue, django_assert_num_queries):
    for index in range(2):
        new_run(catalogue, name=f"first {index}")
    as_viewer.get("/runs/")
    # session, user, membership (principal), count, page (flow, segment, version joined),
    # flow and segment filter choices, memberships (switcher)
    with django_assert_num_queries(8):
        as_viewer.get("/runs/")
    for index in range(30):
        new_run(catalogue, name=f"more {index}", segment_id=catalogue.gold.pk)
    with django_assert_num_queries(8):
        response = as_viewer.get("/runs/")
    assert len(row_names(response.content.decode())) == 32
    # the polled table: no filter choices, no switcher
    with django_assert_num_queries(5):
        as_viewer.get("/runs/", HTTP_HX_REQUEST="true")
