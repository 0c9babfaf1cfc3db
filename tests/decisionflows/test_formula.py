"""Score formulas are checked on their AST: nothing but arithmetic gets through."""

from __future__ import annotations

import numpy as np
import pytest

from decisionflows.formula import FormulaError, compile_formula, validate_formula


@pytest.mark.parametrize(
    "formula",
    [
        "p",
        "p * r * i * e",
        "0.5 * p + 0.5 * (priority / 100)",
        "p ** 0.4 * r ** 0.6",
        "-p + +e",
        "min(p, r, 1) - max(i, e)",
        "business_value / 1000",
    ],
)
def test_valid_formulas(formula):
    assert validate_formula(formula) == formula


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("__import__('os')", "calls other than min and max are not allowed (got __import__)"),
        ("__import__('os').system('id')", "calls other than min and max are not allowed (got __import__('os').system)"),
        ("p.__class__", "attribute access is not allowed"),
        ("(1).real", "attribute access is not allowed"),
        ("abs(p)", "calls other than min and max are not allowed (got abs)"),
        ("p.conjugate()", "calls other than min and max are not allowed (got p.conjugate)"),
        ("(lambda: 1)()", "calls other than min and max are not allowed"),
        ("min(p)", "min() needs at least two arguments"),
        ("max(*[p, r])", "max() takes plain arguments only"),
        ("min(p, key=r)", "min() takes plain arguments only"),
        ("x + 1", "unknown name 'x'"),
        ("'a' * 3", "only numbers may appear as constants"),
        ("True + p", "only numbers may appear as constants"),
        ("p % 2", "operator Mod is not allowed"),
        ("p // 2", "operator FloorDiv is not allowed"),
        ("not p", "operator Not is not allowed"),
        ("p if r else e", "IfExp is not allowed"),
        ("p < r", "Compare is not allowed"),
        ("[p][0]", "Subscript is not allowed"),
        ("p +", "not a valid expression"),
        ("p; import os", "not a valid expression"),
        ("", "required for method formula"),
        ("p + " * 200 + "p", "at most 500 characters"),
    ],
)
def test_unsafe_or_invalid_formulas_are_rejected(formula, message):
    with pytest.raises(FormulaError) as info:
        validate_formula(formula)
    assert message in info.value.message


def test_compiled_formula_evaluates_scalars_and_vectors():
    run = compile_formula("0.5 * p + min(r, i) - e / 10 + priority / 100 + business_value ** 0")
    env = {"p": 0.8, "r": 0.3, "i": 0.6, "e": 1.0, "priority": 50, "business_value": 7}
    assert float(run(env)) == pytest.approx(0.4 + 0.3 - 0.1 + 0.5 + 1)
    vectors = {name: np.array([value, value]) for name, value in env.items()}
    vectors["p"] = np.array([0.0, 1.0])
    assert run(vectors).tolist() == pytest.approx([1.7, 2.2])


def test_compiled_formula_turns_overflow_and_division_by_zero_into_inf():
    assert np.isinf(compile_formula("p / 0")({"p": 1.0}))
    assert np.isinf(compile_formula("10 ** 10 ** 10")({}))
