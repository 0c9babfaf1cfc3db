"""Result files: CSV and JSON Lines content, the manifest, the download endpoint (three
actors) and the upload to a real local S3-compatible server (moto's server mode)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from rest_framework.test import APIClient

from campaigns import files, services
from campaigns.models import CampaignFile, CampaignRun, FileStatus
from config.celery import app as celery_app
from runs import services as run_services
from runs.models import Recommendation
from segments.models import Customer
from tests.campaigns.helpers import ok


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _executed_run(make_campaign: Any, system_actor: Any, **data: Any) -> CampaignRun:
    campaign = make_campaign(**data)
    campaign_run = services.campaign_trigger(tenant=campaign.tenant, actor=system_actor, campaign=campaign)
    run_services.run_execute_inline(run_id=campaign_run.run_id or "")
    return CampaignRun.objects.select_related("run", "campaign").get(pk=campaign_run.pk)


def _expected_rows(campaign_run: CampaignRun) -> list[tuple[int, int]]:
    return list(
        Recommendation.objects.filter(run_id=campaign_run.run_id)
        .order_by("customer_id", "rank")
        .values_list("customer_id", "rank")
    )


def _read(record: CampaignFile) -> bytes:
    storage, name = files.file_storage(record)
    with storage.open(name, "rb") as handle:
        return bytes(handle.read())


def test_csv_file_has_the_chosen_columns_every_row_and_a_matching_manifest(make_campaign, system_actor):
    columns = ["customer_id", "external_id", "offer_key", "channel", "score", "rank"]
    campaign_run = _executed_run(
        make_campaign, system_actor, file_config={"format": "csv", "columns": columns, "destination": "download"}
    )
    record = files.campaign_file_write(campaign_run_id=campaign_run.pk)
    assert record is not None
    assert record.status == FileStatus.READY
    content = _read(record)
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert rows[0] == columns
    expected = _expected_rows(campaign_run)
    assert len(expected) > 20
    assert [(int(r[0]), int(r[5])) for r in rows[1:]] == expected
    assert all(r[1].startswith("c") and r[2] for r in rows[1:])
    assert record.rows == len(expected)
    assert record.checksum == hashlib.sha256(content).hexdigest()
    manifest = files.campaign_file_manifest(record)
    assert manifest["rows"] == len(expected)
    assert manifest["sha256"] == record.checksum
    assert manifest["columns"] == columns
    assert manifest["generatedAt"].endswith("Z")
    assert set(manifest) == {
        "file", "format", "contentType", "columns", "rows", "size", "sha256", "generatedAt", "campaignId",
        "campaignRunId", "runId",
    }  # fmt: skip


def _first_customer_named(campaign_run: CampaignRun, name: str) -> None:
    first = Recommendation.objects.filter(run_id=campaign_run.run_id).order_by("customer_id").first()
    assert first is not None
    Customer.objects.filter(pk=first.customer_id).update(first_name=name)


@pytest.mark.parametrize(
    ("file_config", "written"), [({}, "'=cmd|' /C calc'!A0"), ({"escape_formulas": False}, "=cmd|' /C calc'!A0")]
)
def test_csv_file_escapes_formulas_unless_turned_off(make_campaign, system_actor, file_config, written):
    columns = ["first_name", "score"]
    campaign_run = _executed_run(make_campaign, system_actor, file_config={"columns": columns, **file_config})
    _first_customer_named(campaign_run, "=cmd|' /C calc'!A0")
    record = files.campaign_file_write(campaign_run_id=campaign_run.pk)
    assert record is not None
    rows = list(csv.reader(io.StringIO(_read(record).decode())))
    assert rows[1][0] == written
    assert float(rows[1][1]) >= 0


def test_escape_formulas_is_on_by_default_and_must_be_a_boolean(editor: APIClient, make_campaign, catalogue):
    campaign = make_campaign(file_config={"format": "csv"})
    assert campaign.file_config["escape_formulas"] is True
    body = {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk, "name": "Files"}
    response = editor.post("/api/v1/campaigns", {**body, "fileConfig": {"escapeFormulas": "no"}})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["fileConfig.escapeFormulas"]
    created = ok(editor.post("/api/v1/campaigns", {**body, "fileConfig": {"escapeFormulas": False}}), 201)
    assert created["fileConfig"]["escapeFormulas"] is False


def test_json_lines_with_personalization(make_campaign, system_actor):
    campaign_run = _executed_run(
        make_campaign,
        system_actor,
        file_config={"format": "json", "columns": ["external_id", "offer_name"], "include_personalization": True},
    )
    record = files.campaign_file_write(campaign_run_id=campaign_run.pk)
    assert record is not None
    assert record.path.endswith(".jsonl")
    lines = [json.loads(line) for line in _read(record).decode().splitlines()]
    assert len(lines) == len(_expected_rows(campaign_run))
    # JSON is camelCase: the columns as configured (snake_case, docs/api-contract.md §2.7) become camelCase keys
    assert set(lines[0]) == {"externalId", "offerName", "subject", "content"}
    assert all(line["subject"].startswith("Hi ") for line in lines)
    assert all(line["content"] == f"{line['offerName']} for you" for line in lines)


def test_writing_twice_keeps_one_file(make_campaign, system_actor):
    campaign_run = _executed_run(make_campaign, system_actor, file_config={"format": "csv"})
    first = files.campaign_file_write(campaign_run_id=campaign_run.pk)
    second = files.campaign_file_write(campaign_run_id=campaign_run.pk)
    assert first is not None
    assert second is not None
    assert (first.pk, first.path) == (second.pk, second.path)
    assert CampaignFile.objects.filter(campaign_run=campaign_run).count() == 1


def test_no_file_config_no_file(make_campaign, system_actor):
    campaign_run = _executed_run(make_campaign, system_actor)
    assert files.campaign_file_write(campaign_run_id=campaign_run.pk) is None


def test_the_finished_run_writes_its_file_after_commit(
    make_campaign, system_actor, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    campaign = make_campaign(file_config={"format": "csv"})
    campaign_run = services.campaign_trigger(tenant=campaign.tenant, actor=system_actor, campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        run_services.run_execute_inline(run_id=campaign_run.run_id or "")
    record = CampaignFile.objects.get(campaign_run=campaign_run)
    assert record.status == FileStatus.READY
    assert record.rows == len(_expected_rows(campaign_run))


# --- the API -------------------------------------------------------------------------------


def test_download_endpoint_and_payload_link(
    make_campaign, system_actor, editor: APIClient, viewer: APIClient, outsider: APIClient
):
    campaign_run = _executed_run(make_campaign, system_actor, file_config={"format": "csv", "columns": ["external_id"]})
    record = files.campaign_file_write(campaign_run_id=campaign_run.pk)
    assert record is not None
    base = f"/api/v1/campaigns/{campaign_run.campaign_id}/campaign-runs/{campaign_run.pk}"

    listed = ok(viewer.get(f"/api/v1/campaigns/{campaign_run.campaign_id}/campaign-runs"))["campaignRuns"][0]
    assert listed["file"]["fileUrl"] == f"{base}/file"
    assert listed["file"]["manifest"] == f"{base}/file/manifest"
    assert listed["file"]["rows"] == record.rows

    response = viewer.get(f"{base}/file")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert hashlib.sha256(body).hexdigest() == record.checksum
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]

    manifest = ok(editor.get(f"{base}/file/manifest"))
    assert manifest["rows"] == record.rows
    assert manifest["sha256"] == record.checksum

    assert outsider.get(f"{base}/file").status_code == 404
    assert outsider.get(f"{base}/file/manifest").status_code == 404
    assert APIClient().get(f"{base}/file").status_code in (401, 403)


def test_no_file_is_404(make_campaign, system_actor, viewer: APIClient):
    campaign_run = _executed_run(make_campaign, system_actor)
    base = f"/api/v1/campaigns/{campaign_run.campaign_id}/campaign-runs/{campaign_run.pk}"
    assert viewer.get(f"{base}/file").status_code == 404
    assert viewer.get(f"/api/v1/campaigns/{campaign_run.campaign_id}/campaign-runs/crun_nope/file").status_code == 404


# --- S3, against a real local S3-compatible server -----------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3_server(settings: Any) -> Iterator[Any]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    settings.AWS_S3_ENDPOINT_URL = endpoint
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_S3_REGION_NAME = "us-east-1"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="kaireon-results")
    try:
        yield client
    finally:
        server.stop()


def test_s3_destination_uploads_file_and_manifest(make_campaign, system_actor, s3_server, viewer: APIClient):
    campaign_run = _executed_run(
        make_campaign,
        system_actor,
        file_config={
            "format": "csv",
            "columns": ["customer_id", "rank"],
            "destination": "s3",
            "s3_path": "s3://kaireon-results/exports/weekly",
        },
    )
    record = files.campaign_file_write(campaign_run_id=campaign_run.pk)
    assert record is not None
    assert record.status == FileStatus.READY
    assert record.path.startswith("s3://kaireon-results/exports/weekly/")
    key = record.path.removeprefix("s3://kaireon-results/")
    body = s3_server.get_object(Bucket="kaireon-results", Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == record.checksum
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert [(int(a), int(b)) for a, b in rows[1:]] == _expected_rows(campaign_run)
    manifest = json.loads(s3_server.get_object(Bucket="kaireon-results", Key=key + ".manifest.json")["Body"].read())
    assert manifest["rows"] == record.rows
    assert manifest["sha256"] == record.checksum
    # listed with its S3 path; not served by the download endpoint
    base = f"/api/v1/campaigns/{campaign_run.campaign_id}/campaign-runs/{campaign_run.pk}"
    listed = ok(viewer.get(f"/api/v1/campaigns/{campaign_run.campaign_id}/campaign-runs"))["campaignRuns"][0]
    assert listed["file"]["path"] == record.path
    assert listed["file"]["fileUrl"] is None
    assert viewer.get(f"{base}/file").status_code == 404
    assert ok(viewer.get(f"{base}/file/manifest"))["sha256"] == record.checksum


def test_s3_failure_is_recorded_on_the_file(make_campaign, system_actor, s3_server):
    campaign_run = _executed_run(
        make_campaign,
        system_actor,
        file_config={"format": "csv", "destination": "s3", "s3_path": "s3://no-such-bucket/x"},
    )
    with pytest.raises(Exception, match=r"NoSuchBucket|does not exist"):
        files.campaign_file_write(campaign_run_id=campaign_run.pk)
    record = CampaignFile.objects.get(campaign_run=campaign_run)
    assert record.status == FileStatus.FAILED
    assert record.error


def test_a_finished_campaign_run_writes_its_file_in_this_process_when_the_broker_is_down(
    make_campaign: Any, system_actor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kombu.exceptions import OperationalError

    from campaigns import tasks

    def down(*args: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    campaign_run = _executed_run(make_campaign, system_actor, file_config={"format": "csv", "destination": "download"})
    monkeypatch.setattr(tasks.write_file, "delay", down)
    monkeypatch.setattr(tasks.start_deliveries, "delay", down)
    services.campaign_run_after_finish(campaign_run.run_id or "")
    record = CampaignFile.objects.get(campaign_run=campaign_run)
    assert record.status == FileStatus.READY
    assert _read(record).count(b"\n") == len(_expected_rows(campaign_run)) + 1  # the header, then one row each
