"""The import service on files: CSV and JSON, bad rows, upserts, streaming readers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kaireon.models import AuditLog
from segments import services
from segments.importing import readers
from segments.importing.pipeline import import_stream
from segments.models import Customer, CustomerImport, ImportRunner, ImportStatus
from tests.segments.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def run_file(tenant, path: Path, format: str | None = None) -> CustomerImport:
    job = services.customer_import_create(tenant=tenant, actor=None, local_path=str(path), format=format)
    return services.customer_import_run(job_id=job.pk)


def errors_by_line(job: CustomerImport) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for error in job.errors:
        out.setdefault(error["line"], []).append((error["field"], error["message"]))
    return out


CSV_WITH_BAD_ROWS = """\
externalId,email,firstName,last_name,phone,suppressed,unsubscribed,age,score,vip,birthday,tier
c1,c1@example.com,Ada,Lovelace,+44 1,false,no,36,1.5,true,1990-12-10,gold
c2,not-an-email,Bob,B,,,,41,2,false,,silver
c3,c3@example.com,"Multi
Line",C,,yes,1,forty,2,maybe,1990-02-30,bronze
,c4@example.com,No,Id,,,,1,1,true,,gold
c5,c5@example.com,Eve,E,,,,7,0.25,false,2001-01-01,
c6,c6@example.com,Fay,F,,TRUE,,8,3,true,2001-01-02,platinum
"""


def test_csv_import_keeps_good_rows_and_reports_line_field_and_message(tenant, schema, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(CSV_WITH_BAD_ROWS)
    job = run_file(tenant, path)

    assert job.status == ImportStatus.COMPLETED_WITH_ERRORS
    counts = (job.total_rows, job.processed_rows, job.created_count, job.updated_count, job.error_count)
    assert counts == (6, 6, 2, 0, 4)
    errors = errors_by_line(job)
    assert errors[3] == [("email", "not a valid email address: 'not-an-email'")]
    # the quoted field spans lines 4-5: the row is reported at the line where it starts
    assert {field for field, _ in errors[4]} == {"attributes.age", "attributes.vip", "attributes.birthday"}
    assert ("externalId", "required") in errors[6]
    assert errors[7] == [("attributes.tier", "required by the customer schema")]
    assert set(Customer.objects.filter(tenant=tenant).values_list("external_id", flat=True)) == {"c1", "c6"}

    c1 = Customer.objects.get(tenant=tenant, external_id="c1")
    assert (c1.email, c1.first_name, c1.last_name, c1.phone, c1.suppressed, c1.unsubscribed) == (
        "c1@example.com",
        "Ada",
        "Lovelace",
        "+44 1",
        False,
        False,
    )
    assert c1.attributes == {"age": 36, "score": 1.5, "vip": True, "birthday": "1990-12-10", "tier": "gold"}
    assert Customer.objects.get(tenant=tenant, external_id="c6").suppressed is True


def test_reimport_upserts_counts_created_and_updated_and_merges_fields(tenant, schema, tmp_path):
    first = tmp_path / "first.csv"
    first.write_text("externalId,email,age,tier\na,a@example.com,30,gold\nb,b@example.com,40,silver\n")
    job = run_file(tenant, first)
    assert (job.status, job.created_count, job.updated_count) == (ImportStatus.COMPLETED, 2, 0)

    second = tmp_path / "second.csv"
    # no email column: emails stay; the empty score cell removes nothing that was not there
    second.write_text("externalId,age,score,tier\nb,41,,silver\nc,50,9.5,gold\nb,42,,silver\n")
    job = run_file(tenant, second)
    assert (job.status, job.created_count, job.updated_count, job.error_count) == (ImportStatus.COMPLETED, 1, 2, 0)

    customers = {c.external_id: c for c in Customer.objects.filter(tenant=tenant)}
    assert set(customers) == {"a", "b", "c"}
    assert customers["b"].email == "b@example.com"  # kept: the file has no email column
    assert customers["b"].attributes == {"age": 42, "tier": "silver"}  # the later duplicate row wins
    assert customers["c"].attributes == {"age": 50, "score": 9.5, "tier": "gold"}
    assert customers["a"].attributes == {"age": 30, "tier": "gold"}  # not in the file: untouched


def test_json_lines_import_with_bad_rows(tenant, schema, tmp_path):
    path = tmp_path / "customers.jsonl"
    lines = [
        json.dumps({"externalId": "j1", "email": "j1@example.com", "attributes": {"age": 5, "tier": "gold"}}),
        "",
        json.dumps({"external_id": "j2", "age": 6, "tier": "silver", "vip": True}),
        "{not json",
        json.dumps({"externalId": "j3", "attributes": {"age": "six", "tier": "gold", "colour": "red"}}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"externalId": 1234, "tier": "gold", "suppressed": True, "id": 99, "createdAt": "x"}),
        json.dumps({"externalId": "a/b", "tier": "gold"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    job = run_file(tenant, path)

    assert job.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert (job.processed_rows, job.created_count, job.error_count) == (7, 3, 4)
    errors = errors_by_line(job)
    assert errors[4][0][0] == ""
    assert errors[4][0][1].startswith("invalid JSON")
    assert set(errors[5]) == {
        ("attributes.age", "expected an integer, got 'six'"),
        ("attributes.colour", "unknown attribute: it is not in the customer schema"),
    }
    assert errors[6] == [("", "expected an object, got list")]
    assert errors[8][0][0] == "externalId"
    j2 = Customer.objects.get(tenant=tenant, external_id="j2")
    assert j2.attributes == {"age": 6, "tier": "silver", "vip": True}
    assert Customer.objects.get(tenant=tenant, external_id="1234").suppressed is True


def test_json_array_import_streams_objects_and_reports_their_lines(tenant, schema, tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "READ_SIZE", 7)  # objects straddle many reads
    path = tmp_path / "customers.json"
    path.write_text(
        '[\n  {"externalId": "a1", "tier": "gold"},\n  {"externalId": "a2",\n   "tier": 3},\n'
        '  {"externalId": "a3", "tier": "x\\u00e9"}\n]\n'
    )
    job = run_file(tenant, path)
    assert (job.status, job.created_count, job.error_count) == (ImportStatus.COMPLETED_WITH_ERRORS, 2, 1)
    assert job.errors == [{"line": 3, "field": "attributes.tier", "message": "expected a string, got 3"}]
    assert Customer.objects.get(tenant=tenant, external_id="a3").attributes == {"tier": "xé"}


def test_broken_json_array_fails_the_job_but_keeps_earlier_batches(tenant, schema, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"externalId": "ok1", "tier": "a"}, {"externalId": "ok2", "tier": "b"} {"externalId": "x"}]')
    job = run_file(tenant, path)
    assert job.status == ImportStatus.FAILED
    assert "expected ',' or ']'" in job.message
    assert Customer.objects.filter(tenant=tenant).count() == 2


def test_csv_with_unknown_column_fails_before_importing_anything(tenant, schema, tmp_path):
    path = tmp_path / "unknown.csv"
    path.write_text("externalId,tier,favourite_colour\nx1,gold,red\n")
    job = run_file(tenant, path)
    assert job.status == ImportStatus.FAILED
    assert job.errors == [
        {
            "line": 1,
            "field": "favourite_colour",
            "message": "unknown column: not a customer field nor an attribute of the schema",
        }
    ]
    assert not Customer.objects.filter(tenant=tenant).exists()


def test_csv_without_required_attribute_column_fails(tenant, schema, tmp_path):
    path = tmp_path / "no-tier.csv"
    path.write_text("external_id,age\nx1,3\n")
    job = run_file(tenant, path)
    assert job.status == ImportStatus.FAILED
    assert {"line": 1, "field": "attributes.tier", "message": "required by the customer schema: add the column"} in (
        job.errors
    )


def test_import_only_touches_its_own_tenant(tenant, other_tenant, schema, tmp_path):
    CustomerFactory.create(tenant=other_tenant, external_id="shared", email="other@example.com")
    path = tmp_path / "c.csv"
    path.write_text("externalId,email,tier\nshared,mine@example.com,gold\n")
    job = run_file(tenant, path)
    assert (job.created_count, job.updated_count) == (1, 0)
    assert Customer.objects.get(tenant=other_tenant, external_id="shared").email == "other@example.com"


def test_errors_are_capped_but_all_counted(tenant, schema, tmp_path, monkeypatch):
    monkeypatch.setattr("segments.importing.pipeline.ERRORS_STORED", 5)
    path = tmp_path / "bad.csv"
    path.write_text("externalId,tier,age\n" + "".join(f"x{i},gold,notanumber\n" for i in range(12)))
    job = run_file(tenant, path)
    assert (job.error_count, len(job.errors)) == (12, 5)


def test_batches_commit_progress_as_they_go(tenant, schema):
    stream = io.StringIO("externalId,tier\n" + "".join(f"b{i},gold\n" for i in range(25)))
    seen: list[tuple[int, int]] = []
    stats = import_stream(
        tenant_id=tenant.pk,
        stream=stream,
        format="csv",
        schema={"tier": ("string", True)},
        on_batch=lambda s: seen.append((s.processed, Customer.objects.filter(tenant=tenant).count())),
        size=10,
    )
    assert seen == [(10, 10), (20, 20), (25, 25)]
    assert (stats.created, stats.updated) == (25, 0)


def test_import_writes_audit_entries_with_counts_not_rows(tenant, schema, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("externalId,tier\nq1,gold\nq2,silver\n")
    job = run_file(tenant, path)
    entry = AuditLog.objects.get(tenant=tenant, object_id=job.pk, action="import")
    assert entry.after == {
        "status": "completed",
        "processed_rows": 2,
        "created_count": 2,
        "updated_count": 0,
        "error_count": 0,
    }
    assert job.runner == ImportRunner.COMMAND


def test_running_a_finished_job_again_is_a_no_op(tenant, schema, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("externalId,tier\nq1,gold\n")
    job = run_file(tenant, path)
    again = services.customer_import_run(job_id=job.pk)
    assert again.status == ImportStatus.COMPLETED
    assert AuditLog.objects.filter(object_id=job.pk, action="import").count() == 1


def test_a_running_job_with_a_live_lease_is_not_claimed_twice(tenant, schema, tmp_path):
    from django.utils import timezone

    path = tmp_path / "c.csv"
    path.write_text("externalId,tier\nq1,gold\n")
    job = services.customer_import_create(tenant=tenant, actor=None, local_path=str(path))
    CustomerImport.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, heartbeat_at=timezone.now())
    with pytest.raises(services.ImportBusy):
        services.customer_import_run(job_id=job.pk)
    # the lease lapses: the next attempt takes the job over and finishes it
    CustomerImport.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - services.IMPORT_LEASE * 2)
    assert services.customer_import_run(job_id=job.pk).status == ImportStatus.COMPLETED


def test_count_records_handles_every_layout():
    assert readers.count_records(io.StringIO('a,b\n1,"x\ny"\n\n2,3\n'), "csv") == 2
    assert readers.count_records(io.StringIO('{"a":1}\n\n{"a":2}\n'), "json") == 2
    assert readers.count_records(io.StringIO('  [{"a":1},{"a":[1,2]}]'), "json") == 2
