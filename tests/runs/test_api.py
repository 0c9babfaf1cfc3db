from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from decisionflows.models import Channel
from runs import services
from runs.models import Recommendation, Run, RunStatus
from segments.models import Customer, Segment

pytestmark = pytest.mark.django_db

SEED_RUN_FIELDS = {
    "id",
    "tenantId",
    "name",
    "decisionFlowId",
    "segmentId",
    "status",
    "decisionFlowName",
    "decisionFlowKey",
    "segmentName",
    "segmentCustomerCount",
    "createdAt",
    "updatedAt",
}


def create(client, catalogue, **extra):
    body = {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk, **extra}
    return client.post("/api/v1/runs", body, format="json")


def finished_run(catalogue, system_actor, segment=None) -> Run:
    run = services.run_create(
        tenant=catalogue.tenant,
        actor=system_actor,
        decision_flow_id=catalogue.flow.pk,
        segment_id=(segment or catalogue.everyone).pk,
        dispatch=False,
    )
    return services.run_execute_inline(run_id=run.pk)


# --- create (docs/api-contract.md §1.4, §1.5) ----------------------------------------------


def test_create_answers_201_pending_with_seed_fields_and_location(editor, catalogue):
    response = create(editor, catalogue, name="Q1 Campaign Run")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= SEED_RUN_FIELDS
    assert body["status"] == "pending"
    assert body["name"] == "Q1 Campaign Run"
    assert body["tenantId"] == catalogue.tenant.pk
    assert body["decisionFlowKey"] == "nba"
    assert body["segmentCustomerCount"] == 60
    assert body["createdAt"].endswith("Z")
    assert response["Location"].endswith(f"/api/v1/runs/{body['id']}")
    assert body["id"].startswith("run_")


def test_create_defaults_the_name_to_flow_x_segment(editor, catalogue):
    body = create(editor, catalogue).json()
    assert body["name"] == "Next Best Action x All customers"


@pytest.mark.parametrize("missing", ["decisionFlowId", "segmentId"])
def test_create_without_flow_or_segment_is_400(editor, catalogue, missing):
    body = {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk}
    del body[missing]
    response = editor.post("/api/v1/runs", body, format="json")
    assert response.status_code == 400
    assert missing in response.json()["fields"]
    assert response.json()["error"].startswith(f"{missing}: This field is required")


def test_unknown_flow_or_segment_is_404(editor, catalogue):
    response = create(editor, catalogue, decisionFlowId="df_nope")
    assert response.status_code == 404
    assert response.json()["error"] == "Decision flow 'df_nope' not found."
    response = create(editor, catalogue, segmentId="seg_nope")
    assert response.status_code == 404


def test_another_tenants_flow_and_segment_are_404(outsider, catalogue):
    assert create(outsider, catalogue).status_code == 404


def test_segment_without_view_is_400(editor, catalogue):
    Segment.objects.filter(pk=catalogue.gold.pk).update(view_name="")
    response = create(editor, catalogue, segmentId=catalogue.gold.pk)
    assert response.status_code == 400
    assert response.json()["fields"] == {"segmentId": ["Segment has no materialized view: save it with filters first."]}


def test_no_batch_compatible_channel_is_400(editor, catalogue):
    Channel.objects.filter(tenant=catalogue.tenant).exclude(delivery_mode="api").update(status="inactive")
    response = create(editor, catalogue)
    assert response.status_code == 400
    assert response.json()["error"] == "No batch-compatible channels found (delivery mode file, integration or manual)."


def test_api_channel_cannot_be_chosen_for_a_run(editor, catalogue):
    response = create(editor, catalogue, channelIds=[catalogue.web.pk])
    assert response.status_code == 400
    assert catalogue.web.pk in response.json()["fields"]["channelIds"][0]


def test_flow_that_is_not_runnable_is_400(editor, catalogue):
    catalogue.flow.status = "paused"
    catalogue.flow.save()
    response = create(editor, catalogue)
    assert response.status_code == 400
    assert "not runnable" in response.json()["fields"]["decisionFlowId"][0]


def test_ad_hoc_filter_run(editor, catalogue):
    response = editor.post(
        "/api/v1/runs",
        {"decisionFlowId": catalogue.flow.pk, "filters": {"field": "age", "operator": "lt", "value": 18}},
        format="json",
    )
    assert response.status_code == 201, response.content
    run = Run.objects.get(pk=response.json()["id"])
    assert run.segment is None
    assert run.name == "Next Best Action x ad-hoc filter"
    run = services.run_execute_inline(run_id=run.pk)
    from segments.models import Customer

    assert run.total_customers == sum(1 for c in Customer.objects.all() if c.attributes["age"] < 18)


