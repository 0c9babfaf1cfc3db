"""One record checked against the schema: a ``CustomerRow`` to write, or the reasons it cannot be."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from segments.attributes import AttributeValueError, coerce_json, coerce_text, parse_bool_text
from segments.importing.readers import Record

# Built-in fields: the import's name → (the API's name, max length or None for flags).
BUILTINS: dict[str, tuple[str, int | None]] = {
    "external_id": ("externalId", 128),
    "email": ("email", 254),
    "first_name": ("firstName", 100),
    "last_name": ("lastName", 100),
    "phone": ("phone", 40),
    "suppressed": ("suppressed", None),
    "unsubscribed": ("unsubscribed", None),
}
# Column spellings people use, compared without case, "_", "-" or spaces.
_ALIASES = {name.replace("_", ""): name for name in BUILTINS}
# Read-only fields of an API export: ignored, so an export can be imported back.
IGNORED = frozenset({"id", "createdat", "updatedat"})
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
# A plausible address: one @, no spaces, a dot in the domain. Django's validate_email costs
# ~40 µs a call, half the time of a whole row; this is ~1 µs.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")

Schema = Mapping[str, tuple[str, bool]]  # attribute name → (type, required)


class RowError(NamedTuple):
    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


@dataclass(slots=True)
class CustomerRow:
    """What one row writes: the built-in fields it gives and its attributes (``None``: remove)."""

    line: int
    external_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)

    def merge(self, later: CustomerRow) -> None:
        """Apply a later row of the same customer on top of this one (the file's order wins)."""
        self.line = later.line
        self.fields.update(later.fields)
        self.attributes.update(later.attributes)


def _squash(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def column_key(name: str, schema: Schema) -> str | None:
    """The field a column or key stands for: a built-in, an attribute, ``""`` to ignore, or None."""
    squashed = _squash(name)
    if squashed in _ALIASES:
        return _ALIASES[squashed]
    if squashed in IGNORED:
        return ""
    if name in schema:
        return name
    snake = _CAMEL.sub(r"_\1", name).lower()
    if snake in schema:
        return snake
    return None


def check_header(header: list[str], schema: Schema) -> tuple[list[str | None], list[RowError]]:
    """The field of each CSV column, and the header's problems (any makes the file unreadable)."""
    keys = [column_key(name, schema) for name in header]
    problems: list[RowError] = []
    seen: set[str] = set()
    for name, key in zip(header, keys, strict=True):
        if key is None:
            problems.append(RowError(1, name, "unknown column: not a customer field nor an attribute of the schema"))
        elif key and key in seen:
            problems.append(RowError(1, name, "this column appears twice"))
        elif key:
            seen.add(key)
    if "external_id" not in seen:
        problems.append(RowError(1, "externalId", "the header needs an externalId column"))
    for name, (_, required) in schema.items():
        if required and name not in seen:
            problems.append(RowError(1, f"attributes.{name}", "required by the customer schema: add the column"))
    return keys, problems


def _builtin(key: str, value: Any, text: bool) -> Any:
    _, max_length = BUILTINS[key]
    if max_length is None:  # a flag
        if value is None or (text and value.strip() == ""):
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return parse_bool_text(value)
        raise AttributeValueError(f"expected true or false, got {value!r}")
    if value is None:
        value = ""
    if key == "external_id" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise AttributeValueError(f"expected a string, got {value!r}")
    value = value.strip()
    if "\x00" in value:
        raise AttributeValueError("must not contain NUL characters")
    if len(value) > max_length:
        raise AttributeValueError(f"at most {max_length} characters")
    if key == "external_id":
        if not value:
            raise AttributeValueError("required")
        if "/" in value:
            raise AttributeValueError("must not contain '/' (the API addresses customers by it)")
    if key == "email" and value and not _EMAIL.match(value):
        raise AttributeValueError(f"not a valid email address: {value!r}")
    return value


def to_row(record: Record, schema: Schema) -> tuple[CustomerRow | None, list[RowError]]:
    """Check one JSON record (CSV rows go through ``CsvPlan``)."""
    line = record.line
    if record.values is None:
        return None, [RowError(line, "", record.error)]
    given: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    errors: list[RowError] = []
    for name, value in record.values.items():
        if name == "attributes":
            if not isinstance(value, dict):
                errors.append(RowError(line, "attributes", "expected an object"))
                continue
            attributes.update(value)
            continue
        key = column_key(name, schema)
        if key is None:
            errors.append(RowError(line, f"attributes.{name}", "unknown attribute: it is not in the customer schema"))
        elif key in BUILTINS:
            given[key] = value
        elif key:
            attributes.setdefault(key, value)
    fields: dict[str, Any] = {}
    for key, value in given.items():
        try:
            fields[key] = _builtin(key, value, False)
        except AttributeValueError as exc:
            errors.append(RowError(line, BUILTINS[key][0], str(exc)))
    if "external_id" not in given:
        errors.append(RowError(line, "externalId", "required"))
    coerced: dict[str, Any] = {}
    for name, value in attributes.items():
        entry = schema.get(name)
        if entry is None:
            errors.append(RowError(line, f"attributes.{name}", "unknown attribute: it is not in the customer schema"))
            continue
        type_, required = entry
        if value is None:
            if required:
                errors.append(RowError(line, f"attributes.{name}", "required by the customer schema"))
            coerced[name] = None
            continue
        try:
            coerced[name] = coerce_json(value, type_)
        except AttributeValueError as exc:
            errors.append(RowError(line, f"attributes.{name}", str(exc)))
    for name, (_, required) in schema.items():
        if required and name not in attributes:
            errors.append(RowError(line, f"attributes.{name}", "required by the customer schema"))
    if errors:
        return None, errors
    external_id = fields.pop("external_id")
    return CustomerRow(line, external_id, fields, coerced), []


class CsvPlan:
    """What to do with each column of one CSV file, worked out once from its header.

    The per-row loop is the import's hot path (a million rows): it walks the columns with
    their converters instead of looking names up again for every cell.
    """

    def __init__(self, keys: list[str | None], schema: Schema) -> None:
        self.builtins: list[tuple[int, str]] = []
        self.attributes: list[tuple[int, str, str, bool]] = []
        for index, key in enumerate(keys):
            if key in BUILTINS:
                self.builtins.append((index, key))
            elif key:
                type_, required = schema[key]
                self.attributes.append((index, key, type_, required))

    def to_row(self, record: Record) -> tuple[CustomerRow | None, list[RowError]]:
        line, cells = record.line, record.cells
        if cells is None:
            return None, [RowError(line, "", record.error)]
        errors: list[RowError] = []
        fields: dict[str, Any] = {}
        for index, key in self.builtins:
            try:
                fields[key] = _builtin(key, cells[index], True)
            except AttributeValueError as exc:
                errors.append(RowError(line, BUILTINS[key][0], str(exc)))
        attributes: dict[str, Any] = {}
        for index, name, type_, required in self.attributes:
            cell = cells[index]
            if cell == "":
                if required:
                    errors.append(RowError(line, f"attributes.{name}", "required by the customer schema"))
                attributes[name] = None
                continue
            try:
                attributes[name] = coerce_text(cell, type_)
            except AttributeValueError as exc:
                errors.append(RowError(line, f"attributes.{name}", str(exc)))
        if errors:
            return None, errors
        external_id = fields.pop("external_id")
        return CustomerRow(line, external_id, fields, attributes), []
