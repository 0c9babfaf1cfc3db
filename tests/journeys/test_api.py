"""The journeys REST API: plans CRUD, publish, versions, runs (list, detail, events, execute,
pause / resume / cancel, bulk execute, bulk cancel). Three actors: the tenant's editor, its
viewer (reads only) and an outsider from another tenant (404 everywhere); deletes need admin."""

from __future__ import annotations

import pytest

from journeys import operations
from journeys.models import ExecutionRun, Plan
from tests.journeys.conftest import advance, make_plan, reachable_customers

pytestmark = pytest.mark.django_db

SEED_RUN_FIELDS = {
    "id",
    "planId",
    "planVersion",
    "contactId",
    "status",
    "currentStep",
    "stepsCompleted",
    "stepsRemaining",
    "startTick",
    "currentTick",
    "startedAt",
    "completedAt",
    "outcome",
    "variables",
}


def steps_body(catalogue):
    return [
        {
            "id": "hello",
            "type": "send",
            "channelId": catalogue.email.pk,
            "offerId": catalogue.offers["loan"].pk,
            "next": "mark",
            "onBlocked": "done",
        },
        {"id": "mark", "type": "update", "set": {"lead_score": 5, "nextBestAction": "call"}, "next": "done"},
        {"id": "done", "type": "end", "outcome": "finished"},
    ]


@pytest.fixture
def plan(tenant, catalogue) -> Plan:
    return make_plan(tenant, steps_body(catalogue))


@pytest.fixture
def run(tenant, plan) -> ExecutionRun:
    return operations.execute(plan, reachable_customers(tenant, 1)[0], {"favouriteColour": "blue"})


# --- plans -----------------------------------------------------------------------------------


def test_create_plan_keeps_step_keys_as_written(editor, catalogue):
    body = {"key": "welcome", "name": "Welcome", "steps": steps_body(catalogue)}
    response = editor.post("/api/v1/journeys", body, format="json")
    assert response.status_code == 201, response.content
    plan = response.json()
    assert plan["id"].startswith("plan_")
    assert response["Location"].endswith(f"/api/v1/journeys/{plan['id']}")
    assert (plan["status"], plan["currentVersion"], plan["publishedVersion"], plan["draft"]) == ("draft", 1, None, True)
    assert plan["steps"] == steps_body(catalogue)  # channelId, onBlocked, lead_score: untouched
    assert plan["publicId"]


def test_publish_through_the_api_and_list_versions(editor, viewer, catalogue):
    plan = editor.post("/api/v1/journeys", {"key": "w", "name": "W", "steps": steps_body(catalogue)}, format="json")
    plan_id = plan.json()["id"]
    published = editor.post(f"/api/v1/journeys/{plan_id}/publish")
    assert published.status_code == 201, published.content
    assert (published.json()["version"], published.json()["published"]) == (1, True)
    assert published["Location"].endswith(f"/api/v1/journeys/{plan_id}/versions/1")
    again = editor.post(f"/api/v1/journeys/{plan_id}/publish")
    assert again.status_code == 409
    assert again.json()["currentVersion"] == 1
    changed = steps_body(catalogue)
    changed[2]["outcome"] = "v2"
    patched = editor.patch(f"/api/v1/journeys/{plan_id}", {"steps": changed}, format="json")
    assert (patched.json()["currentVersion"], patched.json()["draft"]) == (2, True)
    versions = viewer.get(f"/api/v1/journeys/{plan_id}/versions").json()
    assert versions["total"] == 2
    assert [(v["version"], v["published"]) for v in versions["versions"]] == [(2, False), (1, True)]
    one = viewer.get(f"/api/v1/journeys/{plan_id}/versions/1").json()
    assert one["steps"][2]["outcome"] == "finished"


