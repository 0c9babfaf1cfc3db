"""Conditions of the rule language evaluated for a whole batch: customer leaves as polars
expressions in one pass, offer leaves once per offer, groups by numpy broadcasting."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from decisionflows.engine.types import CUSTOMER_PREFIX, OFFER_PREFIX, OfferInfo

# --- conditions ----------------------------------------------------------------------------


def _leaf_key(leaf: Mapping[str, Any]) -> str:
    return json.dumps(leaf, sort_keys=True)


def _leaves(condition: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not condition:
        return []
    if "field" in condition:
        return [condition]
    found: list[Mapping[str, Any]] = []
    for key in ("all", "any"):
        for item in condition.get(key, []):
            found.extend(_leaves(item))
    return found


def _customer_field(name: str) -> str:
    return name[len(CUSTOMER_PREFIX) :] if name.startswith(CUSTOMER_PREFIX) else name


def _literal(value: Any, dtype: pl.DataType) -> Any:
    if dtype == pl.Date and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if dtype == pl.Datetime and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


# Operators that hold for a missing value, as in segments/sql.py ("everyone who is not gold"
# includes customers without a tier).
_TRUE_FOR_NULL = frozenset({"is_null", "neq", "not_in"})


def _customer_expression(leaf: Mapping[str, Any], schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """A leaf over a customer field as a polars expression, null-safe as in segments/sql.py."""
    name = _customer_field(leaf["field"])
    operator = leaf["operator"]
    if name not in schema or schema[name] == pl.Null:
        # The attribute is in the schema but no customer of the batch has it: all null.
        return pl.lit(operator in _TRUE_FOR_NULL)
    column = pl.col(name)
    dtype: pl.DataType = schema[name]
    if isinstance(dtype, pl.Datetime):
        column = column.dt.date()
        dtype = pl.Date()
    value: Any = leaf.get("value")
    if operator == "is_null":
        return column.is_null()
    if operator == "is_not_null":
        return column.is_not_null()
    if operator in ("in", "not_in"):
        values = pl.Series([_literal(v, dtype) for v in value]).cast(dtype)
        found = column.is_in(values.implode())
        return found.fill_null(False) if operator == "in" else (~found).fill_null(True)
    literal = _literal(value, dtype)
    if operator == "neq":
        return (column != literal).fill_null(True)
    expressions = {
        "eq": lambda: column == literal,
        "gt": lambda: column > literal,
        "gte": lambda: column >= literal,
        "lt": lambda: column < literal,
        "lte": lambda: column <= literal,
        "contains": lambda: column.str.contains(str(literal), literal=True),
        "starts_with": lambda: column.str.starts_with(str(literal)),
    }
    return expressions[operator]().fill_null(False)


def _offer_matches(leaf: Mapping[str, Any], offer: OfferInfo) -> bool:
    name = leaf["field"][len(OFFER_PREFIX) :]
    actual = offer.field_value(name)
    operator = leaf["operator"]
    if actual in (None, "", []):
        return operator in _TRUE_FOR_NULL
    if operator == "is_null":
        return False
    if operator == "is_not_null":
        return True
    value: Any = leaf.get("value")
    if operator == "contains":
        return value in actual
    if operator == "starts_with":
        return isinstance(actual, str) and actual.startswith(value)
    if operator == "in":
        return actual in value
    if operator == "not_in":
        return actual not in value
    comparisons = {
        "eq": lambda: actual == value,
        "neq": lambda: actual != value,
        "gt": lambda: actual > value,
        "gte": lambda: actual >= value,
        "lt": lambda: actual < value,
        "lte": lambda: actual <= value,
    }
    return bool(comparisons[operator]())


@dataclass(frozen=True)
class CustomerLeaves:
    """The distinct customer leaves of some conditions, each as a polars expression over frames
    of one schema: what ``Conditions`` evaluates, reusable for every batch of that schema."""

    keys: list[str]
    expressions: list[pl.Expr]


def customer_leaves(conditions: Sequence[Any], schema: Mapping[str, pl.DataType]) -> CustomerLeaves:
    found: dict[str, Mapping[str, Any]] = {}
    for condition in conditions:
        for leaf in _leaves(condition):
            if not leaf["field"].startswith(OFFER_PREFIX):
                found.setdefault(_leaf_key(leaf), leaf)
    keys = list(found)
    return CustomerLeaves(
        keys=keys, expressions=[_customer_expression(found[k], schema).alias(f"c{i}") for i, k in enumerate(keys)]
    )


class Conditions:
    """Evaluates conditions for a batch: customer leaves once each, in a single polars pass.
    ``leaves`` (``customer_leaves`` of the same conditions and the batch's schema) saves
    building the expressions again."""

    def __init__(
        self,
        customers: pl.DataFrame,
        offers: Sequence[OfferInfo],
        conditions: list[Any],
        leaves: CustomerLeaves | None = None,
    ) -> None:
        self.n = customers.height
        self.offers = offers
        if leaves is None:
            leaves = customer_leaves(conditions, customers.schema)
        keys = leaves.keys
        if keys and self.n:
            frame = customers.select(leaves.expressions)
            # a select of literals only (fields no customer has) is one row: broadcast it
            self.values = {
                k: np.broadcast_to(frame.get_column(f"c{i}").to_numpy().astype(bool), (self.n,))
                for i, k in enumerate(keys)
            }
        else:
            self.values = {k: np.zeros(self.n, dtype=bool) for k in keys}
        self._offer_cache: dict[str, np.ndarray] = {}

    def _offer_vector(self, leaf: Mapping[str, Any]) -> np.ndarray:
        key = _leaf_key(leaf)
        if key not in self._offer_cache:
            self._offer_cache[key] = np.array([_offer_matches(leaf, o) for o in self.offers], dtype=bool)
        return self._offer_cache[key]

    def evaluate(self, condition: Mapping[str, Any] | None, offer: int | None = None) -> np.ndarray:
        """Broadcastable to (n, m) — or to (n,) for one offer's own condition."""
        if not condition:
            return np.ones((1, 1) if offer is None else 1, dtype=bool)
        if "field" in condition:
            if condition["field"].startswith(OFFER_PREFIX):
                vector = self._offer_vector(condition)
                return vector[None, :] if offer is None else vector[offer : offer + 1]
            values = self.values[_leaf_key(condition)]
            return values[:, None] if offer is None else values
        if "all" in condition:
            items = condition["all"]
            result = np.ones((1, 1) if offer is None else 1, dtype=bool)
            for item in items:
                result = result & self.evaluate(item, offer)
            return result
        items = condition.get("any", [])
        if not items:
            return np.ones((1, 1) if offer is None else 1, dtype=bool)
        result = np.zeros((1, 1) if offer is None else 1, dtype=bool)
        for item in items:
            result = result | self.evaluate(item, offer)
        return result
