"""Segment filters in words (segments.templatetags.segments_ui.filter_words)."""

from __future__ import annotations

import html as html_lib

import pytest
from django.utils.html import strip_tags

from kaireon.rules import FieldSpec
from segments.selectors import BUILTIN_CUSTOMER_FIELDS
from segments.templatetags.segments_ui import display_value, filter_words, full_name

SPECS = {
    **BUILTIN_CUSTOMER_FIELDS,
    "age": FieldSpec("age", "integer", "Age"),
    "balance": FieldSpec("balance", "number", ""),
    "tier": FieldSpec("tier", "string", ""),
    "country": FieldSpec("country", "string", ""),
    "vip": FieldSpec("vip", "boolean", ""),
    "joined": FieldSpec("joined", "date", ""),
}


def words(condition) -> str:
    return " ".join(html_lib.unescape(strip_tags(str(filter_words(condition, SPECS)))).split())


def leaf(field, operator, value=None):
    node = {"field": field, "operator": operator}
    if value is not None:
        node["value"] = value
    return node


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({}, "every customer"),
        (None, "every customer"),
        ({"all": []}, "every customer"),
        (
            {"all": [leaf("age", "gte", 30), leaf("country", "eq", "GB")]},
            "age ≥ 30 and country is GB",
        ),
        (leaf("customer.age", "lt", 18), "age < 18"),
        (leaf("balance", "neq", 0.0), "balance ≠ 0"),
        (leaf("tier", "neq", "bronze"), "tier is not bronze"),
        (leaf("vip", "eq", True), "vip is true"),
        (leaf("joined", "gte", "2024-01-01"), "joined on or after 2024-01-01"),
        (leaf("created_at", "lt", "2025-06-30"), "created_at before 2025-06-30"),
        (leaf("email", "starts_with", "ana"), "email starts with ana"),
        (leaf("email", "contains", "@bank"), "email contains @bank"),
        (leaf("phone", "is_null"), "phone is empty"),
        (leaf("phone", "is_not_null"), "phone is set"),
        (leaf("tier", "eq", ""), 'tier is ""'),
        (leaf("tier", "in", ["gold", "silver"]), "tier is one of gold, silver"),
        (
            leaf("country", "not_in", ["GB", "FR", "DE", "ES", "IT", "PT", "NL", "BE"]),
            "country is not one of GB, FR, DE, ES, IT and 3 more",
        ),
        (
            {"any": [leaf("tier", "eq", "gold"), {"all": [leaf("age", "gte", 65), leaf("vip", "eq", False)]}]},
            "tier is gold or (age ≥ 65 and vip is false)",
        ),
        (
            {"all": [{"any": [leaf("tier", "eq", "gold")]}, leaf("age", "gt", 21)]},
            "tier is gold and age > 21",  # a group of one needs no parentheses
        ),
    ],
)
def test_filters_read_as_words(condition, expected):
    assert words(condition) == expected


def test_values_and_fields_are_escaped_and_marked_up():
    html = str(filter_words(leaf("tier", "eq", "<script>alert(1)</script>"), SPECS))
    assert "<script>" not in html
    assert '<span class="fw-value">&lt;script&gt;alert(1)&lt;/script&gt;</span>' in html
    assert '<span class="fw-field" title="Age">age</span>' in str(filter_words(leaf("age", "eq", 3), SPECS))


def test_unknown_fields_and_broken_trees_still_render():
    assert words(leaf("shoe_size", "gte", 42)) == "shoe_size ≥ 42"
    assert words(leaf("age", "between", [1, 2])) == "age between 1, 2"
    assert words({"all": ["nonsense"]}) == "nonsense"
    deep: dict = leaf("age", "eq", 1)
    for _ in range(30):
        deep = {"all": [deep, leaf("tier", "eq", "x")]}
    assert words(deep).startswith("(")  # deep trees stop recursing, but render


def test_display_helpers():
    assert display_value(None) == "—"
    assert display_value(True) == "Yes"
    assert display_value(["a", 1]) == '["a", 1]'
    assert display_value(3.5) == "3.5"

    class Person:
        first_name, last_name = "Ana", ""

    assert full_name(Person()) == "Ana"
