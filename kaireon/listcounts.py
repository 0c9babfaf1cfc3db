"""Exact list totals without COUNT(*): counters that PostgreSQL keeps in the writers' transactions.

A counted table (``CountedList`` on its model) gets statement-level AFTER triggers with transition
tables (``CountRows``, in the app's migration). Each INSERT, UPDATE, DELETE or COPY appends to
``kaireon_listcount`` one signed delta row per (tenant, scope, status) it changed, in its own
transaction: the sum of the deltas visible to a snapshot is the number of rows that snapshot sees,
so a total is exact under concurrency and rollback, and bulk writes, raw SQL and the ORM are all
counted. Writers only append, never update a shared row: two transactions adding runs to one
tenant never wait for each other. Every 16th delta row (by its id) folds the deltas of the keys
its statement touched into one row each, under a try-advisory lock (a writer already folding
the same table is skipped, not waited for), so a key has a handful of rows to add up.

A scope is one more column a list filters by (``plan_id=plan_…``); the tenant-wide scope is ``""``.
``counted_total`` answers a list's queryset from the counters when it filters on nothing but the
tenant, the counted status (one value or several) and at most one scope column; any other filter
(a date range, a name search) is counted by the database as before. SQLite keeps plain COUNT.

Rows must not move between tenants: a table counted without a status or scope column has no
UPDATE trigger (the customers' re-import updates a million rows and would pay for capturing them),
and a row trigger refuses an UPDATE that changes ``tenant_id`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from django.db.models import Model, QuerySet, Sum
from django.db.models.expressions import Col
from django.db.models.lookups import Exact, In
from django.db.models.sql.where import AND, OR, WhereNode

TENANT_COLUMN = "tenant_id"


@dataclass(frozen=True)
class CountedList:
    """What a table's counters count: rows per tenant, per ``status`` (a column, or none) and
    per value of each ``scopes`` column (besides the whole tenant). Its migration's ``CountRows``
    installs the triggers with the same columns."""

    status: str = ""
    scopes: tuple[str, ...] = ()


class PostgreSQLOnly(Operation):
    """Raw SQL run on PostgreSQL only (the counters' functions); nothing on SQLite."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, sql: str, reverse_sql: str) -> None:
        self.sql = sql
        self.reverse_sql = reverse_sql

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.__class__.__name__, [self.sql, self.reverse_sql], {}

    def forwards_sql(self) -> list[str]:
        return [self.sql]

    def backwards_sql(self) -> list[str]:
        return [self.reverse_sql]

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        pass

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in self.forwards_sql():
                schema_editor.execute(statement, params=None)

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in self.backwards_sql():
                schema_editor.execute(statement, params=None)

    def describe(self) -> str:
        return "Raw SQL (PostgreSQL)"


class CountRows(PostgreSQLOnly):
    """Install the counters of ``table`` (PostgreSQL only) and count the rows it has."""

    def __init__(self, table: str, status: str = "", scopes: Sequence[str] = ()) -> None:
        self.table = table
        self.status = status
        self.scopes = tuple(scopes)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.__class__.__name__, [self.table], {"status": self.status, "scopes": list(self.scopes)}

    def forwards_sql(self) -> list[str]:
        return install_sql(self.table, CountedList(self.status, self.scopes))

    def backwards_sql(self) -> list[str]:
        return uninstall_sql(self.table)

    def describe(self) -> str:
        return f"Count the rows of {self.table} per tenant (PostgreSQL)"


def _arguments(counted: CountedList) -> str:
    return ", ".join(f"'{name}'" for name in (counted.status, *counted.scopes))


def install_sql(table: str, counted: CountedList) -> list[str]:
    """The triggers of one counted table, then its rows counted (CREATE TRIGGER locks out
    writers until the migration commits, so none is missed or counted twice)."""
    arguments = _arguments(counted)
    statements = [
        f"CREATE TRIGGER kaireon_count_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION kaireon_list_count({arguments})",
        f"CREATE TRIGGER kaireon_count_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION kaireon_list_count({arguments})",
        f"CREATE TRIGGER kaireon_count_truncate AFTER TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION kaireon_list_count_truncated()",
    ]
    if counted.status or counted.scopes:
        statements.append(
            f"CREATE TRIGGER kaireon_count_update AFTER UPDATE ON {table} "
            f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION kaireon_list_count({arguments})"
        )
    else:
        statements.append(
            f"CREATE TRIGGER kaireon_count_tenant BEFORE UPDATE OF {TENANT_COLUMN} ON {table} FOR EACH ROW "
            f"WHEN (OLD.{TENANT_COLUMN} IS DISTINCT FROM NEW.{TENANT_COLUMN}) "
            f"EXECUTE FUNCTION kaireon_list_count_tenant_fixed()"
        )
    statements.append(f"SELECT kaireon_list_count_rebuild('{table}', ARRAY[{arguments}])")
    return statements


def uninstall_sql(table: str) -> list[str]:
    names = ("insert", "delete", "truncate", "update", "tenant")
    return [f"DROP TRIGGER IF EXISTS kaireon_count_{name} ON {table}" for name in names] + [
        f"DELETE FROM kaireon_listcount WHERE table_name = '{table}'"  # noqa: S608  (a table name of a migration)
    ]


def counted_models() -> list[type[Model]]:
    """The models whose tables are counted."""
    from django.apps import apps

    return [model for model in apps.get_models() if isinstance(getattr(model, "list_counts", None), CountedList)]


def list_counts_rebuild(models: Iterable[type[Model]] | None = None) -> None:
    """Count the rows of each counted table again from scratch (after triggers were disabled, a
    restore with ``--disable-triggers``): each table is locked against writers meanwhile."""
    if connection.vendor != "postgresql":
        return
    for model in counted_models() if models is None else models:
        counted: CountedList = model.list_counts  # type: ignore[attr-defined]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT kaireon_list_count_rebuild(%s, %s)", [model._meta.db_table, [counted.status, *counted.scopes]]
            )