def test_publish_errors_name_the_step(editor, catalogue):
    steps = [{"id": "a", "type": "update", "set": {"x": 1}, "next": "check"},
             {"id": "check", "type": "branch", "conditions": [{"condition": {}, "next": "done"}]},
             {"id": "done", "type": "end"}]  # fmt: skip
    plan_id = editor.post("/api/v1/journeys", {"key": "bad", "name": "Bad", "steps": steps}, format="json").json()["id"]
    response = editor.post(f"/api/v1/journeys/{plan_id}/publish")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == 'steps: steps[1] (id "check"): branch has no default'
    assert body["fields"] == {"steps": ['steps[1] (id "check"): branch has no default']}


def test_plan_list_and_roles(editor, viewer, admin, outsider, plan, tenant, catalogue, django_assert_num_queries):
    viewer.get("/api/v1/journeys")  # the key's last-used time is written on its first use
    for key in ("second", "third"):
        make_plan(tenant, steps_body(catalogue), key=key)
    with django_assert_num_queries(3):  # the key, the count, the page: not a query per plan
        listed = viewer.get("/api/v1/journeys")
    assert listed.status_code == 200
    assert (listed.json()["total"], listed.json()["plans"][-1]["id"]) == (3, plan.pk)
    assert "steps" not in listed.json()["plans"][0]
    assert viewer.get(f"/api/v1/journeys/{plan.pk}").json()["steps"][0]["id"] == "hello"
    assert viewer.post("/api/v1/journeys", {"key": "x", "name": "X"}, format="json").status_code == 403
    assert viewer.post(f"/api/v1/journeys/{plan.pk}/publish").status_code == 403
    assert editor.patch(f"/api/v1/journeys/{plan.pk}", {"name": "Renamed"}, format="json").status_code == 200
    assert editor.delete(f"/api/v1/journeys/{plan.pk}").status_code == 403
    assert outsider.get(f"/api/v1/journeys/{plan.pk}").status_code == 404
    assert outsider.patch(f"/api/v1/journeys/{plan.pk}", {"name": "x"}, format="json").status_code == 404
    assert outsider.post(f"/api/v1/journeys/{plan.pk}/publish").status_code == 404
    assert outsider.get(f"/api/v1/journeys/{plan.pk}/versions").status_code == 404
    assert outsider.get("/api/v1/journeys").json()["total"] == 0
    assert admin.delete(f"/api/v1/journeys/{plan.pk}").status_code == 204


def test_a_plan_with_runs_cannot_be_deleted(admin, plan, run):
    response = admin.delete(f"/api/v1/journeys/{plan.pk}")
    assert response.status_code == 409


def test_duplicate_key_is_400_naming_the_field(editor, plan):
    response = editor.post("/api/v1/journeys", {"key": plan.key, "name": "Again"}, format="json")
    assert response.status_code == 400
    assert "key" in response.json()["fields"]


# --- runs ------------------------------------------------------------------------------------


