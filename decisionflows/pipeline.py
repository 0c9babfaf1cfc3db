"""Decision-flow pipelines: validation and normalisation. Pure: no database, no Django.

A pipeline is an ordered list of nodes, each an object with a ``type``:

    inventory        {categories?: [str], offer_ids?: [str], include_all?: bool}
    qualify, filter  {rules: [{id?, name, condition, mode: hard|soft, fit_multiplier (soft only, 0..1)}]}
    contact_policy   {policy_ids?: [str]}                      (empty: every active policy)
    score            {method: prie|priority_weighted|formula, weights?, propensity_model?, formula?}
    rank             {max_offers_per_customer?: 1..50, one_offer_per_channel?: bool}
    output           {fields?: [str]}

Order: one inventory, first; qualify, filter and contact_policy nodes after it and before the
score (they narrow what gets scored, and soft rules feed the score's relevance); one score; one
rank after it; one output, last.

``validate_pipeline`` returns the pipeline normalised, with every default filled, or raises
``PipelineError`` whose path names the node index, its type and the field, e.g.
``pipeline[2].score.weights: weights must sum to 1 (got 0.9)``. Normalising is idempotent, so a
pipeline read back from the API validates to itself.

Keys are snake_case: the API's camelCase parser has converted them before they get here, and the
renderer converts them back (paths in errors are camelised the same way).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from decisionflows.formula import FormulaError, validate_formula
from kaireon import rules
from kaireon.rules import FieldSpec, RuleError

NODE_TYPES = ("inventory", "qualify", "filter", "contact_policy", "score", "rank", "output")
_BEFORE_SCORE = frozenset({"qualify", "filter", "contact_policy"})

SCORE_METHODS = ("prie", "priority_weighted", "formula")
# DESIGN.md §6: PRIE is P^Wp * R^Wr * I^Wi * E^We with these default weights.
DEFAULT_WEIGHTS: dict[str, float] = {"propensity": 0.4, "relevance": 0.2, "impact": 0.3, "emphasis": 0.1}
WEIGHT_TOLERANCE = 1e-6
DEFAULT_BASE_SCORE = 0.5  # DESIGN.md §6: propensity defaults to 0.5

OUTPUT_FIELDS = (
    "customer_id",
    "offer_id",
    "offer_key",
    "offer_name",
    "channel_id",
    "creative_id",
    "rank",
    "score",
    "propensity",
    "relevance",
    "impact",
    "emphasis",
    "personalization",
)

MAX_NODES = 50
MAX_RULES = 200
MAX_LIST = 1_000
MAX_OFFERS_PER_CUSTOMER = 50


class PipelineError(ValueError):
    """A pipeline problem at ``path``; ``problems`` lists every one found (the first is this)."""

    def __init__(self, path: str, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
        self.problems = problems or [(path, message)]


@dataclass(frozen=True)
class Catalogue:
    """What a pipeline may refer to: rule fields (``customer.*``, ``offer.*``) and, when known,
    the tenant's offer and contact-policy ids (``None`` skips the existence check)."""

    fields: Mapping[str, FieldSpec]
    offer_ids: frozenset[str] | None = None
    policy_ids: frozenset[str] | None = None


# --- small checks --------------------------------------------------------------------------


def _only(node: Mapping[str, Any], path: str, what: str, allowed: set[str]) -> None:
    for key in node:
        if key not in allowed:
            known = ", ".join(sorted(allowed)) or "no fields"
            raise PipelineError(f"{path}.{key}", f"unknown field; {what} has {known}")


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise PipelineError(path, f"expected true or false, got {value!r}")
    return value