@dataclass(frozen=True)
class Mismatch:
    table: str
    tenant_id: str
    scope: str
    status: str
    counted: int
    actual: int


def list_counts_check(models: Iterable[type[Model]] | None = None) -> list[Mismatch]:
    """Every (tenant, scope, status) whose counters and rows disagree, each table read in one
    snapshot (``manage.py rebuild_list_counts --check``); empty when all is well."""
    if connection.vendor != "postgresql":
        return []
    found: list[Mismatch] = []
    for model in counted_models() if models is None else models:
        counted: CountedList = model.list_counts  # type: ignore[attr-defined]
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT kaireon_list_count_deltas(%s, %s, 1)", [[counted.status, *counted.scopes], table])
            (deltas,) = cursor.fetchone()
            cursor.execute(
                f"WITH actual AS (SELECT tenant_id, scope, status, sum(n) AS n FROM ({deltas}) d "  # noqa: S608  (SQL of our function over a model's table)
                "GROUP BY tenant_id, scope, status), "
                "counted AS (SELECT tenant_id, scope, status, sum(n) AS n FROM kaireon_listcount "
                "WHERE table_name = %s GROUP BY tenant_id, scope, status) "
                "SELECT tenant_id, scope, status, coalesce(c.n, 0), coalesce(a.n, 0) "
                "FROM actual a FULL JOIN counted c USING (tenant_id, scope, status) "
                "WHERE coalesce(a.n, 0) <> coalesce(c.n, 0) ORDER BY tenant_id, scope, status",
                [table],
            )
            found += [Mismatch(table, *row) for row in cursor.fetchall()]
    return found


# --- reading ------------------------------------------------------------------------------------


def exact_total(queryset: QuerySet[Any]) -> int:
    """How many rows ``queryset`` holds: from the counters when they can say, else COUNT(*)."""
    total = counted_total(queryset)
    return queryset.count() if total is None else total


def counted_total(queryset: QuerySet[Any]) -> int | None:
    """How many rows ``queryset`` holds, read from the counters; None when they cannot say (not
    PostgreSQL, a table not counted, or a filter on anything but the tenant, the counted status
    and one scope column)."""
    counted = getattr(queryset.model, "list_counts", None)
    if not isinstance(counted, CountedList) or connections[queryset.db].vendor != "postgresql":
        return None
    query = queryset.query
    if query.is_sliced or query.distinct or query.combinator or query.group_by is not None:
        return None
    equals = _equalities(query.where, query.base_table)
    if equals is None:
        return None
    tenants = equals.pop(TENANT_COLUMN, set())
    statuses = equals.pop(counted.status, None) if counted.status else None
    scopes = [(column, values) for column, values in equals.items()]
    if len(tenants) != 1 or len(scopes) > 1 or any(column not in counted.scopes for column, _ in scopes):
        return None
    scope = ""
    if scopes:
        column, values = scopes[0]
        if len(values) != 1:
            return None
        scope = f"{column}={next(iter(values))}"
    from kaireon.models import ListCount

    rows = ListCount.objects.using(queryset.db).filter(
        tenant_id=next(iter(tenants)), table_name=queryset.model._meta.db_table, scope=scope
    )
    if statuses is not None:
        rows = rows.filter(status__in=sorted(statuses))
    return int(rows.aggregate(total=Sum("n"))["total"] or 0)


def _equalities(node: WhereNode, alias: str | None) -> dict[str, set[str]] | None:
    """The WHERE clause as {column: the values it may take}, when it is nothing but a conjunction
    of ``column = value``, ``column IN (…)`` and ORs of those on one column (django-filter's
    multiple choices), all on the listed table's own columns; else None."""
    if node.negated:
        return None
    if node.connector == OR:
        alternatives = _alternatives(node, alias)
        return None if alternatives is None else {alternatives[0]: alternatives[1]}
    if node.connector != AND:
        return None
    equals: dict[str, set[str]] = {}
    for child in node.children:
        found = _condition(child, alias)
        if found is None:
            return None
        for column, values in found.items():
            equals[column] = equals[column] & values if column in equals else values
    return equals


def _alternatives(node: WhereNode, alias: str | None) -> tuple[str, set[str]] | None:
    column: str | None = None
    values: set[str] = set()
    for child in node.children:
        found = _condition(child, alias)
        if found is None or len(found) != 1:
            return None
        ((name, some),) = found.items()
        if column is not None and name != column:
            return None
        column = name
        values |= some
    return None if column is None else (column, values)


def _condition(child: Any, alias: str | None) -> dict[str, set[str]] | None:
    return _equalities(child, alias) if isinstance(child, WhereNode) else _lookup_values(child, alias)


def _lookup_values(lookup: Any, alias: str | None) -> dict[str, set[str]] | None:
    if not isinstance(lookup, Exact | In):
        return None
    lhs = lookup.lhs
    if not isinstance(lhs, Col) or lhs.alias != alias or not lhs.target.column:
        return None
    raw = lookup.rhs if isinstance(lookup, In) else [lookup.rhs]
    if not isinstance(raw, list | tuple | set | frozenset):
        return None
    values: set[str] = set()
    for value in raw:
        if isinstance(value, Model):
            value = value.pk
        if not isinstance(value, str | int) or isinstance(value, bool):
            return None
        values.add(str(value))
    return {lhs.target.column: values}
