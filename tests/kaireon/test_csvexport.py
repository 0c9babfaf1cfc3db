"""kaireon.csvexport: formula-like text gets a leading quote, numbers and plain text do not."""

from __future__ import annotations

import csv
import io

import pytest

from kaireon.csvexport import CsvWriter, escape_formula


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_text_starting_like_a_formula_is_quoted(value, written):
    assert escape_formula(value) == written


def test_numbers_stay_numbers_even_when_negative():
    buffer = io.StringIO()
    CsvWriter(buffer).writerow([-5, -0.25, "-5", None])
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == ["-5", "-0.25", "'-5", ""]


def test_escaping_can_be_turned_off_for_machine_consumers():
    buffer = io.StringIO()
    CsvWriter(buffer, escape_formulas=False).writerow(["=1+1"])
    assert buffer.getvalue() == "=1+1\r\n"
