"""The condition language shared by segment filters, offer eligibility and flow rules.

A condition is a leaf ``{"field": "customer.age", "operator": "gte", "value": 18}`` or a group
``{"all": [...]}`` / ``{"any": [...]}`` of conditions, nested as deep as needed. Which fields
exist and what type each has is the caller's (a customer schema, offer and channel fields);
``validate`` checks a condition against them and returns it normalised, with values coerced to
the field's type, or raises ``RuleError`` naming the path and the problem. ``parse_filter``
reads a condition typed into a form (a segment's filter, a run's ad-hoc audience).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms

from kaireon.forms import parse_json_text
from kaireon.validators import INT64_MAX, INT64_MIN, in_range, range_message

TYPES = ("string", "integer", "number", "boolean", "date", "list")

OPERATORS: dict[str, tuple[str, ...]] = {
    "eq": ("string", "integer", "number", "boolean", "date"),
    "neq": ("string", "integer", "number", "boolean", "date"),
    "gt": ("integer", "number", "date"),
    "gte": ("integer", "number", "date"),
    "lt": ("integer", "number", "date"),
    "lte": ("integer", "number", "date"),
    "in": ("string", "integer", "number", "date"),
    "not_in": ("string", "integer", "number", "date"),
    "contains": ("string", "list"),
    "starts_with": ("string",),
    "is_null": TYPES,
    "is_not_null": TYPES,
}
NO_VALUE = {"is_null", "is_not_null"}
LIST_VALUE = {"in", "not_in"}
MAX_DEPTH = 8
MAX_LIST = 10_000


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: str = ""


class RuleError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _is_whole(value: int | float) -> bool:
    return isinstance(value, int) or (math.isfinite(value) and value.is_integer())


def _coerce(value: Any, type_: str, path: str) -> Any:
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        raise RuleError(path, f"expected true or false, got {value!r}")
    if type_ == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float) or not _is_whole(value):
            raise RuleError(path, f"expected an integer, got {value!r}")
        if not in_range(int(value), INT64_MIN, INT64_MAX):
            # compared with 64-bit columns and numpy arrays, where a larger one overflows
            raise RuleError(path, range_message(INT64_MIN, INT64_MAX, got=int(value)))
        return int(value)
    if type_ == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise RuleError(path, f"expected a finite number, got {value!r}")
        return value
    if type_ == "date":
        if not isinstance(value, str):
            raise RuleError(path, f"expected a date as YYYY-MM-DD, got {value!r}")
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise RuleError(path, f"expected a date as YYYY-MM-DD, got {value!r}") from None
    if not isinstance(value, str):
        raise RuleError(path, f"expected a string, got {value!r}")
    return value


def _validate_leaf(node: Mapping[str, Any], fields: Mapping[str, FieldSpec], path: str) -> dict[str, Any]:
    unknown = set(node) - {"field", "operator", "value"}
    if unknown:
        raise RuleError(path, f"unknown keys {sorted(unknown)}; a condition has field, operator and value")
    name = node.get("field")
    if not isinstance(name, str) or not name:
        raise RuleError(f"{path}.field", "required")
    spec = fields.get(name)
    if spec is None:
        known = ", ".join(sorted(fields)[:30])
        raise RuleError(f"{path}.field", f"unknown field {name!r}; known fields: {known}")
    operator = node.get("operator")
    if operator not in OPERATORS:
        raise RuleError(f"{path}.operator", f"unknown operator {operator!r}; use one of {', '.join(OPERATORS)}")
    if spec.type not in OPERATORS[operator]:
        raise RuleError(f"{path}.operator", f"{operator} does not apply to {spec.type} field {name!r}")
    out: dict[str, Any] = {"field": name, "operator": operator}
    if operator in NO_VALUE:
        return out
    if "value" not in node:
        raise RuleError(f"{path}.value", f"required for {operator}")
    value = node["value"]
    element_type = "string" if spec.type == "list" else spec.type
    if operator in LIST_VALUE:
        if not isinstance(value, list) or not value:
            raise RuleError(f"{path}.value", f"{operator} needs a non-empty list")
        if len(value) > MAX_LIST:
            raise RuleError(f"{path}.value", f"at most {MAX_LIST} values")
        out["value"] = [_coerce(v, element_type, f"{path}.value[{i}]") for i, v in enumerate(value)]
    else:
        out["value"] = _coerce(value, element_type, f"{path}.value")
    return out


def validate(condition: Any, fields: Mapping[str, FieldSpec], path: str = "", depth: int = 0) -> dict[str, Any]:
    """Check ``condition`` against ``fields``; return it normalised or raise ``RuleError``."""
    if depth > MAX_DEPTH:
        raise RuleError(path, f"conditions nest at most {MAX_DEPTH} levels deep")
    if not isinstance(condition, Mapping):
        raise RuleError(path, "a condition is an object with field/operator/value, or all/any")
    groups = [key for key in ("all", "any") if key in condition]
    if groups:
        if len(condition) != 1:
            raise RuleError(path, "a group has exactly one key, all or any")
        key = groups[0]
        items = condition[key]
        if not isinstance(items, list):
            raise RuleError(f"{path}.{key}" if path else key, "must be a list of conditions")
        if key == "any" and not items:
            # an empty "any" would match everyone (see is_empty), never what someone who
            # emptied an OR group meant: ask for a condition, or {} for everyone
            raise RuleError(f"{path}.any" if path else "any", "needs at least one condition (use {} for everyone)")
        return {
            key: [
                validate(item, fields, f"{path}.{key}[{i}]" if path else f"{key}[{i}]", depth + 1)
                for i, item in enumerate(items)
            ]
        }
    return _validate_leaf(condition, fields, path)


def is_empty(condition: Mapping[str, Any] | None) -> bool:
    """True for no condition at all or an empty group: it matches everything."""
    if not condition:
        return True
    return any(key in condition and not condition[key] for key in ("all", "any"))


def fields_used(condition: Mapping[str, Any] | None) -> set[str]:
    if not condition:
        return set()
    if "field" in condition:
        return {condition["field"]}
    used: set[str] = set()
    for key in ("all", "any"):
        for item in condition.get(key, []):
            used |= fields_used(item)
    return used


def parse_filter(raw: str) -> dict[str, Any]:
    """A filter typed into a form: JSON that is an object (``validate`` checks the rest against
    the tenant's fields), or a form error."""
    value = parse_json_text(raw)
    if not isinstance(value, dict):
        raise forms.ValidationError('The filter must be a JSON object, such as {"field": …, "operator": …}.')
    return value
