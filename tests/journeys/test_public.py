"""The public journey API (docs/api-contract.md §5): the run-status endpoint's codes and status mapping, and the
trigger with its Idempotency-Key."""

from __future__ import annotations

import time
import uuid

import pytest
from rest_framework.test import APIClient

from journeys import operations
from journeys.models import ExecutionRun, IdempotencyKey
from journeys.selectors import profile_uuid
from tests.journeys.conftest import advance, make_plan, reachable_customers

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(tenant, welcome_steps):
    return make_plan(tenant, welcome_steps)


@pytest.fixture
def run(tenant, plan):
    return operations.execute(plan, reachable_customers(tenant, 1)[0])


def url(run_id) -> str:
    return f"/api/v1/public/journeys/runs/{run_id}"


def test_run_status_body(viewer, run, plan, tenant):
    response = viewer.get(url(run.pk))
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "runId": str(run.pk),
        "journeyId": str(plan.public_uuid),
        "profileId": str(profile_uuid(tenant.pk, run.contact_id)),
        "status": "running",
        "triggeredAt": body["triggeredAt"],
        "completedAt": None,
        "error": None,
    }
    assert body["triggeredAt"].endswith("Z")
    advance(3)
    done = viewer.get(url(run.pk)).json()
    assert done["status"] == "completed"
    assert done["completedAt"].endswith("Z")


@pytest.mark.parametrize(
    ("status", "public"),
    [
        ("pending", "queued"),
        ("active", "running"),
        ("waiting", "running"),
        ("paused", "running"),
        ("completed", "completed"),
        ("failed", "failed"),
        ("cancelled", "exited"),
    ],
)
def test_statuses_are_mapped_as_design_9_says(viewer, run, status, public):
    ExecutionRun.objects.filter(pk=run.pk).update(status=status, error="boom" if status == "failed" else "")
    body = viewer.get(url(run.pk)).json()
    assert body["status"] == public
    assert body["error"] == ("boom" if status == "failed" else None)


def test_profile_id_is_a_stable_uuid5_per_tenant_and_contact(tenant, other_tenant):
    assert profile_uuid(tenant.pk, "c1") == profile_uuid(tenant.pk, "c1")
    assert profile_uuid(tenant.pk, "c1").version == 5
    assert profile_uuid(tenant.pk, "c1") != profile_uuid(other_tenant.pk, "c1")


def test_run_status_codes(anonymous, viewer, outsider, run):
    assert anonymous.get(url(run.pk)).status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_X_API_KEY="kr_nope_nope")
    assert bad.get(url(run.pk)).status_code == 401
    malformed = viewer.get(url("not-a-uuid"))
    assert malformed.status_code == 400
    assert malformed.json()["fields"] == {
        "runId": ["'not-a-uuid' is not a UUID of the form (xxxxxxxx-xxxx-Vxxx-Nxxx-xxxxxxxxxxxx, V 1-8, N 8-b)."]
    }
    # only the 8-4-4-4-12 form of docs/api-contract.md §5.3, though Python's uuid would read these too
    for other_form in (run.pk.hex, f"{{{run.pk}}}", f"urn:uuid:{run.pk}"):
        assert viewer.get(url(other_form)).status_code == 400, other_form
    assert viewer.get(url(str(run.pk).upper())).status_code == 200
    assert viewer.get(url(uuid.uuid4())).status_code == 404
    assert outsider.get(url(run.pk)).status_code == 404


@pytest.mark.parametrize(
    "run_id",
    [
        "3c90c3cc-0d44-0b50-8888-8dd25736052a",  # version 0
        "3c90c3cc-0d44-9b50-8888-8dd25736052a",  # version 9
        "3c90c3cc-0d44-fb50-8888-8dd25736052a",  # version f
        "3c90c3cc-0d44-4b50-7888-8dd25736052a",  # variant 7 (NCS)
        "3c90c3cc-0d44-4b50-c888-8dd25736052a",  # variant c (Microsoft)
        "00000000-0000-0000-0000-000000000001",  # neither nil nor a version
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFE",
    ],
)
def test_run_id_outside_the_seed_pattern_is_400(viewer, run_id):
    response = viewer.get(url(run_id))
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["runId"]


