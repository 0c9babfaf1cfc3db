"""Segment filters compiled to SQL over ``segments_customer``, and the DDL of segment views.

No user text reaches SQL unescaped: column names come from a fixed table, attribute names are
checked against ``ATTRIBUTE_NAME`` (the schema's own rule), numbers are rendered from validated
Python numbers, strings and dates as single-quoted literals with quotes doubled (PostgreSQL runs
with ``standard_conforming_strings`` on, its default, so backslashes are plain characters).

Semantics, the same on both databases (tests/segments/test_sql.py checks them against a Python
reference over random customers):

- an attribute whose stored JSON value does not have the schema type (missing, null, or left
  over from before a type change) is NULL; built-in columns are never NULL;
- ``eq``, ``gt``..., ``in``, ``contains``, ``starts_with`` are false for NULL; ``neq`` and
  ``not_in`` are true for NULL ("everyone who is not gold" includes customers without a tier);
- ``contains`` and ``starts_with`` are case-sensitive substring and prefix tests;
- an empty group (``{"all": []}`` or ``{"any": []}``) matches everyone, as in kaireon.rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from kaireon import rules
from kaireon.rules import FieldSpec

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
VENDORS = (POSTGRESQL, SQLITE)

CUSTOMER_TABLE = "segments_customer"
ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TENANT_ID = re.compile(r"^[a-z]+_[0-9a-z]{1,40}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Built-in columns, by rule field name; the name is the column and its type is in the specs.
BUILTIN_COLUMNS = frozenset(
    {"external_id", "email", "first_name", "last_name", "phone", "suppressed", "unsubscribed", "created_at"}
)


class CompileError(ValueError):
    """The filters cannot be compiled (a name or value no validated filter would contain)."""


def quote_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise CompileError(f"not a safe SQL identifier: {name!r}")
    return f'"{name}"'


def quote_string(value: str) -> str:
    if not isinstance(value, str):
        raise CompileError(f"expected a string literal, got {value!r}")
    if "\x00" in value:
        raise CompileError("string literals must not contain NUL characters")
    return "'" + value.replace("'", "''") + "'"


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CompileError(f"expected a number literal, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CompileError(f"numbers must be finite, got {value!r}")
        return f"({float(value)!r})"
    return f"({int(value)})"


def _date(value: Any) -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise CompileError(f"expected a date as YYYY-MM-DD, got {value!r}")
    return quote_string(value)


class _Compiler:
    def __init__(self, fields: Mapping[str, FieldSpec], vendor: str) -> None:
        if vendor not in VENDORS:
            raise CompileError(f"unsupported database {vendor!r}")
        self.fields = fields
        self.pg = vendor == POSTGRESQL

    # --- operands ------------------------------------------------------------------------

    def operand(self, name: str, type_: str) -> str:
        """The SQL expression of a field, typed: NULL when an attribute's value has another type."""
        if name in BUILTIN_COLUMNS:
            column = f'"{name}"'
            if name == "created_at":
                # Dates compare as YYYY-MM-DD text on both databases, bytewise ("C") whatever the
                # database's collation.
                if self.pg:
                    return f"(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD') COLLATE \"C\")"
                return f"substr({column}, 1, 10)"
            return column
        if not ATTRIBUTE_NAME.match(name):
            raise CompileError(f"not a valid attribute name: {name!r}")
        if self.pg:
            node = f"(\"attributes\" -> '{name}')"
            text = f"(\"attributes\" ->> '{name}')"
            json_type = f"jsonb_typeof{node}"
            typed = {
                "string": (f"{json_type} = 'string'", text),
                "date": (
                    f"{json_type} = 'string' AND {text} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'",
                    f'{text} COLLATE "C"',
                ),
                "integer": (f"{json_type} = 'number'", f"{text}::numeric"),
                "number": (f"{json_type} = 'number'", f"{text}::numeric"),
                "boolean": (f"{json_type} = 'boolean'", f"{text}::boolean"),
            }
        else:
            path = f"'$.{name}'"
            json_type = f'json_type("attributes", {path})'
            value = f'json_extract("attributes", {path})'
            typed = {
                "string": (f"{json_type} = 'text'", value),
                "date": (f"{json_type} = 'text' AND {value} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'", value),
                "integer": (f"{json_type} IN ('integer', 'real')", value),
                "number": (f"{json_type} IN ('integer', 'real')", value),
                "boolean": (f"{json_type} IN ('true', 'false')", value),
            }
        if type_ not in typed:
            raise CompileError(f"attribute {name!r} has a type segments cannot filter on: {type_!r}")
        guard, expression = typed[type_]
        return f"(CASE WHEN {guard} THEN {expression} END)"

    def literal(self, value: Any, type_: str) -> str:
        if type_ in ("integer", "number"):
            return _number(value)
        if type_ == "boolean":
            if not isinstance(value, bool):
                raise CompileError(f"expected true or false, got {value!r}")
            if self.pg:
                return "TRUE" if value else "FALSE"
            return "1" if value else "0"
        if type_ == "date":
            return _date(value)
        if type_ == "string":
            return quote_string(value)
        raise CompileError(f"no literal for type {type_!r}")

    # --- conditions ----------------------------------------------------------------------

    def condition(self, node: Mapping[str, Any]) -> str:
        for key, joiner in (("all", " AND "), ("any", " OR ")):
            if key in node:
                parts = [self.condition(item) for item in node[key]]
                return f"({joiner.join(parts)})" if parts else self.true
        return self.leaf(node)

    @property
    def true(self) -> str:
        return "TRUE" if self.pg else "1"

    def leaf(self, node: Mapping[str, Any]) -> str:
        name = node["field"]
        spec = self.fields.get(name)
        if spec is None:
            raise CompileError(f"unknown field {name!r}")
        operator = node["operator"]
        x = self.operand(name, spec.type)
        if operator == "is_null":
            return f"({x} IS NULL)"
        if operator == "is_not_null":
            return f"({x} IS NOT NULL)"
        value = node["value"]
        if operator in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise CompileError(f"{operator} needs a non-empty list")
            items = ", ".join(self.literal(item, spec.type) for item in value)
            if operator == "in":
                return f"({x} IN ({items}))"
            return f"({x} IS NULL OR {x} NOT IN ({items}))"
        if operator in ("contains", "starts_with"):
            if spec.type != "string":
                raise CompileError(f"{operator} applies to strings only")
            needle = quote_string(value)
            if operator == "contains":
                function = "strpos" if self.pg else "instr"
                return f"({function}({x}, {needle}) > 0)"
            length = len(value)
            prefix = f"left({x}, {length})" if self.pg else f"substr({x}, 1, {length})"
            return f"({prefix} = {needle})"
        symbol = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}.get(operator)
        literal = self.literal(value, spec.type)
        if symbol is not None:
            return f"({x} {symbol} {literal})"
        if operator == "neq":
            return f"({x} IS DISTINCT FROM {literal})" if self.pg else f"({x} IS NOT {literal})"
        raise CompileError(f"unknown operator {operator!r}")


