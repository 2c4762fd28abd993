"""The reports, read from the projection (`reports.store`): sales over a range of days grouped by
day, product or customer, and the products low on stock. Handlers call one function here."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import MAXYEAR, UTC, date, datetime
from typing import Any

from reports.models import GroupBy, LowStockItem, SalesFigures, SalesReport, SalesRow
from reports.projection import Counters, Dimension, totals
from reports.store import ReportStore
from sales_common.errors import BadRequest
from sales_common.listing import Page, encode_cursor, scope_of, signing_key, start_key
from sales_common.settings import load_settings

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_DAYS = 366
DEFAULT_DAYS = 30
LOW_STOCK_PATH = "/api/reports/low-stock"


def _store() -> ReportStore:
    return ReportStore(load_settings())


class InvalidParameter(BadRequest):
    """As powertools' validation of one parameter answers it (sales_common.api)."""

    title = "Invalid request parameters"


def _invalid(field: str, message: str) -> BadRequest:
    return InvalidParameter(
        "The path, query or header parameters are invalid.",
        errors=[{"field": field, "message": message, "type": "value_error"}],
    )


def _day(value: str, field: str) -> date:
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _invalid(field, f"{value!r} is not a date (YYYY-MM-DD)") from exc


def date_range(first: str | None, last: str | None, today: date | None = None) -> tuple[date, date]:
    """`from`..`to` as dates: by default the last 30 days up to today (UTC); `to` alone ends the
    30 days there, `from` alone runs to today. 400 naming the parameter when a date is not one,
    `from` is after `to`, or the range is longer than 366 days."""
    today = today or datetime.now(UTC).date()
    end = _day(last, "to") if last is not None else None
    start = _day(first, "from") if first is not None else None
    if end is None:
        end = max(today, start) if start is not None else today
    if start is None:
        start = date.fromordinal(max(1, end.toordinal() - (DEFAULT_DAYS - 1)))  # never before 0001-01-01
    if start > end:
        raise _invalid("from", f"from ({start}) is after to ({end})")
    if (end - start).days + 1 > MAX_DAYS:
        raise _invalid("to", f"the range {start}..{end} is {(end - start).days + 1} days; at most {MAX_DAYS}")
    return start, end


def _months(start: date, end: date) -> list[str]:
    months, cursor = [], start.replace(day=1)
    while cursor <= end:
        months.append(cursor.isoformat()[:7])
        if cursor.year == MAXYEAR and cursor.month == 12:
            break
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    return months


def _figures(counters: Counters) -> dict[str, Any]:
    return {
        "orders": counters.orders,
        "cancelled": counters.cancelled,
        "units": counters.units,
        "revenue": counters.revenue,
    }


def _sort_key(group_by: GroupBy, key: str, counters: Counters) -> tuple[Any, ...]:
    if group_by is GroupBy.DAY:
        return (key,)
    return (-counters.revenue, -counters.units, int(key))


def sales_report(first: str | None, last: str | None, group_by: GroupBy) -> SalesReport:
    """Orders placed on the days of the range, grouped; the rows of the groups that have any, in
    date order (days) or by revenue, then units, descending (products, customers). Totals are
    the range's orders, whatever the grouping."""
    start, end = date_range(first, last)
    store = _store()
    as_of = store.as_of()
    months = _months(start, end)
    lo, hi = start.isoformat(), end.isoformat()
    days = store.sales("day", months, lo, hi)
    rows = days if group_by is GroupBy.DAY else store.sales(_dimension(group_by), months, lo, hi)
    grouped: dict[str, Counters] = defaultdict(Counters)
    for row in rows:
        grouped[row.key.key] += row.counters
    live = {key: counters for key, counters in grouped.items() if counters.orders}
    names: dict[int, str | None] = {}
    if group_by is not GroupBy.DAY and live:
        names = store.names(group_by.value, (int(k) for k in live))
    ordered = sorted(live.items(), key=lambda kv: _sort_key(group_by, *kv))
    return SalesReport.model_validate(
        {
            "from": lo,
            "to": hi,
            "group_by": group_by,
            "as_of": as_of,
            "rows": [
                SalesRow(key=key, name=names.get(int(key)) if names else None, **_figures(counters))
                for key, counters in ordered
            ],
            "totals": SalesFigures(**_figures(totals(r.counters for r in days))),
        }
    )


def _dimension(group_by: GroupBy) -> Dimension:
    return "product" if group_by is GroupBy.PRODUCT else "customer"


def low_stock(threshold: int | None, limit: int, cursor: str | None) -> Page[LowStockItem]:
    """One page of the listed products at or below `threshold` (None: each at or below its own),
    lowest stock first (ties by id). Cursors as every list's (sales_common.listing), bound to
    the threshold."""
    scope = scope_of(LOW_STOCK_PATH, {"threshold": threshold})
    start = start_key(cursor, scope) if cursor else None
    products, last = _store().stock_page(threshold, limit, start)
    items = [
        LowStockItem(product_id=p.id, name=p.name, stock=p.stock, low_stock_threshold=p.threshold) for p in products
    ]
    return Page(items, encode_cursor(last, signing_key(), scope) if last else None)