def test_ad_hoc_filter_with_unknown_field_is_400(editor, catalogue):
    response = editor.post(
        "/api/v1/runs",
        {"decisionFlowId": catalogue.flow.pk, "filters": {"field": "shoe_size", "operator": "eq", "value": 1}},
        format="json",
    )
    assert response.status_code == 400
    assert "shoe_size" in response.json()["error"]


# --- roles ---------------------------------------------------------------------------------


def test_viewer_reads_but_cannot_create_cancel_or_delete(viewer, catalogue, system_actor):
    run = finished_run(catalogue, system_actor)
    assert viewer.get("/api/v1/runs").status_code == 200
    assert viewer.get(f"/api/v1/runs/{run.pk}").status_code == 200
    assert viewer.get(f"/api/v1/runs/{run.pk}/results").status_code == 200
    assert viewer.get(f"/api/v1/runs/{run.pk}/customers").status_code == 200
    assert create(viewer, catalogue).status_code == 403
    assert viewer.post(f"/api/v1/runs/{run.pk}/cancel", {}, format="json").status_code == 403
    assert viewer.delete(f"/api/v1/runs/{run.pk}").status_code == 403


def test_editor_cannot_delete_admin_can_delete_a_finished_run(editor, admin, catalogue, system_actor):
    from runs.models import Recommendation

    run = finished_run(catalogue, system_actor)
    assert Recommendation.objects.filter(run=run).exists()
    assert editor.delete(f"/api/v1/runs/{run.pk}").status_code == 403
    assert admin.delete(f"/api/v1/runs/{run.pk}").status_code == 204
    assert not Run.objects.filter(pk=run.pk).exists()
    assert not Recommendation.objects.filter(run_id=run.pk).exists()


def test_deleting_a_running_run_is_409(admin, editor, catalogue):
    run_id = create(editor, catalogue).json()["id"]
    response = admin.delete(f"/api/v1/runs/{run_id}")
    assert response.status_code == 409
    assert response.json()["currentStatus"] == "pending"


def test_anonymous_is_401(anonymous, catalogue):
    assert anonymous.get("/api/v1/runs").status_code == 401
    assert create(anonymous, catalogue).status_code == 401


def test_other_tenant_gets_404_everywhere(outsider, catalogue, system_actor):
    run = finished_run(catalogue, system_actor)
    for path in ("", "/results", "/customers", "/export"):
        assert outsider.get(f"/api/v1/runs/{run.pk}{path}").status_code == 404
    assert outsider.post(f"/api/v1/runs/{run.pk}/cancel", {}, format="json").status_code == 404
    assert outsider.delete(f"/api/v1/runs/{run.pk}").status_code == 404
    assert outsider.get("/api/v1/runs").json() == {"runs": [], "total": 0}


# --- list ----------------------------------------------------------------------------------


def test_list_is_newest_first_with_seed_fields_and_filters(viewer, editor, catalogue, system_actor):
    done = finished_run(catalogue, system_actor, segment=catalogue.gold)
    pending_id = create(editor, catalogue).json()["id"]
    body = viewer.get("/api/v1/runs").json()
    assert body["total"] == 2
    assert [r["id"] for r in body["runs"]] == [pending_id, done.pk]
    assert set(body["runs"][0]) >= SEED_RUN_FIELDS
    assert body["runs"][1]["segmentName"] == "Gold tier"
    assert body["runs"][1]["progress"]["percent"] == 100.0
    assert viewer.get("/api/v1/runs?status=completed").json()["total"] == 1
    assert viewer.get(f"/api/v1/runs?segmentId={catalogue.gold.pk}").json()["runs"][0]["id"] == done.pk
    assert viewer.get(f"/api/v1/runs?decisionFlowId={catalogue.flow.pk}").json()["total"] == 2
    assert viewer.get("/api/v1/runs?status=nonsense").status_code == 400


def test_list_pagination_default_and_maximum(viewer, catalogue, system_actor):
    for _ in range(3):
        services.run_create(
            tenant=catalogue.tenant,
            actor=system_actor,
            decision_flow_id=catalogue.flow.pk,
            segment_id=catalogue.everyone.pk,
            dispatch=False,
        )
    page = viewer.get("/api/v1/runs?limit=2&offset=2").json()
    assert page["total"] == 3
    assert len(page["runs"]) == 1
    assert viewer.get("/api/v1/runs?limit=500").status_code == 200
    assert viewer.get("/api/v1/runs?limit=abc").status_code == 400


