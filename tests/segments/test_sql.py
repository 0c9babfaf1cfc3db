"""segments/sql.py against a brute-force Python filter over random customers (seeded).

Runs on whichever database the suite uses: the same tests check the PostgreSQL and the SQLite
compilation, so quoting and casting bugs of either show up as a differing id set.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.db import connection

from kaireon.models import Tenant
from kaireon.rules import FieldSpec
from segments import selectors, sql
from segments.models import Customer, CustomerAttribute

SEED = 20261123
STRINGS = [
    "",
    "a",
    "abc",
    "ABC",
    "gold",
    " gold",
    "silver",
    "O'Brien",
    "o'brien",
    "a'b''c",
    "50%_off",
    "50%",
    "_x",
    "back\\slash",
    '"quoted"',
    "ünïcode",
    "日本語",
    "x'); DROP TABLE segments_customer; --",
    "1 OR 1=1",
]
ATTRIBUTE_TYPES = {"age": "integer", "score": "number", "vip": "boolean", "birthday": "date", "tier": "string"}
STRING_BUILTINS = ["external_id", "email", "first_name", "last_name", "phone"]


# --- the reference -----------------------------------------------------------------------


def typed_value(customer: Customer, name: str, type_: str) -> Any:
    """The value a filter sees: NULL (None) when an attribute's stored value has another type."""
    if name == "created_at":
        return customer.created_at.astimezone(dt.UTC).date().isoformat()
    if name in sql.BUILTIN_COLUMNS:
        return getattr(customer, name)
    value = customer.attributes.get(name)
    if type_ in ("integer", "number"):
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if type_ == "boolean":
        return value if isinstance(value, bool) else None
    if type_ == "date":
        if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
            return value
        return None
    return value if isinstance(value, str) else None


def matches(condition: dict[str, Any], customer: Customer, fields: dict[str, FieldSpec]) -> bool:
    if "all" in condition:
        return all(matches(item, customer, fields) for item in condition["all"])
    if "any" in condition:
        items = condition["any"]
        return not items or any(matches(item, customer, fields) for item in items)
    spec = fields[condition["field"]]
    v = typed_value(customer, spec.name, spec.type)
    op, lit = condition["operator"], condition.get("value")
    if op == "is_null":
        return v is None
    if op == "is_not_null":
        return v is not None
    if op == "neq":
        return v is None or v != lit
    if op == "not_in":
        assert lit is not None
        return v is None or v not in lit
    if v is None:
        return False
    assert lit is not None
    return {
        "eq": lambda: v == lit,
        "gt": lambda: v > lit,
        "gte": lambda: v >= lit,
        "lt": lambda: v < lit,
        "lte": lambda: v <= lit,
        "in": lambda: v in lit,
        "contains": lambda: lit in v,
        "starts_with": lambda: v.startswith(lit),
    }[op]()


# --- random data -------------------------------------------------------------------------


def random_date(rng: random.Random) -> str:
    return (dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(0, 60))).isoformat()


def random_attributes(rng: random.Random) -> dict[str, Any]:
    choices: dict[str, list[Any]] = {
        # each list mixes well-typed values with missing (...), null and values of another type
        "age": [..., None, "12", True, 3.5, *range(-3, 40, 3)],
        "score": [..., None, "0.5", False, 0, 0.1, 0.5, -2.5, 1e-05, 3, 10.25, 99],
        "vip": [..., None, "true", 1, 0, True, False, True, False],
        "birthday": [..., None, "not a date", 20200101, *(random_date(rng) for _ in range(8))],
        "tier": [..., None, 5, True, *STRINGS],
    }
    attributes: dict[str, Any] = {}
    for name, values in choices.items():
        value = rng.choice(values)
        if value is not ...:
            attributes[name] = value
    return attributes


