"""The new-run page: editors only, the validation cases of docs/api-contract.md §1.5 shown beside their field, the
ad-hoc filter's live count, and a created run that lands on its detail page."""

from __future__ import annotations

import json

import pytest

from decisionflows.models import Channel, DecisionFlow
from kaireon.models import Role
from runs.models import Run, RunStatus
from segments.models import Segment
from tests.pages.conftest import field_errors

pytestmark = pytest.mark.django_db


def form_data(catalogue, **changes):
    data = {
        "decision_flow": catalogue.flow.pk,
        "audience": "segment",
        "segment": catalogue.everyone.pk,
        "filters": "",
        "channels": [catalogue.email.pk, catalogue.sms.pk],
        "name": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- roles ---------------------------------------------------------------------------------


def test_viewer_cannot_open_or_post_the_form(as_viewer, catalogue):
    assert as_viewer.get("/runs/new/").status_code == 403
    response = as_viewer.post("/runs/new/", form_data(catalogue))
    assert response.status_code == 403
    assert "needs the editor role" in response.content.decode()
    assert not Run.objects.exists()
    assert as_viewer.post("/runs/new/audience-count/", {"filters": "{}"}).status_code == 403


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
def test_editors_see_flows_segments_with_counts_and_batch_channels(client_as, tenant, catalogue, role):
    response = client_as(tenant, role).get("/runs/new/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{catalogue.flow.pk}" selected>Next Best Action · version 1</option>' in html
    assert "All customers — 60 customers" in html
    gold = Segment.objects.get(pk=catalogue.gold.pk)
    assert f"Gold tier — {gold.customer_count} customers" in html
    for channel in (catalogue.email, catalogue.sms, catalogue.call_centre):
        assert f'value="{channel.pk}"' in html
    assert f'value="{catalogue.web.pk}"' not in html  # api delivery: real time only
    assert 'hx-post="/runs/new/audience-count/"' in html


def test_anonymous_is_sent_to_sign_in(client, catalogue):
    response = client.get("/runs/new/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- create --------------------------------------------------------------------------------


def test_creating_a_run_redirects_to_its_detail(as_editor, catalogue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = as_editor.post("/runs/new/", form_data(catalogue, name="Spring push"))
    assert response.status_code == 302
    run = Run.objects.get()
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.name == "Spring push"
    assert run.status == RunStatus.PENDING
    assert sorted(run.channel_ids) == sorted([catalogue.email.pk, catalogue.sms.pk])
    assert run.created_by == "editor-acme"
    assert len(callbacks) == 1  # planning is enqueued after commit
    detail = as_editor.get(response["Location"]).content.decode()
    assert "Spring push" in detail
    assert "created; it starts as soon as a worker picks it up" in detail


def test_creating_an_ad_hoc_run(as_editor, catalogue):
    filters = {"field": "tier", "operator": "eq", "value": "gold"}
    response = as_editor.post(
        "/runs/new/", form_data(catalogue, audience="filter", segment="", filters=json.dumps(filters))
    )
    assert response.status_code == 302
    run = Run.objects.get()
    assert run.segment is None
    assert run.filters == filters
    assert run.name == "Next Best Action x ad-hoc filter"


# --- errors beside their field (docs/api-contract.md §1.5) ---------------------------------


def test_missing_flow_and_segment(as_editor, catalogue):
    response = as_editor.post("/runs/new/", form_data(catalogue, decision_flow="", segment=""))
    assert response.status_code == 200
    html = response.content.decode()
    assert field_errors(html, "decision_flow") == ["This field is required."]
    assert field_errors(html, "segment") == ["Choose the segment to run, or switch to an ad-hoc filter."]
    assert 'aria-invalid="true"' in html
    assert "The run was not created." in html
    assert not Run.objects.exists()


def test_segment_without_view(as_editor, catalogue):
    sketch = Segment.objects.create(tenant=catalogue.tenant, name="Sketch", filters={})
    html = as_editor.post("/runs/new/", form_data(catalogue, segment=sketch.pk)).content.decode()
    assert field_errors(html, "segment") == ["Segment has no materialized view: save it with filters first."]
    assert "Sketch — not saved with filters yet" in html


def test_flow_that_is_not_runnable(as_editor, catalogue):
    DecisionFlow.objects.filter(pk=catalogue.flow.pk).update(status="paused")
    html = as_editor.post("/runs/new/", form_data(catalogue)).content.decode()
    assert field_errors(html, "decision_flow") == [
        "Decision flow &#x27;nba&#x27; is not runnable: it must be active with a published version."
    ]
    assert "not runnable (paused)" in html


def test_no_batch_compatible_channel(as_editor, catalogue):
    Channel.objects.filter(tenant=catalogue.tenant).exclude(delivery_mode="api").update(status="inactive")
    html = as_editor.post("/runs/new/", form_data(catalogue, channels=[])).content.decode()
    assert field_errors(html, "channels") == [
        "No batch-compatible channels found (delivery mode file, integration or manual)."
    ]
    assert "no active batch-compatible channel yet" in html


def test_flow_or_segment_of_another_tenant_is_not_a_choice(as_editor, catalogue, other_tenant):
    html = as_editor.post("/runs/new/", form_data(catalogue, segment="seg_elsewhere")).content.decode()
    assert field_errors(html, "segment") == [
        "Select a valid choice. seg_elsewhere is not one of the available choices."
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "Enter a filter as a JSON object, or {} for every customer."),
        ("{not json", "Not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)."),
        ("[1, 2]", "The filter must be a JSON object"),
        ('{"field": "shoe_size", "operator": "eq", "value": 1}', "shoe_size"),
    ],
)
def test_bad_ad_hoc_filter(as_editor, catalogue, raw, expected):
    html = as_editor.post("/runs/new/", form_data(catalogue, audience="filter", filters=raw)).content.decode()
    errors = field_errors(html, "filters")
    assert len(errors) == 1
    assert expected in errors[0]
    assert 'id="id_audience_filter" checked' in html  # the form stays on the filter pane
    assert not Run.objects.exists()


# --- live count ----------------------------------------------------------------------------


def test_live_count_of_an_ad_hoc_filter(as_editor, catalogue):
    gold = Segment.objects.get(pk=catalogue.gold.pk)
    body = json.dumps({"field": "tier", "operator": "eq", "value": "gold"})
    html = as_editor.post("/runs/new/audience-count/", {"filters": body}).content.decode()
    assert f'data-count="{gold.customer_count}"' in html
    assert "match this filter" in html
    everyone = as_editor.post("/runs/new/audience-count/", {"filters": "{}"}).content.decode()
    assert 'data-count="60"' in everyone


def test_live_count_explains_a_bad_filter(as_editor, catalogue):
    bad = as_editor.post("/runs/new/audience-count/", {"filters": '{"field": "nope", "operator": "eq", "value": 1}'})
    assert 'class="field-error"' in bad.content.decode()
    assert "nope" in bad.content.decode()
    hint = as_editor.post("/runs/new/audience-count/", {"filters": ""}).content.decode()
    assert "Type a filter" in hint
