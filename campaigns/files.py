"""A campaign run's result file (fileConfig): CSV or JSON Lines, the chosen columns, streamed
from the database page by page (keyset on the customer id) into a temporary file while its
sha256 is computed, then stored: under MEDIA_ROOT through ``default_storage`` (destination
download) or in S3 through django-storages' S3Storage (destination s3). A manifest (rows,
checksum, columns, generatedAt; camelCase like every JSON) is stored beside it as
``<file>.manifest.json``. JSON Lines rows are keyed by the columns in camelCase (offer_name →
offerName); a CSV header lists them as configured.

Memory is bounded by the page (``runs.selectors.EXPORT_PAGE`` customers); the file itself is
spooled to disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.http import FileResponse
from django.utils import timezone

from campaigns import config
from campaigns.models import CampaignFile, CampaignRun, FileStatus
from decisionflows.models import Channel, Creative, Offer
from decisionflows.personalization import render
from kaireon.csvexport import CsvWriter
from kaireon.naming import camel
from runs.models import Recommendation, RunStatus
from runs.selectors import EXPORT_PAGE, customer_fields, offer_fields
from segments.models import Customer

EXTENSIONS = {"csv": "csv", "json": "jsonl"}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/x-ndjson; charset=utf-8"}
MANIFEST_SUFFIX = ".manifest.json"


def file_columns(file_config: dict[str, Any]) -> list[str]:
    columns = list(file_config.get("columns") or config.DEFAULT_FILE_COLUMNS)
    if file_config.get("include_personalization"):
        columns += [c for c in config.PERSONALIZATION_COLUMNS if c not in columns]
    return columns


def _pages(run_id: str) -> Iterator[list[int]]:
    after = 0
    while True:
        ids = list(
            Recommendation.objects.filter(run_id=run_id, customer_id__gt=after)
            .order_by("customer_id")
            .values_list("customer_id", flat=True)
            .distinct()[:EXPORT_PAGE]
        )
        if not ids:
            return
        yield ids
        after = ids[-1]


def file_rows(campaign_run: CampaignRun, columns: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Every recommendation of the campaign run's Run, in (customer, rank) order, as a dict of
    ``columns``; personalization is rendered only when asked for."""
    run = campaign_run.run
    assert run is not None
    tenant_id = campaign_run.tenant_id
    offers = {o.pk: o for o in Offer.objects.filter(tenant_id=tenant_id)}
    channels = {c.pk: c for c in Channel.objects.filter(tenant_id=tenant_id)}
    creatives = {c.pk: c for c in Creative.objects.filter(tenant_id=tenant_id)}
    personalize = any(c in config.PERSONALIZATION_COLUMNS for c in columns)
    for ids in _pages(run.pk):
        customers = {c.pk: c for c in Customer.objects.filter(pk__in=ids)}
        recs = Recommendation.objects.filter(run_id=run.pk, customer_id__in=ids).order_by("customer_id", "rank")
        for rec in recs.values_list("customer_id", "rank", "offer_id", "channel_id", "creative_id", "score"):
            customer_id, rank, offer_id, channel_id, creative_id, score = rec
            customer = customers.get(customer_id)
            offer = offers.get(offer_id)
            channel = channels.get(channel_id)
            creative = creatives.get(creative_id or "")
            row: dict[str, Any] = {
                "customer_id": customer_id,
                "external_id": customer.external_id if customer else "",
                "email": customer.email if customer else "",
                "first_name": customer.first_name if customer else "",
                "last_name": customer.last_name if customer else "",
                "offer_id": offer_id,
                "offer_key": offer.key if offer else "",
                "offer_name": offer.name if offer else "",
                "channel": channel.name if channel else "",
                "channel_type": channel.channel_type if channel else "",
                "creative": creative.name if creative else "",
                "score": score,
                "rank": rank,
            }
            if personalize:
                fields = customer_fields(customer) if customer else {}
                values = offer_fields(offer) if offer else {}
                row["subject"] = render(creative.subject, fields, values) if creative else ""
                row["content"] = render(creative.content, fields, values) if creative else ""
            yield {column: row[column] for column in columns}


def write_rows(
    rows: Iterator[dict[str, Any]], columns: Sequence[str], fmt: str, out: IO[bytes], *, escape_formulas: bool = True
) -> tuple[int, str]:
    """Write ``rows`` to ``out`` as CSV (with a header; formula-like text escaped unless
    ``escape_formulas`` is off, kaireon.csvexport) or JSON Lines; returns (rows, sha256)."""
    digest = hashlib.sha256()
    count = 0
    json_keys = {column: camel(column) for column in columns}  # JSON is camelCase, CSV headers as configured
    buffer = io.StringIO()
    writer = CsvWriter(buffer, escape_formulas=escape_formulas)

    def flush() -> None:
        data = buffer.getvalue().encode()
        digest.update(data)
        out.write(data)
        buffer.seek(0)
        buffer.truncate()

    if fmt == "csv":
        writer.writerow(columns)
    for row in rows:
        if fmt == "csv":
            writer.writerow([row[c] for c in columns])
        else:
            buffer.write(json.dumps({json_keys[c]: row[c] for c in columns}, ensure_ascii=False) + "\n")
        count += 1
        if count % 5_000 == 0:
            flush()
    flush()
    return count, digest.hexdigest()


# --- storage -------------------------------------------------------------------------------