def make_customers(tenant: Tenant, rng: random.Random, count: int) -> list[Customer]:
    customers = [
        Customer(
            tenant=tenant,
            external_id=f"{tenant.slug}-{index}-" + rng.choice(["x", "O'Reilly", "50%"]),
            email=rng.choice(STRINGS),
            first_name=rng.choice(STRINGS),
            last_name=rng.choice(STRINGS),
            phone=rng.choice(["", "+44 20 7946 0000", "555'1234"]),
            suppressed=rng.random() < 0.3,
            unsubscribed=rng.random() < 0.3,
            attributes=random_attributes(rng),
            created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=rng.randrange(0, 60 * 24)),
        )
        for index in range(count)
    ]
    Customer.objects.bulk_create(customers)
    return list(Customer.objects.filter(tenant=tenant))


def random_value(rng: random.Random, type_: str) -> Any:
    if type_ == "integer":
        return rng.randrange(-3, 40)
    if type_ == "number":
        return rng.choice([0, 0.1, 0.5, -2.5, 1e-05, 3, 10.25, 99, rng.randrange(-5, 100)])
    if type_ == "boolean":
        return rng.random() < 0.5
    if type_ == "date":
        return random_date(rng)
    return rng.choice(STRINGS)


def random_leaf(rng: random.Random, fields: dict[str, FieldSpec], operator: str | None = None) -> dict[str, Any]:
    from kaireon.rules import OPERATORS

    if operator is None:
        operator = rng.choice(list(OPERATORS))
    name = rng.choice([name for name, spec in fields.items() if spec.type in OPERATORS[operator]])
    type_ = fields[name].type
    leaf: dict[str, Any] = {"field": name, "operator": operator}
    if operator in ("is_null", "is_not_null"):
        return leaf
    if operator in ("in", "not_in"):
        leaf["value"] = [random_value(rng, type_) for _ in range(rng.randrange(1, 4))]
    elif operator in ("contains", "starts_with"):
        word = rng.choice(STRINGS)
        start = rng.randrange(0, len(word) + 1)
        leaf["value"] = word[start : rng.randrange(start, len(word) + 1)] if rng.random() < 0.6 else word
    else:
        leaf["value"] = random_value(rng, type_)
    return leaf


def random_condition(rng: random.Random, fields: dict[str, FieldSpec], depth: int = 0) -> dict[str, Any]:
    if depth >= 3 or rng.random() < 0.5:
        return random_leaf(rng, fields)
    key = rng.choice(["all", "any"])
    smallest = 1 if key == "any" else 0  # an empty "any" is refused by kaireon.rules.validate
    return {key: [random_condition(rng, fields, depth + 1) for _ in range(rng.randrange(smallest, 4))]}


def matching_ids(tenant: Tenant, filters: dict[str, Any]) -> set[int]:
    where = selectors.customer_where(tenant=tenant, filters=filters)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "id" FROM "segments_customer" WHERE {where}')  # noqa: S608  (the code under test)
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def population(tenant: Tenant, other_tenant: Tenant) -> tuple[list[Customer], dict[str, FieldSpec]]:
    for name, type_ in ATTRIBUTE_TYPES.items():
        CustomerAttribute.objects.create(tenant=tenant, name=name, type=type_)
    rng = random.Random(SEED)
    customers = make_customers(tenant, rng, 160)
    make_customers(other_tenant, rng, 40)  # never selected: the view is per tenant
    return customers, selectors.customer_field_specs(tenant=tenant)


# --- tests -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "operator",
    ["eq", "neq", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "starts_with", "is_null", "is_not_null"],
)
def test_each_operator_selects_what_the_python_reference_selects(operator, tenant, population):
    customers, fields = population
    rng = random.Random(f"{SEED}-{operator}")
    checked = 0
    for _ in range(40):
        leaf = random_leaf(rng, fields, operator)
        expected = {c.id for c in customers if matches(leaf, c, fields)}
        assert matching_ids(tenant, leaf) == expected, leaf
        checked += 1
    assert checked == 40


@pytest.mark.django_db
def test_nested_groups_select_what_the_python_reference_selects(tenant, population):
    customers, fields = population
    rng = random.Random(SEED + 1)
    non_trivial = 0
    for _ in range(150):
        condition = random_condition(rng, fields)
        expected = {c.id for c in customers if matches(condition, c, fields)}
        assert matching_ids(tenant, condition) == expected, condition
        non_trivial += 0 < len(expected) < len(customers)
    assert non_trivial > 30  # the generator is not producing only all-or-nothing filters