def test_execute_through_the_api(editor, viewer, outsider, plan, tenant):
    contact = reachable_customers(tenant, 1)[0]
    body = {"contactId": contact.external_id, "variables": {"utm_source": "mail"}}
    assert viewer.post(f"/api/v1/journeys/{plan.pk}/runs", body, format="json").status_code == 403
    assert outsider.post(f"/api/v1/journeys/{plan.pk}/runs", body, format="json").status_code == 404
    response = editor.post(f"/api/v1/journeys/{plan.pk}/runs", body, format="json")
    assert response.status_code == 201, response.content
    run = response.json()
    assert set(run) >= SEED_RUN_FIELDS
    assert (run["status"], run["contactId"], run["variables"]) == (
        "active",
        contact.external_id,
        {"utm_source": "mail"},
    )
    assert response["Location"].endswith(f"/api/v1/journeys/runs/{run['id']}")
    again = editor.post(f"/api/v1/journeys/{plan.pk}/runs", body, format="json")
    assert again.status_code == 409
    assert (again.json()["currentStatus"], again.json()["runId"]) == ("active", run["id"])
    unknown = editor.post(f"/api/v1/journeys/{plan.pk}/runs", {"contactId": "nobody"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["fields"]["contactId"]


def test_run_detail_list_and_events(viewer, outsider, run, plan, django_assert_num_queries):
    advance()
    operations.execute(plan, reachable_customers(run.tenant, 3)[-1])
    detail = viewer.get(f"/api/v1/journeys/runs/{run.pk}")
    assert detail.status_code == 200
    body = detail.json()
    assert set(body) >= SEED_RUN_FIELDS
    assert (body["status"], body["outcome"], body["stepsCompleted"], body["stepsRemaining"]) == (
        "completed",
        "finished",
        3,
        0,
    )
    assert body["variables"] == {"favouriteColour": "blue", "lead_score": 5, "nextBestAction": "call"}
    assert body["startedAt"].endswith("Z")
    with django_assert_num_queries(3):  # the key, the count, the page: not a query per run
        listed = viewer.get("/api/v1/journeys/runs", {"planId": plan.pk})
    assert [r["id"] for r in listed.json()["runs"]][-1] == str(run.pk)
    completed = viewer.get("/api/v1/journeys/runs", {"status": "completed", "planId": plan.pk}).json()
    assert (completed["total"], completed["runs"][0]["id"]) == (1, str(run.pk))
    assert viewer.get("/api/v1/journeys/runs", {"status": "active,waiting"}).json()["total"] == 1
    assert viewer.get("/api/v1/journeys/runs?status=active&status=completed").json()["total"] == 2
    assert viewer.get("/api/v1/journeys/runs", {"status": "asleep"}).status_code == 400
    events = viewer.get(f"/api/v1/journeys/runs/{run.pk}/events").json()
    assert [e["action"] for e in events["events"]] == ["enrolled", "send", "update", "end", "completed"]
    assert events["events"][1]["data"]["offerId"] == plan.versions.get().steps[0]["offerId"]
    assert events["events"][2]["data"] == {"set": {"lead_score": 5, "nextBestAction": "call"}}
    assert events["events"][1]["prevHash"] == events["events"][0]["hash"]
    assert outsider.get(f"/api/v1/journeys/runs/{run.pk}").status_code == 404
    assert outsider.get(f"/api/v1/journeys/runs/{run.pk}/events").status_code == 404
    assert outsider.get("/api/v1/journeys/runs").json()["total"] == 0


def test_pause_resume_cancel_through_the_api(editor, viewer, outsider, run):
    url = f"/api/v1/journeys/runs/{run.pk}"
    assert viewer.post(f"{url}/pause").status_code == 403
    assert outsider.post(f"{url}/pause").status_code == 404
    paused = editor.post(f"{url}/pause")
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    twice = editor.post(f"{url}/pause")
    assert (twice.status_code, twice.json()["currentStatus"], twice.json()["code"]) == (409, "paused", "conflict")
    assert editor.post(f"{url}/resume").json()["status"] == "active"
    cancelled = editor.post(f"{url}/cancel", {"reason": "Contact requested removal"}, format="json")
    assert cancelled.json()["status"] == "cancelled"
    for operation in ("pause", "resume", "cancel"):
        response = editor.post(f"{url}/{operation}")
        assert (response.status_code, response.json()["currentStatus"]) == (409, "cancelled")


def test_resume_of_a_completed_run_is_409(editor, run):
    advance()
    response = editor.post(f"/api/v1/journeys/runs/{run.pk}/resume")
    assert (response.status_code, response.json()["currentStatus"]) == (409, "completed")


def test_bulk_execute_and_bulk_cancel_through_the_api(editor, viewer, outsider, plan, tenant, catalogue):
    url = f"/api/v1/journeys/{plan.pk}/bulk-execute"
    dry = editor.post(url, {"segmentId": catalogue.everyone.pk, "dryRun": True}, format="json")
    assert dry.status_code == 200, dry.content
    assert dry.json()["dryRun"] is True
    assert not ExecutionRun.objects.exists()
    assert viewer.post(url, {"segmentId": catalogue.everyone.pk}, format="json").status_code == 403
    assert outsider.post(url, {"segmentId": catalogue.everyone.pk}, format="json").status_code == 404
    foreign = outsider.post(
        f"/api/v1/journeys/{plan.pk}/bulk-execute", {"contactIds": ["c00001"]}, format="json"
    ).status_code
    assert foreign == 404
    done = editor.post(url, {"contactIds": ["c00001", "c00002", "ghost"], "variables": {"wave": 1}}, format="json")
    body = done.json()
    assert (body["created"], body["skipped"]) == (sum(1 for c in ["c00001", "c00002"] if not _suppressed(tenant, c)),
                                                 2 - body["created"])  # fmt: skip
    # reason codes read the same as counts' keys and as details' values
    assert (body["errors"], body["errorsByReason"]) == (1, {"unknown_contact": 1})
    assert body["errorDetails"] == [{"contactId": "ghost", "reason": "unknown_contact"}]
    assert editor.post(url, {}, format="json").status_code == 400
    cancel_url = "/api/v1/journeys/runs/bulk-cancel"
    assert viewer.post(cancel_url, {"planId": plan.pk}, format="json").status_code == 403
    assert outsider.post(cancel_url, {"planId": plan.pk}, format="json").json() == {"cancelled": 0}
    cancelled = editor.post(cancel_url, {"planId": plan.pk, "status": ["active"], "reason": "stop"}, format="json")
    assert cancelled.json() == {"cancelled": body["created"]}
    assert editor.post(cancel_url, {"reason": "all"}, format="json").status_code == 400


def test_bulk_execute_takes_the_seed_contacts_shape(editor, plan, tenant):
    from tests.journeys.conftest import reachable_customers

    first, second = (c.external_id for c in reachable_customers(tenant, 2))
    contacts = [{"id": first, "email": "jane@example.com"}, {"id": second}, {"id": "ghost"}]
    body = editor.post(f"/api/v1/journeys/{plan.pk}/bulk-execute", {"contacts": contacts}, format="json").json()
    assert (body["created"], body["skipped"], body["errors"]) == (2, 0, 1)
    assert body["errorDetails"] == [{"contactId": "ghost", "reason": "unknown_contact"}]
    assert set(ExecutionRun.objects.filter(plan=plan).values_list("contact_id", flat=True)) == {first, second}
    again = editor.post(f"/api/v1/journeys/{plan.pk}/bulk-execute", {"contacts": contacts[:1]}, format="json").json()
    assert again["skippedByReason"] == {"already_enrolled": 1}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contacts": [{"email": "jane@example.com"}]}, "contacts.0"),
        ({"contacts": ["c00001"]}, "contacts.0"),
        ({"contacts": [{"id": "c00001"}], "contactIds": ["c00002"]}, "contactIds"),
        ({"contactIds": ["c00001"], "batchSize": 0}, "batchSize"),
    ],
)
def test_bulk_execute_rejects_a_malformed_request(editor, plan, body, field):
    response = editor.post(f"/api/v1/journeys/{plan.pk}/bulk-execute", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert not ExecutionRun.objects.exists()


def test_bulk_execute_writes_batch_size_runs_at_a_time(editor, plan, tenant, monkeypatch):
    from journeys import bulk
    from tests.journeys.conftest import reachable_customers

    sizes: list[int] = []
    real_insert = bulk.insert

    def insert(model, columns, rows):
        if model is ExecutionRun:
            sizes.append(len(rows))
        real_insert(model, columns, rows)

    monkeypatch.setattr(bulk, "insert", insert)
    ids = [c.external_id for c in reachable_customers(tenant, 5)]
    body = {"contactIds": ids, "batchSize": 2}
    assert editor.post(f"/api/v1/journeys/{plan.pk}/bulk-execute", body, format="json").json()["created"] == 5
    assert sizes == [2, 2, 1]


def _suppressed(tenant, external_id):
    from segments.models import Customer

    return Customer.objects.get(tenant=tenant, external_id=external_id).suppressed


def test_anonymous_is_401(anonymous, plan):
    assert anonymous.get("/api/v1/journeys").status_code == 401
    assert anonymous.get("/api/v1/journeys/runs").status_code == 401
