from __future__ import annotations

import io

import pytest

from segments.models import Customer, CustomerImport, ImportRunner, ImportStatus
from tests.worker import wait_for


@pytest.mark.worker
def test_uploaded_import_runs_on_a_real_worker(celery_worker_process, editor, tenant, schema):
    file = io.BytesIO(b"externalId,tier\nw1,gold\nw2,silver\nw3,\n")
    file.name = "workers.csv"
    response = editor.post("/api/v1/customers/import", {"file": file}, format="multipart")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]

    def finished() -> CustomerImport | None:
        job = CustomerImport.objects.get(pk=job_id)
        return job if job.is_finished else None

    job = wait_for(finished, timeout=30, message=celery_worker_process.log)
    assert (job.status, job.runner, job.created_count, job.error_count) == (
        ImportStatus.COMPLETED_WITH_ERRORS,
        ImportRunner.CELERY,
        2,
        1,
    )
    assert sorted(Customer.objects.filter(tenant=tenant).values_list("external_id", flat=True)) == ["w1", "w2"]
