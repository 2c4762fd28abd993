"""GET /api/products/{id}/stock-adjustments: the product's stock history, newest first."""

from aws_lambda_powertools.event_handler import Response

from products import service
from products.models import StockAdjustment
from sales_common.api import IdPath, create_app, responses
from sales_common.listing import DEFAULT_LIMIT, Cursor, Limit, Order, SortOrder, page_response
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("products")


@app.get(
    "/api/products/<id>/stock-adjustments",
    summary="List a product's stock adjustments",
    description=(
        "Every stock adjustment of the product, newest first: `delta`, `reason`, `stockAfter` (the stock "
        "right after it), `at` and `by`. Paginated like the other lists; `order=asc` lists oldest first. "
        "Stock that orders take or give "
        "back is recorded on the orders, not here."
    ),
    tags=["products"],
    responses=responses(200, 400, 404, headers=("Link",)),
)
def list_stock_adjustments(
    id: IdPath, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None, order: Order = SortOrder.DESC
) -> Response[list[StockAdjustment]]:
    page = service.list_stock_adjustments(id, limit, cursor, order)
    query = {"order": "asc"} if order is SortOrder.ASC else None
    return page_response(page, f"/api/products/{id}/stock-adjustments", limit, query)


handler = entrypoint(app, logger, metrics)
