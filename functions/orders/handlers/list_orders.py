"""GET /api/orders?customerId=&status=&createdBy=&from=&to=&order=: one page of orders."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from orders import lifecycle
from orders.models import Order, OrderStatus
from sales_common.api import create_app, current_user, responses
from sales_common.listing import (
    DEFAULT_LIMIT,
    INSTANT_PATTERN,
    Cursor,
    Limit,
    SortOrder,
    page_response,
    utc_instant,
)
from sales_common.listing import Order as SortParam
from sales_common.models import MAX_ID
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("orders")

ME = "me"
INSTANT_HELP = "ISO 8601 date (that day's 00:00 UTC) or date-time (UTC unless it has an offset)"
DESCRIPTION = (
    "Orders in id order (`order=desc`: newest first). Filters: `customerId`, `createdBy` (a username, or `me`: "
    "the caller), `status`; at most one of them, or `customerId` with either or both of the others (`createdBy` "
    "with `status` alone is refused: 400). With `from`/`to` (ISO 8601 date or date-time, UTC unless it has an "
    "offset; `from` included, `to` excluded, a bare date is that day's 00:00 UTC), and with `status` alone, the "
    "orders are in the order they were placed (`createdAt`)."
)


@app.get(
    "/api/orders",
    summary="List orders",
    description=DESCRIPTION,
    tags=["orders"],
    responses=responses(200, 400, headers=("Link",)),
)
def list_orders(
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    customer_id: Annotated[int | None, Query(alias="customerId", ge=1, le=MAX_ID)] = None,
    status: Annotated[OrderStatus | None, Query()] = None,
    created_by: Annotated[
        str | None,
        Query(alias="createdBy", min_length=1, max_length=128, description="Username of who placed it, or `me`."),
    ] = None,
    first: Annotated[
        str | None, Query(alias="from", pattern=INSTANT_PATTERN, description=f"Placed at or after: {INSTANT_HELP}.")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", pattern=INSTANT_PATTERN, description=f"Placed before: {INSTANT_HELP}.")
    ] = None,
    order: SortParam = SortOrder.ASC,
) -> Response[list[Order]]:
    who = current_user(app) if created_by == ME else created_by
    since = utc_instant(first, "from") if first is not None else None
    before = utc_instant(end, "to") if end is not None else None
    page = lifecycle.list_orders(limit, cursor, customer_id, status, who, since, before, order)
    given = {
        "customerId": customer_id,
        "status": status,
        "createdBy": created_by,
        "from": first,
        "to": end,
        "order": None if order is SortOrder.ASC else order.value,
    }
    return page_response(page, "/api/orders", limit, {k: str(v) for k, v in given.items() if v is not None})


handler = entrypoint(app, logger, metrics)
