"""Score formulas: arithmetic over p, r, i, e, priority and business_value. Pure.

Checked on the AST, never ``eval``-ed: only numbers, those names, ``+ - * / **``, unary
signs, parentheses and ``min``/``max`` calls pass; attribute access, subscripts, other calls,
strings, comparisons and anything else is refused with a message saying what was found.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

FORMULA_VARIABLES = ("p", "r", "i", "e", "priority", "business_value")
FORMULA_FUNCTIONS = ("min", "max")
MAX_FORMULA_LENGTH = 500


class FormulaError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_BINARY_OPERATORS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY_OPERATORS: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _check_formula(node: ast.AST) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise FormulaError(f"only numbers may appear as constants (got {node.value!r})")
    elif isinstance(node, ast.Name):
        if node.id not in FORMULA_VARIABLES:
            raise FormulaError(f"unknown name {node.id!r}; use {', '.join(FORMULA_VARIABLES)}")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY_OPERATORS:
            raise FormulaError(f"operator {type(node.op).__name__} is not allowed; use + - * / **")
        _check_formula(node.left)
        _check_formula(node.right)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY_OPERATORS:
            raise FormulaError(f"operator {type(node.op).__name__} is not allowed; use + - * / **")
        _check_formula(node.operand)
    elif isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FORMULA_FUNCTIONS:
            shown = name or ast.unparse(node.func)
            raise FormulaError(f"calls other than min and max are not allowed (got {shown})")
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise FormulaError(f"{name}() takes plain arguments only")
        if len(node.args) < 2:
            raise FormulaError(f"{name}() needs at least two arguments")
        for arg in node.args:
            _check_formula(arg)
    elif isinstance(node, ast.Attribute):
        raise FormulaError("attribute access is not allowed")
    else:
        raise FormulaError(f"{type(node).__name__} is not allowed; use numbers, variables, + - * / **, min and max")


def validate_formula(source: Any) -> str:
    """Check an arithmetic expression over p, r, i, e, priority and business_value; return it."""
    if not isinstance(source, str) or not source.strip():
        raise FormulaError("required for method formula: an arithmetic expression, e.g. p * e")
    text = source.strip()
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(f"at most {MAX_FORMULA_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else str(exc) or type(exc).__name__
        raise FormulaError(f"not a valid expression ({reason})") from None
    _check_formula(tree.body)
    return text


def compile_formula(source: str) -> Callable[[Mapping[str, Any]], Any]:
    """A validated formula as a function of its variables (floats or numpy arrays, vectorised).

    Constants become float64, so ``x / 0`` is ``inf`` and large powers overflow to ``inf``
    instead of raising or computing huge integers.
    """
    body = ast.parse(validate_formula(source), mode="eval").body

    def evaluate(node: ast.AST, env: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, int | float)  # _check_formula allowed numbers only
            return np.float64(node.value)
        if isinstance(node, ast.Name):
            return np.asarray(env[node.id], dtype=np.float64)
        if isinstance(node, ast.BinOp):
            return _BINARY_OPERATORS[type(node.op)](evaluate(node.left, env), evaluate(node.right, env))
        if isinstance(node, ast.UnaryOp):
            return _UNARY_OPERATORS[type(node.op)](evaluate(node.operand, env))
        # _check_formula allowed nothing else
        assert isinstance(node, ast.Call)
        assert isinstance(node.func, ast.Name)
        combine = np.minimum if node.func.id == "min" else np.maximum
        return functools.reduce(combine, [evaluate(arg, env) for arg in node.args])

    def run(env: Mapping[str, Any]) -> Any:
        with np.errstate(all="ignore"):
            return evaluate(body, env)

    return run
