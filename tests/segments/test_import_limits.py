"""Uploads at their limits (issue 10, section 3): size, retention, encoding, and what the logs see."""

from __future__ import annotations

import io
import logging

import pytest

from segments import services
from segments.importing import writers
from segments.models import CustomerImport, ImportStatus
from segments.services import imports
from segments.tasks import import_customers

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/import"
CSV = b"externalId,email,tier\nu1,u1@example.com,gold\nu2,u2@example.com,silver\n"


def upload(client, content: bytes = CSV, name: str = "customers.csv"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(URL, {"file": file}, format="multipart")


def stored_files(media_root) -> list[str]:
    return [str(p) for p in media_root.rglob("*") if p.is_file()]


def run_job(job_id: str) -> CustomerImport:
    import_customers.apply(args=(job_id,))
    return CustomerImport.objects.get(pk=job_id)


def test_an_upload_beyond_the_limit_is_a_413_in_the_error_shape(editor, schema, media_root, settings):
    settings.UPLOAD_MAX_BYTES = len(CSV) - 1
    response = upload(editor)
    assert response.status_code == 413
    body = response.json()
    assert (body["status"], body["code"]) == (413, "too_large")
    assert (
        body["error"]
        == f"The file ({len(CSV)} bytes) is larger than the {len(CSV) - 1} bytes accepted (UPLOAD_MAX_BYTES)."
    )
    assert not CustomerImport.objects.exists()
    assert stored_files(media_root) == []
    settings.UPLOAD_MAX_BYTES = len(CSV)
    assert upload(editor).status_code == 202


def test_a_json_body_beyond_the_limit_is_a_413(editor, schema, settings):
    settings.UPLOAD_MAX_BYTES = 50
    customers = [{"externalId": f"u{i}", "tier": "gold"} for i in range(10)]
    response = editor.post(URL, {"customers": customers}, format="json")
    assert response.status_code == 413
    assert response.json()["error"].startswith("The request body is larger than")
    assert not CustomerImport.objects.exists()


@pytest.mark.parametrize("content", [CSV, b"externalId,tier\nu1,\xe9t\xe9\n", b"externalId\n"])
def test_an_uploaded_file_is_removed_when_its_import_ends(editor, schema, media_root, content, monkeypatch):
    monkeypatch.setattr(import_customers, "apply_async", lambda args: None)
    job_id = upload(editor, content).json()["id"]
    assert len(stored_files(media_root)) == 1
    job = run_job(job_id)
    assert job.is_finished
    assert stored_files(media_root) == []


def test_a_file_of_the_management_command_is_kept(tenant, schema, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(CSV)
    job = services.customer_import_create(tenant=tenant, actor=None, local_path=str(path))
    services.customer_import_run(job_id=job.pk)
    assert path.read_bytes() == CSV


def test_a_file_that_is_not_utf8_fails_naming_the_byte_its_offset_and_line(editor, schema, media_root, monkeypatch):
    monkeypatch.setattr(import_customers, "apply_async", lambda args: None)
    latin1 = "externalId,tier\nu1,gold\nu2,été\n".encode("latin-1")
    job = run_job(upload(editor, latin1).json()["id"])
    expected = "the file is not UTF-8 text: byte 0xE9 at offset 27 (line 3); save it as UTF-8"
    assert job.status == ImportStatus.FAILED
    assert job.message == f"The file could not be read to its end: {expected}"
    assert job.errors == [{"line": 3, "field": "", "message": expected}]
    assert job.created_count == 0  # nothing imported from a file in another encoding


def test_an_import_failure_never_logs_the_files_content(editor, schema, media_root, monkeypatch, caplog):
    monkeypatch.setattr(import_customers, "apply_async", lambda args: None)
    secret = b"externalId,email,tier\nu1,secret.person@example.com,gold\n"
    job_id = upload(editor, secret).json()["id"]

    def broken_write(**kwargs):
        rows = kwargs["rows"]
        raise ValueError(f"database refused the row {rows[0].external_id} {rows[0].fields['email']}")

    monkeypatch.setattr(writers, "write_batch", broken_write)
    with caplog.at_level(logging.DEBUG), pytest.raises(imports.ImportFailed) as raised:
        services.customer_import_run(job_id=job_id)
    logged = caplog.text + "".join(
        logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info
    )
    assert f"import {job_id} failed: ValueError" in logged
    assert "secret.person" not in logged
    assert "secret.person" not in str(raised.value)
    assert raised.value.__suppress_context__
    job = CustomerImport.objects.get(pk=job_id)
    assert job.status == ImportStatus.FAILED
    assert "secret.person@example.com" in job.message  # the job tells the people who sent the file
    assert stored_files(media_root) == []
