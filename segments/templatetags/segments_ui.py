"""Template helpers of the segments and customers pages: a segment's filters in words.

``{{ segment.filters|filter_words:field_specs }}`` renders the rule tree the way a marketer
reads it — ``age ≥ 30 and tier is gold`` — with the field names and values marked up, groups
inside groups in parentheses, long value lists shortened. The text is escaped; only the
markup around it is trusted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from kaireon.rules import FieldSpec

register = template.Library()

# How many values of an ``in`` list are spelled out before "and 12 more".
LIST_SHOWN = 5
# Deeper than the rule language allows (8): a broken tree still renders, and cannot recurse forever.
MAX_DEPTH = 10
EVERYONE = "every customer"

# operator → (words for numbers and dates, words for everything else)
_OPERATOR_WORDS: dict[str, tuple[str, str]] = {
    "eq": ("=", "is"),
    "neq": ("≠", "is not"),
    "gt": (">", "after"),
    "gte": ("≥", "on or after"),
    "lt": ("<", "before"),
    "lte": ("≤", "on or before"),
    "in": ("is one of", "is one of"),
    "not_in": ("is not one of", "is not one of"),
    "contains": ("contains", "contains"),
    "starts_with": ("starts with", "starts with"),
    "is_null": ("is empty", "is empty"),
    "is_not_null": ("is set", "is set"),
}
_NUMERIC = ("integer", "number")


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value == "":
        return '""'
    return str(value)


def _value_html(value: Any) -> SafeString:
    if isinstance(value, list):
        shown = [format_html('<span class="fw-value">{}</span>', _value_text(v)) for v in value[:LIST_SHOWN]]
        text = mark_safe(", ".join(shown))  # noqa: S308  (every part escaped by format_html)
        if len(value) > LIST_SHOWN:
            return format_html("{} and {} more", text, f"{len(value) - LIST_SHOWN:,}")
        return text
    return format_html('<span class="fw-value">{}</span>', _value_text(value))


def _operator_words(operator: str, field_type: str) -> str:
    """Numbers compare with symbols (age ≥ 30), dates in words (created after …), the rest in
    words (tier is gold)."""
    numeric, other = _OPERATOR_WORDS.get(operator, (operator, operator))
    if field_type in _NUMERIC:
        return numeric
    if field_type == "date" or operator not in ("gt", "gte", "lt", "lte"):
        return other
    return numeric


def _leaf(node: Mapping[str, Any], specs: Mapping[str, FieldSpec]) -> SafeString:
    name = str(node.get("field", "?"))
    bare = name.removeprefix("customer.")
    spec = specs.get(bare)
    field_type = spec.type if spec else ""
    field = format_html('<span class="fw-field" title="{}">{}</span>', spec.label if spec else bare, bare)
    operator = str(node.get("operator", "?"))
    words = _operator_words(operator, field_type)
    if operator in ("is_null", "is_not_null") or "value" not in node:
        return format_html("{} {}", field, words)
    return format_html("{} {} {}", field, words, _value_html(node["value"]))


def _is_group(item: Any) -> bool:
    return isinstance(item, Mapping) and len(item) == 1 and ("all" in item or "any" in item)


def _render(condition: Any, specs: Mapping[str, FieldSpec], depth: int) -> SafeString:
    if not isinstance(condition, Mapping) or depth > MAX_DEPTH:
        return format_html('<span class="fw-value">{}</span>', str(condition))
    for key, joiner in (("all", "and"), ("any", "or")):
        if key in condition:
            items = [item for item in condition[key] or [] if item]
            if not items:
                return format_html("{}", EVERYONE)  # an empty group matches everyone (kaireon.rules)
            parts = []
            for item in items:
                text = _render(item, specs, depth + 1)
                nested = _is_group(item) and len([i for i in item[next(iter(item))] or [] if i]) > 1
                parts.append(format_html("({})", text) if nested else text)
            glue = format_html(' <span class="fw-join">{}</span> ', joiner)
            return mark_safe(glue.join(parts))  # noqa: S308  (every part escaped by format_html)
    return _leaf(condition, specs)


def filter_words_html(condition: Any, specs: Mapping[str, FieldSpec] | None = None) -> SafeString:
    """The condition as marked-up words; an empty condition selects every customer."""
    if not condition:
        return format_html("{}", EVERYONE)
    return _render(condition, specs or {}, 0)


@register.filter
def filter_words(condition: Any, specs: Mapping[str, FieldSpec] | None = None) -> SafeString:
    """``{"all": [{"field": "age", "operator": "gte", "value": 30}, ...]}`` → "age ≥ 30 and …"."""
    return filter_words_html(condition, specs)


@register.filter
def attribute_value(attributes: Any, name: str) -> Any:
    """One attribute of a customer's JSON attributes (``None`` when it has none)."""
    if isinstance(attributes, Mapping):
        return attributes.get(name)
    return None


@register.filter
def display_value(value: Any) -> str:
    """An attribute value for a table cell: booleans as Yes/No, missing as "—"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@register.filter
def full_name(customer: Any) -> str:
    """First and last name, whichever the customer has ("" when neither)."""
    parts = (getattr(customer, "first_name", ""), getattr(customer, "last_name", ""))
    return " ".join(p for p in parts if p)
