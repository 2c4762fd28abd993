"""GET /api/reports/low-stock?threshold=N: the products low on stock, lowest first, as JSON or
(Accept: text/csv) CSV, one page at a time like every list."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from reports import export, service
from reports.models import LowStockItem
from sales_common.api import create_app, json_response, responses
from sales_common.listing import DEFAULT_LIMIT, Cursor, Limit, link_header
from sales_common.models import MAX_STOCK
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("reports")

CSV_HEADER = ("productId", "name", "stock", "lowStockThreshold")
DESCRIPTION = (
    "The products (not archived, not deleted) whose stock is at or below `threshold`, or without "
    "it at or below their own `lowStockThreshold`, lowest stock first (then by id), a page at a "
    "time (`limit`, `cursor`, `Link`). Built from the domain events; a placement still in flight "
    "counts as not taken. With `Accept: text/csv`, the page as a CSV file. Roles: admin, sales."
)


@app.get(
    service.LOW_STOCK_PATH,
    summary="Low-stock report",
    description=DESCRIPTION,
    tags=["reports"],
    responses=export.with_csv(
        responses(200, 400, headers=("Link",)), list[LowStockItem], "CSV: " + ",".join(CSV_HEADER)
    ),
)
def low_stock_report(
    threshold: Annotated[
        int | None,
        Query(ge=0, le=MAX_STOCK, description="Stock at or below which a product is listed (default: its own)."),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response[Any]:  # list[LowStockItem] (JSON) or CSV text: see `responses`
    page = service.low_stock(threshold, limit, cursor)
    query = {"threshold": str(threshold)} if threshold is not None else {}
    link = link_header(service.LOW_STOCK_PATH, limit, page.cursor, query)
    headers = {"Link": link} if link else {}
    if not export.wants_csv(app.current_event.headers.get("accept")):
        return json_response(200, [item.model_dump(mode="json", by_alias=True) for item in page.items], headers=headers)
    rows = [(i.product_id, i.name, i.stock, i.low_stock_threshold) for i in page.items]
    name = f"low-stock-{threshold}.csv" if threshold is not None else "low-stock.csv"
    return export.csv_response(export.render(CSV_HEADER, rows), name, headers)


handler = entrypoint(app, logger, metrics)