def compile_filters(filters: Mapping[str, Any] | None, fields: Mapping[str, FieldSpec], vendor: str) -> str:
    """A boolean SQL expression over one ``segments_customer`` row for ``filters``.

    The filters are validated again here (``kaireon.rules.validate``): whatever the caller
    passed, only checked names, operators and typed values reach the SQL.
    """
    if rules.is_empty(filters):
        return _Compiler(fields, vendor).true
    try:
        normalised = rules.validate(filters, fields)
    except rules.RuleError as exc:
        raise CompileError(str(exc)) from exc
    return _Compiler(fields, vendor).condition(normalised)


def customer_where(
    *, tenant_id: str, filters: Mapping[str, Any] | None, fields: Mapping[str, FieldSpec], vendor: str
) -> str:
    """The WHERE clause (without the keyword) selecting one tenant's customers that match."""
    if not _TENANT_ID.match(tenant_id):
        raise CompileError(f"not a tenant id: {tenant_id!r}")
    return f'"tenant_id" = {quote_string(tenant_id)} AND {compile_filters(filters, fields, vendor)}'


def view_name_for(segment_id: str) -> str:
    name = f"segv_{segment_id}".lower()
    quote_identifier(name)  # raises for anything but [a-z0-9_]
    return name


def create_view_sql(*, view_name: str, where: str, vendor: str) -> list[str]:
    """Statements that (re)create the view of one segment: ``SELECT id`` of its customers."""
    view = quote_identifier(view_name)
    select = f'SELECT "id" FROM {quote_identifier(CUSTOMER_TABLE)} WHERE {where}'  # noqa: S608  (compiled here)
    if vendor == POSTGRESQL:
        return [f"CREATE OR REPLACE VIEW {view} AS {select}"]
    return [f"DROP VIEW IF EXISTS {view}", f"CREATE VIEW {view} AS {select}"]


def drop_view_sql(*, view_name: str) -> str:
    return f"DROP VIEW IF EXISTS {quote_identifier(view_name)}"
