"""CSV for spreadsheets (functions/reports/export.py): content negotiation and RFC 4180 text."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from reports.export import render, wants_csv


@pytest.mark.parametrize(
    ("accept", "csv_wanted"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("text/csv", True),
        ("TEXT/CSV; charset=utf-8", True),
        ("text/*", True),
        ("application/json, text/csv", False),  # a tie answers JSON
        ("text/csv, application/json;q=0.9", True),
        ("text/csv;q=0.5, application/json", False),
        ("text/csv;q=0, */*", False),
        ("text/csv;q=0.1, text/*;q=1", True),  # the most specific range decides: 0.1 > 0 for JSON
        ("text/csv;q=0.4, */*;q=0.5", False),  # JSON gets */*'s 0.5
        ("text/csv;q=x", False),
        ("text/html", False),
    ],
)
def test_csv_only_when_the_client_prefers_it(accept, csv_wanted):
    assert wants_csv(accept) is csv_wanted


def test_rfc_4180_text_that_a_csv_reader_reads_back():
    rows = [
        ("1", 'Laptop "Pro", 15"', 3, Decimal("2999.97")),
        ("2", "two\nlines", 0, Decimal("0")),
        ("3", "=SUM(A1:A2)", 1, Decimal("5.5")),
        ("4", "-2+3", 1, Decimal("1")),
        ("5", None, 2, Decimal("10.00")),
    ]
    text = render(("key", "name", "units", "revenue"), rows)
    assert text.startswith("key,name,units,revenue\r\n") and text.endswith("\r\n")
    assert '1,"Laptop ""Pro"", 15""",3,2999.97\r\n' in text
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert back == [
        ["key", "name", "units", "revenue"],
        ["1", 'Laptop "Pro", 15"', "3", "2999.97"],
        ["2", "two\nlines", "0", "0.00"],
        ["3", "'=SUM(A1:A2)", "1", "5.50"],  # a spreadsheet shows it as text, never runs it
        ["4", "'-2+3", "1", "1.00"],
        ["5", "", "2", "10.00"],
    ]