def _number(value: Any, path: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PipelineError(path, f"expected a number, got {value!r}")
    if not low <= value <= high:
        raise PipelineError(path, f"must be between {low:g} and {high:g} (got {value:g})")
    return value


def _integer(value: Any, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise PipelineError(path, f"expected an integer, got {value!r}")
    if not low <= value <= high:
        raise PipelineError(path, f"must be between {low} and {high} (got {int(value)})")
    return int(value)


def _text(value: Any, path: str, *, max_length: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PipelineError(path, "required: a non-empty string")
    if len(value) > max_length:
        raise PipelineError(path, f"at most {max_length} characters")
    return value.strip()


def _strings(value: Any, path: str) -> list[str]:
    """A list of non-empty strings, duplicates dropped, order kept."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PipelineError(path, "expected a list of strings")
    if len(value) > MAX_LIST:
        raise PipelineError(path, f"at most {MAX_LIST} items")
    out: list[str] = []
    for index, item in enumerate(value):
        text = _text(item, f"{path}[{index}]")
        if text not in out:
            out.append(text)
    return out


def _condition(value: Any, path: str, catalogue: Catalogue) -> dict[str, Any]:
    if value is None:
        raise PipelineError(path, "required: a condition in the rule language")
    try:
        return rules.validate(value, catalogue.fields, path)
    except RuleError as exc:
        raise PipelineError(exc.path, exc.message) from None


def _fmt(value: float) -> str:
    return f"{round(value, 6):g}"


# --- nodes ---------------------------------------------------------------------------------


def _inventory(node: Mapping[str, Any], path: str, catalogue: Catalogue) -> dict[str, Any]:
    _only(node, path, "an inventory node", {"categories", "offer_ids", "include_all"})
    categories = _strings(node.get("categories"), f"{path}.categories")
    offer_ids = _strings(node.get("offer_ids"), f"{path}.offer_ids")
    if catalogue.offer_ids is not None:
        for index, offer_id in enumerate(offer_ids):
            if offer_id not in catalogue.offer_ids:
                raise PipelineError(f"{path}.offer_ids[{index}]", f"no offer with id {offer_id!r} in this tenant")
    raw_all = node.get("include_all")
    include_all = not categories and not offer_ids if raw_all is None else _bool(raw_all, f"{path}.include_all")
    if include_all and (categories or offer_ids):
        raise PipelineError(
            f"{path}.include_all", "includeAll takes every offer: leave out categories and offerIds, or set it to false"
        )
    if not include_all and not categories and not offer_ids:
        raise PipelineError(path, "selects no offers: give categories, offerIds or includeAll")
    return {"categories": categories, "offer_ids": offer_ids, "include_all": include_all}


def _rule(rule: Any, path: str, catalogue: Catalogue, default_id: str) -> dict[str, Any]:
    if not isinstance(rule, Mapping):
        raise PipelineError(path, "a rule is an object with name, condition and mode")
    _only(rule, path, "a rule", {"id", "name", "condition", "mode", "fit_multiplier"})
    rule_id = default_id if rule.get("id") is None else _text(rule["id"], f"{path}.id", max_length=64)
    name = _text(rule.get("name"), f"{path}.name")
    condition = _condition(rule.get("condition"), f"{path}.condition", catalogue)
    mode = rule.get("mode") or "hard"
    if mode not in ("hard", "soft"):
        raise PipelineError(f"{path}.mode", f"unknown mode {mode!r}; use hard or soft")
    out: dict[str, Any] = {"id": rule_id, "name": name, "condition": condition, "mode": mode}
    fit = rule.get("fit_multiplier")
    if mode == "hard":
        if fit is not None:
            raise PipelineError(f"{path}.fit_multiplier", "only soft rules have a fitMultiplier")
    else:
        if fit is None:
            raise PipelineError(f"{path}.fit_multiplier", "required for soft rules: a number from 0 to 1")
        out["fit_multiplier"] = _number(fit, f"{path}.fit_multiplier", 0, 1)
    return out


def _rules_node(kind: str) -> Callable[[Mapping[str, Any], str, Catalogue], dict[str, Any]]:
    def validate(node: Mapping[str, Any], path: str, catalogue: Catalogue) -> dict[str, Any]:
        _only(node, path, f"a {kind} node", {"rules"})
        items = node.get("rules")
        if not isinstance(items, list) or not items:
            raise PipelineError(f"{path}.rules", "required: a non-empty list of rules")
        if len(items) > MAX_RULES:
            raise PipelineError(f"{path}.rules", f"at most {MAX_RULES} rules")
        out: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            rule = _rule(item, f"{path}.rules[{index}]", catalogue, default_id=f"rule-{index + 1}")
            if any(existing["id"] == rule["id"] for existing in out):
                raise PipelineError(f"{path}.rules[{index}].id", f"duplicate rule id {rule['id']!r}")
            out.append(rule)
        return {"rules": out}

    return validate


def _contact_policy(node: Mapping[str, Any], path: str, catalogue: Catalogue) -> dict[str, Any]:
    _only(node, path, "a contact_policy node", {"policy_ids"})
    policy_ids = _strings(node.get("policy_ids"), f"{path}.policy_ids")
    if catalogue.policy_ids is not None:
        for index, policy_id in enumerate(policy_ids):
            if policy_id not in catalogue.policy_ids:
                raise PipelineError(
                    f"{path}.policy_ids[{index}]", f"no contact policy with id {policy_id!r} in this tenant"
                )
    return {"policy_ids": policy_ids}


def _weights(value: Any, path: str) -> dict[str, float]:
    if value is None:
        return dict(DEFAULT_WEIGHTS)
    if not isinstance(value, Mapping):
        raise PipelineError(path, "an object with propensity, relevance, impact and emphasis")
    _only(value, path, "weights", set(DEFAULT_WEIGHTS))
    out: dict[str, float] = {}
    for name in DEFAULT_WEIGHTS:
        if value.get(name) is None:
            raise PipelineError(f"{path}.{name}", "required when weights are given")
        out[name] = _number(value[name], f"{path}.{name}", 0, 1)
    total = sum(out.values())
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise PipelineError(path, f"weights must sum to 1 (got {_fmt(total)})")
    return out


def _scorecard(value: Any, path: str, catalogue: Catalogue) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise PipelineError(path, "a scorecard: an object with baseScore and rules")
    _only(value, path, "a propensity model", {"base_score", "rules"})
    base = value.get("base_score")
    base_score = DEFAULT_BASE_SCORE if base is None else _number(base, f"{path}.base_score", 0, 1)
    items = value.get("rules") or []
    if not isinstance(items, list):
        raise PipelineError(f"{path}.rules", "expected a list of {condition, points}")
    if len(items) > MAX_RULES:
        raise PipelineError(f"{path}.rules", f"at most {MAX_RULES} rules")
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        item_path = f"{path}.rules[{index}]"
        if not isinstance(item, Mapping):
            raise PipelineError(item_path, "a scorecard rule is an object with condition and points")
        _only(item, item_path, "a scorecard rule", {"name", "condition", "points"})
        entry: dict[str, Any] = {}
        if item.get("name") is not None:
            entry["name"] = _text(item["name"], f"{item_path}.name")
        entry["condition"] = _condition(item.get("condition"), f"{item_path}.condition", catalogue)
        if item.get("points") is None:
            raise PipelineError(f"{item_path}.points", "required: a number from -1 to 1")
        entry["points"] = _number(item["points"], f"{item_path}.points", -1, 1)
        out.append(entry)
    return {"base_score": base_score, "rules": out}


def _score(node: Mapping[str, Any], path: str, catalogue: Catalogue) -> dict[str, Any]:
    _only(node, path, "a score node", {"method", "weights", "propensity_model", "formula"})
    method = node.get("method") or "prie"
    if method not in SCORE_METHODS:
        raise PipelineError(f"{path}.method", f"unknown method {method!r}; use one of {', '.join(SCORE_METHODS)}")
    out: dict[str, Any] = {
        "method": method,
        "weights": _weights(node.get("weights"), f"{path}.weights"),
        "propensity_model": _scorecard(node.get("propensity_model"), f"{path}.propensity_model", catalogue),
        "formula": None,
    }
    formula = node.get("formula")
    if method == "formula":
        try:
            out["formula"] = validate_formula(formula)
        except FormulaError as exc:
            raise PipelineError(f"{path}.formula", exc.message) from None
    elif formula is not None:
        raise PipelineError(f"{path}.formula", "a formula is used only with method formula")
    return out


def _rank(node: Mapping[str, Any], path: str, catalogue: Catalogue) -> dict[str, Any]:
    _only(node, path, "a rank node", {"max_offers_per_customer", "one_offer_per_channel"})
    max_offers = node.get("max_offers_per_customer")
    one_per_channel = node.get("one_offer_per_channel")
    return {
        "max_offers_per_customer": 1
        if max_offers is None
        else _integer(max_offers, f"{path}.max_offers_per_customer", 1, MAX_OFFERS_PER_CUSTOMER),
        "one_offer_per_channel": False
        if one_per_channel is None
        else _bool(one_per_channel, f"{path}.one_offer_per_channel"),
    }


_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _output(node: Mapping[str, Any], path: str, catalogue: Catalogue) -> dict[str, Any]:
    _only(node, path, "an output node", {"fields"})
    raw = node.get("fields")
    if raw is None:
        return {"fields": list(OUTPUT_FIELDS)}
    names = _strings(raw, f"{path}.fields")
    if not names:
        raise PipelineError(f"{path}.fields", "list at least one field, or leave fields out for all of them")
    out: list[str] = []
    for index, name in enumerate(names):
        snake = _CAMEL_HUMP.sub(r"_\1", name).lower()  # values keep the caller's case: accept offerId
        if snake not in OUTPUT_FIELDS:
            raise PipelineError(
                f"{path}.fields[{index}]", f"unknown output field {name!r}; use any of {', '.join(OUTPUT_FIELDS)}"
            )
        if snake not in out:
            out.append(snake)
    return {"fields": out}


_VALIDATORS: dict[str, Callable[[Mapping[str, Any], str, Catalogue], dict[str, Any]]] = {
    "inventory": _inventory,
    "qualify": _rules_node("qualify"),
    "filter": _rules_node("filter"),
    "contact_policy": _contact_policy,
    "score": _score,
    "rank": _rank,
    "output": _output,
}


def _check_order(type_: str, index: int, seen: set[str], path: str) -> None:
    if "output" in seen:
        raise PipelineError(path, "nothing may follow the output node: output must be the last node")
    if index == 0 and type_ != "inventory":
        raise PipelineError(path, "the first node must be an inventory node")
    if type_ == "inventory" and index != 0:
        raise PipelineError(path, "only one inventory node is allowed, and it comes first")
    if type_ in _BEFORE_SCORE and "score" in seen:
        raise PipelineError(path, f"{type_} nodes come before the score node")
    if type_ in seen and type_ in ("score", "rank", "output"):
        raise PipelineError(path, f"only one {type_} node is allowed")
    if type_ == "rank" and "score" not in seen:
        raise PipelineError(path, "rank must come after the score node")
    if type_ == "output" and "rank" not in seen:
        raise PipelineError(path, "output must come after the rank node")


def validate_pipeline(pipeline: Any, catalogue: Catalogue) -> list[dict[str, Any]]:
    """Check a pipeline's order and every node's fields; return it normalised with defaults."""
    if not isinstance(pipeline, list):
        raise PipelineError("pipeline", "must be a list of nodes")
    if len(pipeline) > MAX_NODES:
        raise PipelineError("pipeline", f"at most {MAX_NODES} nodes")
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    # every node is checked, so one save shows every node's first problem
    problems: list[tuple[str, str]] = []
    for index, node in enumerate(pipeline):
        base = f"pipeline[{index}]"
        try:
            if not isinstance(node, Mapping):
                raise PipelineError(base, "each node is an object with a type")
            type_ = node.get("type")
            if type_ not in NODE_TYPES:
                raise PipelineError(f"{base}.type", f"unknown node type {type_!r}; use one of {', '.join(NODE_TYPES)}")
            path = f"{base}.{type_}"
            seen_before = set(seen)
            seen.add(type_)
            _check_order(type_, index, seen_before, path)
            body = {key: value for key, value in node.items() if key != "type"}
            out.append({"type": type_, **_VALIDATORS[type_](body, path, catalogue)})
        except PipelineError as exc:
            problems.append((exc.path, exc.message))
    for required in ("inventory", "score", "rank", "output"):
        if required not in seen:
            article = "an" if required[0] in "aeiou" else "a"
            problems.append(("pipeline", f"{article} {required} node is required"))
    if problems:
        raise PipelineError(*problems[0], problems=problems)
    return out


def referenced_ids(pipeline: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The offer ids and contact-policy ids a (normalised) pipeline names."""
    offer_ids: set[str] = set()
    policy_ids: set[str] = set()
    for node in pipeline:
        if node.get("type") == "inventory":
            offer_ids.update(node.get("offer_ids") or [])
        elif node.get("type") == "contact_policy":
            policy_ids.update(node.get("policy_ids") or [])
    return offer_ids, policy_ids