@pytest.mark.parametrize(
    "run_id",
    [
        "3c90c3cc-0d44-4b50-8888-8dd25736052a",  # the example of docs/api-contract.md §5.3
        "3C90C3CC-0D44-1B50-BFFF-8DD25736052A",  # version 1, variant B
        "3c90c3cc-0d44-8b50-9888-8dd25736052a",  # version 8, variant 9
        "00000000-0000-0000-0000-000000000000",  # nil
        "ffffffff-ffff-ffff-ffff-ffffffffffff",  # max
    ],
)
def test_run_id_in_the_seed_pattern_that_does_not_exist_is_404(viewer, run_id):
    assert viewer.get(url(run_id)).status_code == 404


def test_a_trailing_newline_is_outside_the_seed_pattern():
    from journeys.uuids import is_public_uuid

    assert is_public_uuid("3c90c3cc-0d44-4b50-8888-8dd25736052a")
    assert not is_public_uuid("3c90c3cc-0d44-4b50-8888-8dd25736052a\n")


def test_schema_gives_the_run_id_the_seed_pattern():
    from drf_spectacular.generators import SchemaGenerator

    from journeys.uuids import PUBLIC_UUID_PATTERN

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/public/journeys/runs/{runId}"]["get"]
    (parameter,) = [p for p in operation["parameters"] if p["name"] == "runId"]
    assert parameter["schema"]["pattern"] == PUBLIC_UUID_PATTERN


def trigger_url(plan) -> str:
    return f"/api/v1/public/journeys/{plan.public_uuid}/trigger"


def test_trigger_is_idempotent_by_key_and_body(editor, tenant, plan):
    contact = reachable_customers(tenant, 2)[1]
    body = {"contactId": contact.external_id, "variables": {"source": "web"}}
    first = editor.post(trigger_url(plan), body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "running"
    location = first["Location"]
    assert location == f"http://testserver/api/v1/public/journeys/runs/{first.json()['runId']}"
    assert editor.get(location.removeprefix("http://testserver")).json() == first.json()
    again = editor.post(trigger_url(plan), body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert again.status_code == 200
    assert again.json()["runId"] == first.json()["runId"]
    other = editor.post(
        trigger_url(plan), {**body, "variables": {"source": "app"}}, format="json", HTTP_IDEMPOTENCY_KEY="order-42"
    )
    assert other.status_code == 409
    assert ExecutionRun.objects.filter(plan=plan).count() == 1
    assert IdempotencyKey.objects.get(key="order-42").run_id == uuid.UUID(first.json()["runId"])
    # without a key a second trigger of an enrolled contact is the usual 409
    assert editor.post(trigger_url(plan), body, format="json").status_code == 409


def test_trigger_by_profile_id(editor, tenant, plan, welcome_steps):
    contact = reachable_customers(tenant, 3)[2]
    profile = profile_uuid(tenant.pk, contact.external_id)
    unknown = editor.post(trigger_url(plan), {"profileId": str(profile)}, format="json")
    assert unknown.status_code == 404  # no run yet: the profile is not known
    operations.execute(make_plan(tenant, welcome_steps, key="earlier"), contact)
    known = editor.post(trigger_url(plan), {"profileId": str(profile)}, format="json")
    assert known.status_code == 201, known.content
    assert known.json()["profileId"] == str(profile)


def test_trigger_codes(anonymous, viewer, editor, outsider, plan):
    body = {"contactId": "c00001"}
    assert anonymous.post(trigger_url(plan), body, format="json").status_code == 401
    assert viewer.post(trigger_url(plan), body, format="json").status_code == 403
    assert outsider.post(trigger_url(plan), body, format="json").status_code == 404
    assert editor.post("/api/v1/public/journeys/nope/trigger", body, format="json").status_code == 400
    assert editor.post(f"/api/v1/public/journeys/{uuid.uuid4()}/trigger", body, format="json").status_code == 404
    assert editor.post(trigger_url(plan), {}, format="json").status_code == 400


def test_uuids_made_as_text_are_the_standard_ones():
    from journeys.selectors import PROFILE_NAMESPACE
    from journeys.uuids import name_uuid, time_ordered_uuids

    for text in time_ordered_uuids(200):
        value = uuid.UUID(text)
        assert (str(value), value.version, value.variant) == (text, 7, uuid.RFC_4122)
        assert abs((value.int >> 80) / 1000 - time.time()) < 60  # the first 48 bits: Unix milliseconds
    for name in ("t_1:c00001", "t_2:émile", ""):
        assert name_uuid(PROFILE_NAMESPACE, name) == str(uuid.uuid5(PROFILE_NAMESPACE, name))
