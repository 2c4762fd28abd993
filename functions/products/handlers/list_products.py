"""GET /api/products: one page of products in id order (active ones unless ?status= says otherwise)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from products import service
from products.models import Product, ProductListStatus
from sales_common.api import create_app, responses
from sales_common.listing import DEFAULT_LIMIT, Cursor, Limit, NamePrefix, Order, SortOrder, page_response
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("products")

Status = Annotated[
    ProductListStatus | None,
    Query(description="ACTIVE (default): products on sale; ARCHIVED: archived ones; ALL: both."),
]


@app.get(
    "/api/products",
    summary="List products",
    description=(
        "Products in id order (`order=desc`: newest first); with `q`, those whose name starts with `q` "
        "(case-insensitive), in name order. `q` combines with status ACTIVE or ARCHIVED."
    ),
    tags=["products"],
    responses=responses(200, 400, headers=("Link",)),
)
def list_products(
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    status: Status = None,
    q: NamePrefix = None,
    order: Order = SortOrder.ASC,
) -> Response[list[Product]]:
    page = service.list_products(limit, cursor, status, q, order)
    given = {"status": status.value if status else None, "q": q, "order": order.value if order.value != "asc" else None}
    return page_response(page, "/api/products", limit, {k: v for k, v in given.items() if v is not None})


handler = entrypoint(app, logger, metrics)
