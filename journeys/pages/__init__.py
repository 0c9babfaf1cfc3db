"""Web pages of the journeys app, by subject:

- ``plans``: the plans list, a plan's steps drawn in order with live counts, its versions;
- ``editing``: create / edit / publish / delete a plan;
- ``bulk``: bulk enrol from a segment (with a dry-run preview first) and bulk cancel;
- ``runs``: the execution runs list with the filters of docs/api-contract.md §3.4, one run's
  fields and event timeline, pause / resume / cancel.

Thin, as runs/pages.py: reads through journeys.selectors, every change through
journeys.services; ``tenant_page`` refuses lesser roles (403) and another tenant's plan or run is
a 404."""

from __future__ import annotations

from django.urls import path

from journeys.pages.bulk import plan_cancel_runs, plan_enrol
from journeys.pages.editing import plan_delete, plan_edit, plan_new, plan_publish
from journeys.pages.plans import plan_detail, plan_list, plan_live
from journeys.pages.runs import (
    execution_run_cancel,
    execution_run_pause,
    execution_run_resume,
    run_detail,
    run_list,
    run_live,
)

app_name = "journeys"

urlpatterns = [
    path("journeys/", plan_list, name="list"),
    path("journeys/new/", plan_new, name="new"),
    path("journeys/runs/", run_list, name="runs"),
    path("journeys/runs/<uuid:run_id>/", run_detail, name="run"),
    path("journeys/runs/<uuid:run_id>/live/", run_live, name="run-live"),
    path("journeys/runs/<uuid:run_id>/pause/", execution_run_pause, name="run-pause"),
    path("journeys/runs/<uuid:run_id>/resume/", execution_run_resume, name="run-resume"),
    path("journeys/runs/<uuid:run_id>/cancel/", execution_run_cancel, name="run-cancel"),
    path("journeys/<str:plan_id>/", plan_detail, name="detail"),
    path("journeys/<str:plan_id>/live/", plan_live, name="live"),
    path("journeys/<str:plan_id>/edit/", plan_edit, name="edit"),
    path("journeys/<str:plan_id>/publish/", plan_publish, name="publish"),
    path("journeys/<str:plan_id>/delete/", plan_delete, name="delete"),
    path("journeys/<str:plan_id>/enrol/", plan_enrol, name="enrol"),
    path("journeys/<str:plan_id>/cancel-runs/", plan_cancel_runs, name="cancel-runs"),
]
