"""Import jobs: store the file, queue the job (or run it in a thread when the broker is down),
run it in batches with progress on the job row, and audit the outcome (counts, not rows)."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from kaireon import broker
from kaireon.errors import ValidationError, too_large, upload_max_bytes
from kaireon.models import Role, Tenant
from kaireon.principal import Principal
from kaireon.services import Actor, audit_record
from segments import selectors
from segments.importing import readers
from segments.importing.pipeline import ImportStats, import_stream
from segments.importing.rows import RowError
from segments.models import CustomerImport, ImportFormat, ImportRunner, ImportStatus

logger = logging.getLogger(__name__)

# A running import writes its heartbeat with every batch (seconds apart); one silent for this
# long lost its worker and may be claimed again.
IMPORT_LEASE = timedelta(minutes=2)


class ImportBusy(Exception):
    """Another worker holds the job's lease: it is running right now."""


class ImportFailed(Exception):
    """The import stopped on an unexpected error; the job says which (this text never quotes the file)."""


def _import_format(requested: str | None, file_name: str) -> str:
    if requested:
        if requested not in ImportFormat.values:
            raise ValidationError({"format": f"use csv or json, not {requested!r}"})
        return requested
    extension = os.path.splitext(file_name)[1].lower()
    if extension in (".csv", ".txt"):
        return ImportFormat.CSV
    if extension in (".json", ".jsonl", ".ndjson"):
        return ImportFormat.JSON
    raise ValidationError({"format": "cannot tell the format from the file name; pass format csv or json"})


@transaction.atomic
def customer_import_create(
    *,
    tenant: Tenant,
    actor: Actor,
    upload: File[Any] | None = None,
    records: list[Any] | None = None,
    local_path: str | None = None,
    format: str | None = None,
) -> CustomerImport:
    """Store the file and queue the import (after commit).

    One source: an uploaded file (kept under MEDIA_ROOT/imports/), a list of records from a JSON
    body (stored as JSON Lines, same path from there), or a local path (the management command,
    which runs the job itself: nothing is queued).
    """
    job = CustomerImport(tenant=tenant)
    if local_path is not None:
        job.format = _import_format(format, local_path)
        job.file_path = os.path.abspath(local_path)
        job.file_name = os.path.basename(local_path)
        job.runner = ImportRunner.COMMAND
    elif upload is not None:
        if upload.size is not None and upload.size > upload_max_bytes():
            raise too_large("The file", upload.size)
        job.file_name = os.path.basename(upload.name or "upload")[:255]
        job.format = _import_format(format, job.file_name)
        job.file_path = default_storage.save(f"imports/{tenant.pk}/{job.pk}.{job.format}", upload)
    elif records is not None:
        job.format = ImportFormat.JSON
        job.file_name = "request body"
        body = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        job.file_path = default_storage.save(f"imports/{tenant.pk}/{job.pk}.jsonl", ContentFile(body.encode()))
    else:
        raise ValidationError({"file": "send a file, or a JSON body with customers"})
    if actor is not None:
        job.requested_by = actor.user if actor.user is not None and actor.user.pk else None
        job.requested_by_key = actor.api_key
    job.save(force_insert=True)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="create",
        instance=job,
        after={"format": job.format, "file_name": job.file_name, "runner": job.runner},
    )
    if job.runner != ImportRunner.COMMAND:
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue_import(job_id))
    return job


def _enqueue_import(job_id: str) -> None:
    """Queue the job; with the broker down, run it in a background thread and say so on the job."""
    from segments.tasks import import_customers

    def in_thread(exc: Exception) -> None:
        CustomerImport.objects.filter(pk=job_id).update(
            runner=ImportRunner.THREAD,
            message=f"The task broker was unreachable ({exc}); "
            "the import ran in a background thread of the web process.",
        )
        start_import_thread(job_id)

    broker.send(
        lambda: import_customers.apply_async(args=(job_id,)),
        instead=f"running import {job_id} in a background thread",
        fallback=in_thread,
    )


def start_import_thread(job_id: str) -> None:
    threading.Thread(target=_run_in_thread, args=(job_id,), name=f"import-{job_id}", daemon=True).start()


def _run_in_thread(job_id: str) -> None:
    try:
        customer_import_run(job_id=job_id)
    except Exception:
        logger.exception("import %s failed in its background thread", job_id)
    finally:
        connection.close()


def _is_upload(job: CustomerImport) -> bool:
    # Absolute paths come from the management command only (the operator's own file); uploads
    # and request bodies are storage names.
    return not os.path.isabs(job.file_path)


