"""GET /api/reports/sales?from=&to=&groupBy=day|product|customer: sales of a range of days, as
JSON or (Accept: text/csv) CSV."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from reports import export, service
from reports.models import GroupBy, SalesReport
from sales_common.api import create_app, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("reports")

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATE = {"format": "date"}
CSV_HEADER = ("key", "name", "orders", "cancelled", "units", "revenue")
DESCRIPTION = (
    "Orders placed on the days `from`..`to` (UTC, both included, at most 366 days; default: the "
    "last 30 days), one row per day, product or customer that has orders, with the orders, those "
    "of them cancelled since, and units and revenue net of the cancellations; `totals` are the "
    "range's. Built from the domain events: `asOf` says when the newest event applied occurred. "
    "With `Accept: text/csv`, a CSV file (a header row, the rows, then a `total` row). "
    "Roles: admin, sales."
)


@app.get(
    "/api/reports/sales",
    summary="Sales report",
    description=DESCRIPTION,
    tags=["reports"],
    responses=export.with_csv(responses(200, 400), SalesReport, "CSV: " + ",".join(CSV_HEADER)),
)
def sales_report(
    first: Annotated[
        str | None,
        Query(
            alias="from",
            pattern=DATE_PATTERN,
            description="First day, YYYY-MM-DD (UTC).",
            json_schema_extra=DATE,
        ),
    ] = None,
    last: Annotated[
        str | None,
        Query(
            alias="to",
            pattern=DATE_PATTERN,
            description="Last day, included, YYYY-MM-DD (UTC).",
            json_schema_extra=DATE,
        ),
    ] = None,
    group_by: Annotated[GroupBy, Query(alias="groupBy", description="One row per day, product or customer.")] = (
        GroupBy.DAY
    ),
) -> Response[Any]:  # SalesReport (JSON) or CSV text: documented in `responses`
    report = service.sales_report(first, last, group_by)
    if not export.wants_csv(app.current_event.headers.get("accept")):
        return json_response(200, report.model_dump(mode="json", by_alias=True))
    rows = [(r.key, r.name, r.orders, r.cancelled, r.units, r.revenue) for r in report.rows]
    t = report.totals
    text = export.render(CSV_HEADER, [*rows, ("total", None, t.orders, t.cancelled, t.units, t.revenue)])
    return export.csv_response(text, f"sales-by-{report.group_by.value}-{report.from_}-to-{report.to}.csv")


handler = entrypoint(app, logger, metrics)