def test_list_query_count_is_constant(viewer, catalogue, system_actor, django_assert_num_queries):
    for _ in range(4):
        services.run_create(
            tenant=catalogue.tenant,
            actor=system_actor,
            decision_flow_id=catalogue.flow.pk,
            segment_id=catalogue.everyone.pk,
            dispatch=False,
        )
    viewer.get("/api/v1/runs")  # the key's last-used stamp is written once
    with django_assert_num_queries(3):  # key, count, page with flow, version and segment joined
        assert len(viewer.get("/api/v1/runs").json()["runs"]) == 4


# --- detail, results, customers, export ----------------------------------------------------


def test_detail_has_progress_and_summary(viewer, catalogue, system_actor):
    run = finished_run(catalogue, system_actor)
    body = viewer.get(f"/api/v1/runs/{run.pk}").json()
    assert body["status"] == "completed"
    assert body["progress"]["processedCustomers"] == 60
    assert body["progress"]["totalCustomers"] == 60
    assert body["progress"]["percent"] == 100.0
    assert body["etaSeconds"] is None
    assert body["startedAt"]
    assert body["completedAt"]
    assert body["summary"]["totalRecommendations"] == run.recommendation_count


def test_results_carry_the_seed_003_summary(viewer, catalogue, system_actor):
    run = finished_run(catalogue, system_actor)
    body = viewer.get(f"/api/v1/runs/{run.pk}/results").json()
    summary = body["summary"]
    for key in (
        "customersProcessed",
        "customersWithRecommendations",
        "totalRecommendations",
        "averageOffersPerCustomer",
        "executionSeconds",
        "offerBreakdown",
        "channelBreakdown",
        "funnel",
    ):
        assert key in summary
    names = {row["offerName"] for row in summary["offerBreakdown"]}
    assert names == {"Gold Card", "Personal Loan", "Savings Account"}
    assert {row["channelName"] for row in summary["channelBreakdown"]} == {"Email", "SMS"}
    # ids stay values: the camelCase renderer never rewrites them
    assert {row["offerId"] for row in summary["funnel"]["offers"]} == {o.pk for o in catalogue.offers.values()}


def test_results_of_a_pending_run_have_no_summary(viewer, editor, catalogue):
    run_id = create(editor, catalogue).json()["id"]
    body = viewer.get(f"/api/v1/runs/{run_id}/results").json()
    assert body == {"runId": run_id, "status": "pending", "completedAt": None, "summary": None}


def test_customers_page_by_keyset_and_filters(viewer, catalogue, system_actor):
    run = finished_run(catalogue, system_actor)
    first = viewer.get(f"/api/v1/runs/{run.pk}/customers?limit=10").json()
    assert len(first["customers"]) == 10
    assert first["nextCursor"] is not None
    second = viewer.get(f"/api/v1/runs/{run.pk}/customers?limit=10&cursor={first['nextCursor']}").json()
    assert not {c["customerId"] for c in first["customers"]} & {c["customerId"] for c in second["customers"]}
    one = first["customers"][0]
    assert [r["rank"] for r in one["recommendations"]] == [1, 2]
    rec = one["recommendations"][0]
    assert rec["personalization"]["content"] == f"{rec['offerName']} for you"
    assert rec["personalization"]["subject"].startswith("Hi ")

    by_customer = viewer.get(f"/api/v1/runs/{run.pk}/customers?externalId={one['customerId']}").json()
    assert [c["customerId"] for c in by_customer["customers"]] == [one["customerId"]]
    savings = catalogue.offers["savings"].pk
    by_offer = viewer.get(f"/api/v1/runs/{run.pk}/customers?offerId={savings}&limit=200").json()
    assert by_offer["customers"]
    assert all(any(r["offerId"] == savings for r in c["recommendations"]) for c in by_offer["customers"])
    assert by_offer["nextCursor"] is None
    for odd in ("-1", "²", "9" * 23):
        for param in ("cursor", "limit"):
            response = viewer.get(f"/api/v1/runs/{run.pk}/customers", {param: odd})
            assert response.status_code == 400, (param, odd)
            assert list(response.json()["fields"]) == [param]


