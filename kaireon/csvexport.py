"""CSV that a person may open in a spreadsheet, without formula injection.

A customer named ``=cmd|' /C calc'!A0`` would otherwise run as a formula in Excel or
LibreOffice. As OWASP recommends, a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return gets a leading single quote, which spreadsheets read as "this is text".

Only text cells are escaped: numbers (a negative score, ``-5``) stay numbers, since a number
cannot carry a formula. A text cell such as an external id ``-5`` does get the quote; that is
the price of never guessing which text is harmless.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def escape_formula(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as text: a quote before a formula-like string."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class CsvWriter:
    """``csv.writer`` whose rows are escaped (``escape_formulas``, on unless a machine reads it)."""

    def __init__(self, out: _Writable, *, escape_formulas: bool = True) -> None:
        self._writer = csv.writer(out)
        self._escape = escape_formulas

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([escape_formula(value) for value in row] if self._escape else row)
