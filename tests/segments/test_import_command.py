from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from segments.models import Customer, CustomerImport, ImportRunner, ImportStatus

pytestmark = pytest.mark.django_db


def test_command_imports_prints_progress_and_a_summary_with_errors(tenant, schema, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("externalId,tier,age\np1,gold,1\np2,gold,two\np3,silver,3\n")
    out = StringIO()
    call_command("import_customers", str(path), "--tenant", "acme", stdout=out)
    text = out.getvalue()
    job = CustomerImport.objects.get(tenant=tenant)
    assert f"Import {job.pk}: people.csv (csv) into acme" in text
    assert "3/3 rows (" in text  # a progress line
    assert "completed_with_errors: 3 rows in" in text
    assert "created 2, updated 0, rejected 1" in text
    assert "line 3 attributes.age: expected an integer, got 'two'" in text
    assert job.runner == ImportRunner.COMMAND
    assert Customer.objects.filter(tenant=tenant).count() == 2

    out = StringIO()
    call_command("import_customers", str(path), "--tenant", "acme", stdout=out)
    assert "created 0, updated 2, rejected 1" in out.getvalue()


def test_command_reads_json_with_an_explicit_format(tenant, schema, tmp_path):
    path = tmp_path / "people.data"
    path.write_text('[{"externalId": "p1", "tier": "gold"}]')
    out = StringIO()
    call_command("import_customers", str(path), "--tenant", "acme", "--format", "json", stdout=out)
    assert "completed: 1 rows" in out.getvalue()


def test_command_fails_loudly(tenant, schema, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_customers", str(tmp_path / "missing.csv"), "--tenant", "acme")
    path = tmp_path / "people.csv"
    path.write_text("externalId,tier,shoe_size\np1,gold,9\n")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("import_customers", str(path), "--tenant", "nope")
    out = StringIO()
    with pytest.raises(CommandError, match="could not be read"):
        call_command("import_customers", str(path), "--tenant", "acme", stdout=out)
    assert "line 1 shoe_size: unknown column" in out.getvalue()
    assert CustomerImport.objects.get(tenant=tenant).status == ImportStatus.FAILED