def test_export_csv_and_json_lines_hold_every_row(viewer, catalogue, system_actor):
    run = finished_run(catalogue, system_actor)
    response = viewer.get(f"/api/v1/runs/{run.pk}/export?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == run.recommendation_count
    assert {"external_id", "offer_key", "channel", "score", "subject", "content"} <= set(rows[0])

    response = viewer.get(f"/api/v1/runs/{run.pk}/export?format=json")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == run.recommendation_count
    first = json.loads(lines[0])
    assert first["rank"] == 1
    # JSON is camelCase everywhere, JSON Lines included (the CSV header keeps its column names)
    assert set(first) == {
        "customerId", "externalId", "email", "rank", "offerId", "offerKey", "offerName", "channelId", "channel",
        "creativeId", "creative", "score", "subject", "content",
    }  # fmt: skip
    assert first["externalId"] == rows[0]["external_id"]
    assert viewer.get(f"/api/v1/runs/{run.pk}/export?format=xml").status_code == 400


def test_export_csv_escapes_formulas_in_text_cells(viewer, catalogue, system_actor):
    run = finished_run(catalogue, system_actor)
    first = Recommendation.objects.filter(run=run).order_by("customer_id").first()
    assert first is not None
    Customer.objects.filter(pk=first.customer_id).update(external_id="=cmd|' /C calc'!A0", email="@evil.example")
    response = viewer.get(f"/api/v1/runs/{run.pk}/export?format=csv")
    row = next(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert (row["external_id"], row["email"]) == ("'=cmd|' /C calc'!A0", "'@evil.example")
    assert float(row["score"]) == first.score  # numbers are not text: never quoted
    # JSON Lines is read by programs, not spreadsheets: the value as it is
    response = viewer.get(f"/api/v1/runs/{run.pk}/export?format=json")
    line = json.loads(b"".join(response.streaming_content).decode().splitlines()[0])
    assert line["externalId"] == "=cmd|' /C calc'!A0"


# --- cancel, execute-inline ----------------------------------------------------------------


def test_cancel_pending_run_then_again_is_409(editor, catalogue):
    run_id = create(editor, catalogue).json()["id"]
    response = editor.post(f"/api/v1/runs/{run_id}/cancel", {"reason": "wrong audience"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = editor.post(f"/api/v1/runs/{run_id}/cancel", {}, format="json")
    assert again.status_code == 409
    assert again.json()["currentStatus"] == "cancelled"


@pytest.mark.parametrize("missing", ["runId", "decisionFlowId", "segmentViewName"])
def test_execute_inline_requires_its_three_fields(editor, catalogue, missing):
    body = {"runId": "run_x", "decisionFlowId": catalogue.flow.pk, "segmentViewName": catalogue.everyone.view_name}
    del body[missing]
    response = editor.post("/api/v1/runs/execute-inline", body, format="json")
    assert response.status_code == 400
    assert missing in response.json()["fields"]


def test_execute_inline_is_for_editors_and_admins(viewer, anonymous, catalogue):
    body = {"runId": "run_x", "decisionFlowId": catalogue.flow.pk, "segmentViewName": catalogue.everyone.view_name}
    assert viewer.post("/api/v1/runs/execute-inline", body, format="json").status_code == 403
    assert anonymous.post("/api/v1/runs/execute-inline", body, format="json").status_code == 401


def test_execute_inline_of_unknown_run_is_404(editor, catalogue):
    body = {"runId": "run_x", "decisionFlowId": catalogue.flow.pk, "segmentViewName": catalogue.everyone.view_name}
    assert editor.post("/api/v1/runs/execute-inline", body, format="json").status_code == 404


def test_execute_inline_rejects_a_view_of_another_segment(editor, catalogue):
    run_id = create(editor, catalogue).json()["id"]
    body = {"runId": run_id, "decisionFlowId": catalogue.flow.pk, "segmentViewName": catalogue.gold.view_name}
    response = editor.post("/api/v1/runs/execute-inline", body, format="json")
    assert response.status_code == 400
    assert "segmentViewName" in response.json()["fields"]


def test_run_status_transitions_are_recorded(editor, catalogue, system_actor):
    run = finished_run(catalogue, system_actor)
    from kaireon.models import AuditLog

    actions = list(AuditLog.objects.filter(object_id=run.pk).order_by("id").values_list("action", flat=True))
    assert actions == ["create", "start", "finish"]
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED


@pytest.mark.parametrize(
    "url", ["/api/v1/runs?status=completed&status=failed", "/api/v1/campaigns?status=active&scheduleType=weekly"]
)
def test_status_filters_select_no_distinct_rows(viewer, url):
    """A status is a column of the listed row: no DISTINCT over every column (and summary JSON)."""
    with CaptureQueriesContext(connection) as queries:
        assert viewer.get(url).status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
