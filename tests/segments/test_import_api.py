"""POST /customers/import end to end: the upload is stored, the task runs with ``.apply()``."""

from __future__ import annotations

import io

import pytest
from kombu.exceptions import OperationalError

from segments import services
from segments.models import Customer, CustomerImport, ImportRunner, ImportStatus
from segments.services import imports
from segments.tasks import import_customers
from tests.segments.factories import CustomerImportFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/import"
JOBS = "/api/v1/customers/imports"
CSV = b"externalId,email,tier,age\nu1,u1@example.com,gold,30\nu2,bad-email,gold,31\nu3,u3@example.com,silver,x\n"


def upload(client, content: bytes = CSV, name: str = "customers.csv", **extra):
    file = io.BytesIO(content)
    file.name = name
    return client.post(URL, {"file": file, **extra}, format="multipart")


def test_upload_is_stored_queued_after_commit_and_runs_with_the_task(
    editor, viewer, tenant, schema, media_root, django_capture_on_commit_callbacks, monkeypatch
):
    sent: list[tuple] = []
    monkeypatch.setattr(import_customers, "apply_async", lambda args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(editor)
    assert response.status_code == 202, response.content
    job = response.json()
    summary = (job["status"], job["format"], job["fileName"], job["runner"])
    assert summary == ("pending", "csv", "customers.csv", "celery")
    assert response["Location"].endswith(f"/api/v1/customers/imports/{job['id']}")
    assert len(callbacks) == 1
    assert sent == [(job["id"],)]
    stored = CustomerImport.objects.get(pk=job["id"])
    assert (media_root / stored.file_path).read_bytes() == CSV

    import_customers.apply(args=(job["id"],))  # what the worker runs

    progress = viewer.get(f"{JOBS}/{job['id']}").json()
    assert progress["status"] == "completed_with_errors"
    assert (progress["totalRows"], progress["processedRows"], progress["percent"]) == (3, 3, 100.0)
    assert (progress["createdCount"], progress["updatedCount"], progress["errorCount"]) == (1, 0, 2)
    assert progress["errors"] == [
        {"line": 3, "field": "email", "message": "not a valid email address: 'bad-email'"},
        {"line": 4, "field": "attributes.age", "message": "expected an integer, got 'x'"},
    ]
    assert list(Customer.objects.filter(tenant=tenant).values_list("external_id", flat=True)) == ["u1"]

    # the same task delivered again changes nothing
    import_customers.apply(args=(job["id"],))
    assert CustomerImport.objects.get(pk=job["id"]).created_count == 1


def test_json_body_import(editor, tenant, schema, django_capture_on_commit_callbacks):
    customers = [
        {"externalId": "j1", "firstName": "Jo", "attributes": {"tier": "gold", "age": 3}},
        {"externalId": "j2", "lastName": "Doe", "tier": "silver", "vip": True},
        {"externalId": "j3", "attributes": {"age": 3}},
    ]
    with django_capture_on_commit_callbacks(execute=False):
        response = editor.post(URL, {"customers": customers}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    import_customers.apply(args=(job_id,))
    job = CustomerImport.objects.get(pk=job_id)
    assert (job.status, job.created_count, job.error_count) == (ImportStatus.COMPLETED_WITH_ERRORS, 2, 1)
    assert job.errors == [{"line": 3, "field": "attributes.tier", "message": "required by the customer schema"}]
    j1 = Customer.objects.get(tenant=tenant, external_id="j1")
    assert (j1.first_name, j1.attributes) == ("Jo", {"tier": "gold", "age": 3})
    assert Customer.objects.get(tenant=tenant, external_id="j2").attributes == {"tier": "silver", "vip": True}


def test_broker_down_runs_the_import_in_a_thread_and_says_so(
    editor, tenant, schema, django_capture_on_commit_callbacks, monkeypatch
):
    def unreachable(args):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    monkeypatch.setattr(import_customers, "apply_async", unreachable)
    # the thread itself is replaced by a direct call: the test's transaction is not visible to another connection
    monkeypatch.setattr(imports, "start_import_thread", lambda job_id: services.customer_import_run(job_id=job_id))
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(editor)
    job = CustomerImport.objects.get(pk=response.json()["id"])
    assert job.runner == ImportRunner.THREAD
    assert "broker was unreachable" in job.message
    assert job.status == ImportStatus.COMPLETED_WITH_ERRORS


def test_roles_and_tenants(viewer, editor, outsider, tenant, schema):
    assert upload(viewer).status_code == 403
    job_id = upload(editor).json()["id"]
    assert viewer.get(f"{JOBS}/{job_id}").status_code == 200
    assert viewer.get(JOBS).json()["total"] == 1
    assert outsider.get(f"{JOBS}/{job_id}").status_code == 404
    assert outsider.get(JOBS).json() == {"customerImports": [], "total": 0}
    assert editor.post(JOBS, {}, format="json").status_code == 405


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"data": {}, "format": "json"}, "customers"),
        ({"data": {"customers": []}, "format": "json"}, "customers"),
        ({"data": {"customers": ["x"]}, "format": "json"}, "customers.0"),
    ],
)
def test_bad_import_requests_are_400(editor, request_kwargs, field):
    response = editor.post(URL, **request_kwargs)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_unknown_file_type_needs_a_format(editor, schema):
    response = upload(editor, name="customers.xlsx")
    assert response.status_code == 400
    assert "format" in response.json()["fields"]
    assert upload(editor, name="customers.dat", format="csv").status_code == 202


def test_progress_percent_while_running(viewer, tenant):
    job = CustomerImportFactory.create(tenant=tenant, status=ImportStatus.RUNNING, total_rows=200, processed_rows=50)
    body = viewer.get(f"{JOBS}/{job.pk}").json()
    assert (body["processedRows"], body["totalRows"], body["percent"]) == (50, 200, 25.0)


def test_job_list_query_count_is_constant(viewer, tenant, django_assert_num_queries):
    CustomerImportFactory.create_batch(2, tenant=tenant)
    viewer.get(JOBS)
    with django_assert_num_queries(3):
        assert viewer.get(JOBS).json()["total"] == 2
    CustomerImportFactory.create_batch(5, tenant=tenant)
    with django_assert_num_queries(3):
        assert viewer.get(JOBS).json()["total"] == 7
