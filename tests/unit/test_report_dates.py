"""The sales report's date window at the ends of the calendar: a schema-valid `to` or `from` at
0001-01-01 or 9999-12-31 is answered, never a 500 (schemathesis found `?to=0001-01-01`)."""

from __future__ import annotations

from datetime import date

from reports.service import _months, date_range


def test_to_alone_at_the_first_day_starts_the_window_there():
    assert date_range(None, "0001-01-01") == (date(1, 1, 1), date(1, 1, 1))
    assert date_range(None, "0001-01-10") == (date(1, 1, 1), date(1, 1, 10))


def test_to_alone_keeps_its_thirty_days_elsewhere():
    assert date_range(None, "2026-03-01") == (date(2026, 1, 31), date(2026, 3, 1))


def test_the_last_month_of_the_calendar_is_listed_once():
    start, end = date_range("9999-12-01", "9999-12-31")
    assert _months(start, end) == ["9999-12"]
    assert _months(date(9999, 11, 15), date(9999, 12, 31)) == ["9999-11", "9999-12"]


def test_months_run_across_a_year_end():
    assert _months(date(2025, 11, 30), date(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01", "2026-02"]
