"""Row locks are declared in each app's ``locks.py`` and follow ``kaireon.locks``' policy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kaireon.models import Tenant
from runs import locks
from runs.models import Run, RunChunk

ROOT = Path(__file__).resolve().parent.parent


def _app_modules() -> list[Path]:
    """Every module of the project's packages (the tests aside)."""
    packages = [path.parent for path in ROOT.glob("*/__init__.py") if path.parent.name != "tests"]
    return sorted(module for package in packages for module in package.rglob("*.py"))


def test_select_for_update_is_called_only_in_locks_modules() -> None:
    modules = _app_modules()
    assert any(path.relative_to(ROOT).as_posix() == "runs/services/execution.py" for path in modules)
    outside = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in modules
        if path.name != "locks.py"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Attribute) and node.attr == "select_for_update"
    ]
    assert outside == []


def _lock_sql(*, delete: bool = False) -> str:
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        rows = locks.run_for_delete() if delete else locks.run_for_update()
        list(rows.select_related("tenant").filter(tenant__slug="acme"))
    (query,) = queries.captured_queries
    return query["sql"]


@pytest.mark.django_db
def test_a_run_is_locked_for_no_key_update_of_its_own_row_only(tenant: Tenant) -> None:
    sql = _lock_sql()
    assert f'"{Tenant._meta.db_table}"' in sql  # the join is there, unlocked
    if connection.vendor == "postgresql":
        assert sql.endswith(f'FOR NO KEY UPDATE OF "{Run._meta.db_table}"')
    else:
        assert "FOR " not in sql  # SQLite: one writer at a time, no row locks


@pytest.mark.django_db
def test_a_run_being_deleted_is_locked_for_update_after_its_chunks_in_pk_order(tenant: Tenant) -> None:
    sql = _lock_sql(delete=True)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locks.chunks_of_run_for_delete(run_id="none")
    (chunks,) = queries.captured_queries
    assert "ORDER BY" in chunks["sql"]
    if connection.vendor == "postgresql":
        assert sql.endswith(f'FOR UPDATE OF "{Run._meta.db_table}"')
        assert chunks["sql"].endswith(f'FOR UPDATE OF "{RunChunk._meta.db_table}"')
