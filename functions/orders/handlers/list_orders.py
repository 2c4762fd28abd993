"""GET /api/orders?customerId=&status=&createdBy=: one page of orders in id order."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from orders import lifecycle
from orders.models import Order, OrderStatus
from sales_common.api import create_app, responses
from sales_common.listing import DEFAULT_LIMIT, Cursor, Limit, page_response
from sales_common.models import MAX_ID
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("orders")


@app.get("/api/orders", summary="List orders", tags=["orders"], responses=responses(200, 400, headers=("Link",)))
def list_orders(
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    customer_id: Annotated[int | None, Query(alias="customerId", ge=1, le=MAX_ID)] = None,
    status: Annotated[OrderStatus | None, Query()] = None,
    created_by: Annotated[
        str | None, Query(alias="createdBy", min_length=1, max_length=128, description="Username of who placed it.")
    ] = None,
) -> Response[list[Order]]:
    page = lifecycle.list_orders(limit, cursor, customer_id, status, created_by)
    filters = {
        k: str(v)
        for k, v in {"customerId": customer_id, "status": status, "createdBy": created_by}.items()
        if v is not None
    }
    return page_response(page, "/api/orders", limit, filters)


handler = entrypoint(app, logger, metrics)