@pytest.mark.django_db
def test_every_field_is_exercised_by_the_reference(tenant, population):
    customers, fields = population
    for name, spec in fields.items():
        condition = {"field": name, "operator": "is_not_null"}
        expected = {c.id for c in customers if typed_value(c, name, spec.type) is not None}
        assert matching_ids(tenant, condition) == expected
        if name in ATTRIBUTE_TYPES:
            # mistyped values are NULL, so some customers lack each attribute, some have it
            assert 0 < len(expected) < len(customers)


@pytest.mark.django_db
def test_empty_filters_select_the_whole_tenant(tenant, population):
    customers, _ = population
    everyone = {c.id for c in customers}
    assert matching_ids(tenant, {}) == everyone
    assert matching_ids(tenant, {"all": []}) == everyone
    assert matching_ids(tenant, {"any": []}) == everyone


@pytest.mark.django_db
def test_string_values_with_quotes_and_sql_are_inert(tenant, population):
    customers, fields = population
    hostile = "x'); DROP TABLE segments_customer; --"
    for value in (hostile, "' OR '1'='1", "O'Brien", "50%_off", "back\\slash"):
        for operator in ("eq", "contains", "starts_with"):
            condition = {"field": "tier", "operator": operator, "value": value}
            expected = {c.id for c in customers if matches(condition, c, fields)}
            assert matching_ids(tenant, condition) == expected
    assert matching_ids(tenant, {"field": "tier", "operator": "eq", "value": "' OR '1'='1"}) == set()
    assert Customer.objects.filter(tenant=tenant).count() == len(customers)  # the table is still there


def test_hostile_field_names_are_rejected_before_any_sql():
    fields = {"age": FieldSpec("age", "integer"), "a'b": FieldSpec("a'b", "string")}
    with pytest.raises(sql.CompileError, match="unknown field"):
        sql.compile_filters({"field": "age; DROP TABLE x", "operator": "is_null"}, fields, sql.SQLITE)
    # a name that got into the specs without the schema's check still never reaches the SQL
    with pytest.raises(sql.CompileError, match="not a valid attribute name"):
        sql.compile_filters({"field": "a'b", "operator": "eq", "value": "x"}, fields, sql.POSTGRESQL)


def test_literals_are_rendered_from_checked_values():
    assert sql.quote_string("O'Brien") == "'O''Brien'"
    with pytest.raises(sql.CompileError):
        sql.quote_string("nul\x00byte")
    fields = {"score": FieldSpec("score", "number")}
    with pytest.raises(sql.CompileError):
        sql.compile_filters({"field": "score", "operator": "gt", "value": float("nan")}, fields, sql.POSTGRESQL)
    with pytest.raises(sql.CompileError, match="tenant"):
        sql.customer_where(tenant_id="t_1' OR 1=1", filters={}, fields=fields, vendor=sql.SQLITE)
    with pytest.raises(sql.CompileError):
        sql.view_name_for('seg_x"; DROP VIEW y; --')


@pytest.mark.parametrize("vendor", [sql.POSTGRESQL, sql.SQLITE])
def test_compiled_sql_names_attributes_through_the_json_column(vendor):
    fields = {"age": FieldSpec("age", "integer"), "email": FieldSpec("email", "string")}
    compiled = sql.compile_filters(
        {
            "all": [
                {"field": "age", "operator": "gte", "value": 18},
                {"field": "email", "operator": "contains", "value": "%"},
            ]
        },
        fields,
        vendor,
    )
    if vendor == sql.POSTGRESQL:
        assert "(\"attributes\" ->> 'age')::numeric" in compiled
        assert "strpos(\"email\", '%') > 0" in compiled
    else:
        assert "json_extract(\"attributes\", '$.age')" in compiled
        assert "instr(\"email\", '%') > 0" in compiled
    assert ">= (18)" in compiled
