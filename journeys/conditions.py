"""Branch conditions: checked when a plan is published, evaluated for one run. Pure.

The rule language of kaireon.rules over three namespaces: ``variables.<name>[.<key>…]`` (the
run's variables, nested keys allowed), ``customer.<field>`` (built-in columns, then schema
attributes) and ``outcome.<field>`` (``OUTCOME_FIELDS``: what the run's latest send or decide
step did). Null semantics are the engine's and segments': a missing, null, empty-string or
empty-list value makes ``eq``, ``gt``…, ``in``, ``contains`` and ``starts_with`` false and
``neq``, ``not_in`` and ``is_null`` true. Dates compare as ISO dates; a comparison between unrelated types is false.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from kaireon import rules
from kaireon.rules import FieldSpec

_TRUE_FOR_NULL = frozenset({"is_null", "neq", "not_in"})
_VARIABLE_PATH = re.compile(r"^variables\.[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

# What ``outcome.*`` means in a branch: the result of the run's latest send or decide step.
OUTCOME_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("outcome.status", "string", "sent | blocked | decided | no_offer"),
        FieldSpec("outcome.reason", "string", "Why a send was blocked (contact_policy, offer_unavailable…)"),
        FieldSpec("outcome.step", "string", "The step that produced the outcome"),
        FieldSpec("outcome.offer_id", "string", "Offer id"),
        FieldSpec("outcome.offer_key", "string", "Offer key"),
        FieldSpec("outcome.channel_id", "string", "Channel id"),
        FieldSpec("outcome.creative_id", "string", "Creative id"),
        FieldSpec("outcome.score", "number", "The decided offer's score"),
    )
}


def _inferred_type(leaf: Mapping[str, Any]) -> str:
    """A variable's type for validation, read off the value it is compared with."""
    value = leaf.get("value")
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str) and leaf.get("operator") in ("gt", "gte", "lt", "lte"):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return "string"
        return "date"
    return "string"


def validate_condition(
    condition: Any, customer_fields: Mapping[str, FieldSpec] | None, path: str = ""
) -> dict[str, Any]:
    """A branch condition normalised, or ``rules.RuleError``. Customer fields are typed by the
    schema when given (else by the value, as variables are); outcome fields are fixed."""
    if isinstance(condition, Mapping) and rules.is_empty(condition) and path.endswith(".condition"):
        return dict(condition)  # {} (or an empty group) always holds, as in kaireon.rules
    if isinstance(condition, Mapping) and ("all" in condition or "any" in condition):
        key = "all" if "all" in condition else "any"
        if len(condition) != 1:
            raise rules.RuleError(path, "a group has exactly one key, all or any")
        items = condition[key]
        if not isinstance(items, list):
            raise rules.RuleError(f"{path}.{key}", "must be a list of conditions")
        return {key: [validate_condition(item, customer_fields, f"{path}.{key}[{i}]") for i, item in enumerate(items)]}
    if not isinstance(condition, Mapping):
        raise rules.RuleError(path, "a condition is an object with field/operator/value, or all/any")
    name = condition.get("field")
    if not isinstance(name, str) or not name:
        raise rules.RuleError(f"{path}.field", "required")
    fields: dict[str, FieldSpec]
    if name.startswith("outcome."):
        fields = dict(OUTCOME_FIELDS)
    elif name.startswith("variables."):
        if not _VARIABLE_PATH.match(name):
            raise rules.RuleError(f"{path}.field", f"not a variable path: {name!r} (variables.<name>[.<key>…])")
        fields = {name: FieldSpec(name, _inferred_type(condition))}
    elif name.startswith("customer."):
        short = name.removeprefix("customer.")
        if customer_fields is None:
            fields = {name: FieldSpec(name, _inferred_type(condition))}
        elif short in customer_fields:
            spec = customer_fields[short]
            fields = {name: FieldSpec(name, spec.type, spec.label)}
        else:
            raise rules.RuleError(f"{path}.field", f"unknown customer field {short!r}")
    else:
        raise rules.RuleError(f"{path}.field", f"unknown field {name!r}: use variables.*, customer.* or outcome.*")
    return rules.validate(condition, fields, path)


def resolve(field: str, scope: Mapping[str, Any]) -> Any:
    namespace, _, path = field.partition(".")
    value: Any = scope.get(namespace)
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        found = value.get(part)
        if found is None and namespace == "customer" and isinstance(value.get("attributes"), Mapping):
            found = value["attributes"].get(part)
        value = found
    return value


def _comparable(actual: Any, expected: Any) -> Any:
    if isinstance(actual, dt.datetime):
        actual = actual.date()
    if isinstance(actual, dt.date) and isinstance(expected, str):
        return actual.isoformat()
    return actual


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _leaf(leaf: Mapping[str, Any], scope: Mapping[str, Any]) -> bool:
    operator = leaf["operator"]
    actual = resolve(leaf["field"], scope)
    if actual is None or actual == "" or actual == []:
        return operator in _TRUE_FOR_NULL
    if operator in ("is_null", "is_not_null"):
        return operator == "is_not_null"
    expected = leaf.get("value")
    if operator in ("in", "not_in"):
        values = expected if isinstance(expected, list) else [expected]
        found = _comparable(actual, values[0] if values else None) in values
        return found if operator == "in" else not found
    if operator == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        return isinstance(actual, list | tuple) and expected in actual
    if operator == "starts_with":
        return isinstance(actual, str) and isinstance(expected, str) and actual.startswith(expected)
    actual = _comparable(actual, expected)
    if isinstance(actual, bool) != isinstance(expected, bool):
        return operator == "neq"
    try:
        return bool(_COMPARISONS[operator](actual, expected))
    except TypeError:
        return operator == "neq"


def evaluate(condition: Mapping[str, Any] | None, scope: Mapping[str, Any]) -> bool:
    """Whether ``condition`` (validated by journeys.plans) holds for ``scope``, a mapping of
    ``variables``, ``customer`` and ``outcome``. An empty condition holds."""
    if not condition:
        return True
    if "all" in condition:
        return all(evaluate(item, scope) for item in condition["all"])
    if "any" in condition:
        items = condition["any"]
        return not items or any(evaluate(item, scope) for item in items)
    return _leaf(condition, scope)