def _setting(name: str) -> str | None:
    value = getattr(settings, name, None) or os.environ.get(name)
    return str(value) if value else None


def s3_storage(s3_path: str) -> tuple[Storage, str]:
    """The S3Storage of an ``s3://bucket/prefix`` path and the prefix. Endpoint and credentials
    come from settings or the environment (AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_S3_REGION_NAME), so a local S3-compatible server works too."""
    from storages.backends.s3 import S3Storage

    bucket, _, prefix = s3_path.removeprefix("s3://").partition("/")
    storage = S3Storage(
        bucket_name=bucket,
        endpoint_url=_setting("AWS_S3_ENDPOINT_URL"),
        access_key=_setting("AWS_ACCESS_KEY_ID"),
        secret_key=_setting("AWS_SECRET_ACCESS_KEY"),
        region_name=_setting("AWS_S3_REGION_NAME") or "us-east-1",
        file_overwrite=True,
        default_acl=None,
        querystring_auth=False,
    )
    return storage, prefix.strip("/")


def file_storage(record: CampaignFile) -> tuple[Storage, str]:
    """Where a file lives and its name in that storage."""
    if record.destination == "s3":
        bucket, _, key = record.path.removeprefix("s3://").partition("/")
        storage, _prefix = s3_storage(f"s3://{bucket}")
        return storage, key
    return default_storage, record.path


def _save(storage: Storage, name: str, content: IO[bytes]) -> str:
    if storage.exists(name):  # a rewrite replaces the file, it does not add a suffixed copy
        storage.delete(name)
    return storage.save(name, File(content, name=os.path.basename(name)))


# --- the service ---------------------------------------------------------------------------


def campaign_file_write(*, campaign_run_id: str) -> CampaignFile | None:
    """Write the campaign run's file and manifest once its Run has completed. Idempotent: the
    campaign run has one CampaignFile (one-to-one); a ready one is not written again, a failed
    or interrupted one is written over."""
    campaign_run = CampaignRun.objects.select_related("campaign", "run").filter(pk=campaign_run_id).first()
    if campaign_run is None or campaign_run.run is None:
        return None
    file_config = campaign_run.campaign.file_config
    if not file_config or campaign_run.run.status not in (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_ERRORS):
        return None
    fmt = file_config.get("format", "csv")
    destination = file_config.get("destination", "download")
    columns = file_columns(file_config)
    record, _ = CampaignFile.objects.get_or_create(
        campaign_run=campaign_run,
        defaults={"tenant_id": campaign_run.tenant_id, "format": fmt, "destination": destination, "columns": columns},
    )
    if record.status == FileStatus.READY:
        return record
    campaign = campaign_run.campaign
    base = f"{campaign.pk}/run-{campaign_run.run_number:05d}-{campaign_run.pk}.{EXTENSIONS[fmt]}"
    try:
        with tempfile.TemporaryFile() as spool:
            # Stored configs from before escapeFormulas existed escape too: people open these files.
            escape = bool(file_config.get("escape_formulas", True))
            rows = file_rows(campaign_run, columns)
            count, checksum = write_rows(rows, columns, fmt, spool, escape_formulas=escape)
            size = spool.tell()
            spool.seek(0)
            generated_at = timezone.now()
            if destination == "s3":
                storage, prefix = s3_storage(file_config["s3_path"])
                name = _save(storage, f"{prefix}/{base}" if prefix else base, spool)
                path = f"s3://{file_config['s3_path'].removeprefix('s3://').split('/')[0]}/{name}"
            else:
                storage = default_storage
                name = _save(storage, f"campaigns/{campaign_run.tenant_id}/{base}", spool)
                path = name
            manifest = {
                "file": os.path.basename(name),
                "format": fmt,
                "contentType": CONTENT_TYPES[fmt].split(";")[0],
                "columns": columns,
                "rows": count,
                "size": size,
                "sha256": checksum,
                "generatedAt": generated_at.isoformat().replace("+00:00", "Z"),
                "campaignId": campaign.pk,
                "campaignRunId": campaign_run.pk,
                "runId": campaign_run.run.pk,
            }
            _save(storage, name + MANIFEST_SUFFIX, io.BytesIO(json.dumps(manifest, indent=2).encode()))
    except Exception as exc:
        CampaignFile.objects.filter(pk=record.pk).update(
            status=FileStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000], updated_at=timezone.now()
        )
        raise
    with transaction.atomic():
        CampaignFile.objects.filter(pk=record.pk).update(
            format=fmt,
            destination=destination,
            columns=columns,
            path=path,
            rows=count,
            size=size,
            checksum=checksum,
            status=FileStatus.READY,
            error="",
            generated_at=generated_at,
            updated_at=timezone.now(),
        )
    record.refresh_from_db()
    return record


def campaign_file_response(record: CampaignFile) -> FileResponse:
    """The downloaded file as an attachment, with its checksum in ``X-Checksum-Sha256``."""
    storage, name = file_storage(record)
    response = FileResponse(
        storage.open(name, "rb"),
        as_attachment=True,
        filename=name.rsplit("/", 1)[-1],
        content_type=CONTENT_TYPES[record.format],
    )
    response["X-Checksum-Sha256"] = record.checksum
    return response


def campaign_file_manifest(record: CampaignFile) -> dict[str, Any]:
    storage, name = file_storage(record)
    with storage.open(name + MANIFEST_SUFFIX, "rb") as handle:
        manifest: dict[str, Any] = json.loads(handle.read())
    return manifest