def _open_binary(job: CustomerImport) -> Any:
    """The job's file as a binary stream (a storage File or a local file; both close on exit)."""
    return default_storage.open(job.file_path, "rb") if _is_upload(job) else open(job.file_path, "rb")


@contextmanager
def _open_text(job: CustomerImport) -> Iterator[TextIO]:
    with _open_binary(job) as binary, io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as text:
        yield text


def _discard_upload(job: CustomerImport) -> None:
    """Uploads are kept only while their import runs: a finished job keeps its counts and first
    errors, never the customers' data. The management command's file is the operator's: kept."""
    if _is_upload(job):
        default_storage.delete(job.file_path)


def _claim(job_id: str) -> bool:
    """pending → running, or take over a running job whose heartbeat lapsed (checked by rowcount)."""
    now = timezone.now()
    return bool(
        CustomerImport.objects.filter(pk=job_id)
        .filter(Q(status=ImportStatus.PENDING) | Q(status=ImportStatus.RUNNING, heartbeat_at__lt=now - IMPORT_LEASE))
        .update(
            status=ImportStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
            processed_rows=0,
            created_count=0,
            updated_count=0,
            error_count=0,
            errors=[],
        )
    )


def _actor_of(job: CustomerImport) -> Actor:
    if job.requested_by_key_id is None and job.requested_by_id is None:
        return None
    user = get_user_model().objects.filter(pk=job.requested_by_id).first() if job.requested_by_id else None
    return Principal(tenant=job.tenant, role=Role.EDITOR, user=user, api_key=job.requested_by_key)


def customer_import_run(*, job_id: str, progress: Callable[[CustomerImport], None] | None = None) -> CustomerImport:
    """Run one import job to its end. Each batch commits with the job's counters; the job then
    ends completed, completed_with_errors (some rows rejected) or failed (the file could not be
    read on). Running it twice is harmless: claiming is conditional and rows are upserts."""
    job = CustomerImport.objects.select_related("tenant", "requested_by_key").get(pk=job_id)
    if job.is_finished:
        return job
    if not _claim(job_id):
        job.refresh_from_db()
        if job.status == ImportStatus.RUNNING:
            raise ImportBusy(job_id)
        return job
    job.refresh_from_db()
    tenant = job.tenant
    schema = selectors.attribute_schema(tenant=tenant)

    def on_batch(stats: ImportStats) -> None:
        job.processed_rows, job.created_count, job.updated_count = stats.processed, stats.created, stats.updated
        job.error_count, job.errors, job.heartbeat_at = stats.rejected, stats.errors, timezone.now()
        job.save(
            update_fields=["processed_rows", "created_count", "updated_count", "error_count", "errors", "heartbeat_at"]
        )
        if progress is not None:
            progress(job)

    try:
        with _open_binary(job) as binary:
            not_utf8 = readers.utf8_problem(binary)
        if not_utf8 is not None:
            stats = ImportStats(fatal=not_utf8.message)
            stats.add_errors([RowError(not_utf8.line, "", not_utf8.message)])
            return _import_finish(job, stats)
        with _open_text(job) as stream:
            job.total_rows = readers.count_records(stream, job.format)
        job.save(update_fields=["total_rows"])
        with _open_text(job) as stream:
            stats = import_stream(
                tenant_id=tenant.pk, stream=stream, format=job.format, schema=schema, on_batch=on_batch
            )
    except Exception as exc:  # noqa: BLE001 - recorded on the job and raised again, without its text
        # The job's message is for the people who sent the file; the logs get no more than the
        # exception's type and frames: its text may quote the file (a database error names the
        # row's values).
        CustomerImport.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, message=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error("import %s failed: %s\n%s", job.pk, type(exc).__name__, frames)
        _discard_upload(job)
        raise ImportFailed(f"import {job.pk} failed: {type(exc).__name__} (see the job's message)") from None
    return _import_finish(job, stats)


@transaction.atomic
def _import_finish(job: CustomerImport, stats: ImportStats) -> CustomerImport:
    if stats.fatal:
        job.status = ImportStatus.FAILED
        job.message = f"The file could not be read to its end: {stats.fatal}"
    else:
        job.status = ImportStatus.COMPLETED_WITH_ERRORS if stats.rejected else ImportStatus.COMPLETED
        job.total_rows = stats.processed
    job.finished_at = timezone.now()
    job.errors = stats.errors
    job.save(update_fields=["status", "message", "total_rows", "finished_at", "errors"])
    _discard_upload(job)
    counts = {
        "status": job.status,
        "processed_rows": stats.processed,
        "created_count": stats.created,
        "updated_count": stats.updated,
        "error_count": stats.rejected,
    }
    audit_record(tenant=job.tenant, actor=_actor_of(job), action="import", instance=job, after=counts)
    return job
